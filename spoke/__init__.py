"""The member-account (spoke) CloudFormation template, rendered from the policy registry and the settings."""

from spoke.lint import TemplateParseError, lint_template, parse_template
from spoke.render import (
    HUB_BUS_ARN_SUB,
    SpokeRenderError,
    hub_bus_arn,
    hub_bus_arn_sub,
    render_spoke,
    spoke_parameters,
)

__all__ = [
    "HUB_BUS_ARN_SUB",
    "SpokeRenderError",
    "TemplateParseError",
    "hub_bus_arn",
    "hub_bus_arn_sub",
    "lint_template",
    "parse_template",
    "render_spoke",
    "spoke_parameters",
]
