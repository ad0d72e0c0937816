"""The two parts of the spoke as the rollout deploys them: which template, which parameters, where.

``global`` holds the account-global IAM roles and goes to the home region only; ``regional`` holds the
rules, the dead-letter queue and its alarm and goes to every governed region. The global part is always
deployed first (see ``spoke/__init__.py``); a deployment made before the split, whose single template
still holds the roles, is recognised by ``holds_roles`` and migrated (``stacksets.migration``).
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.settings import Settings
from spoke.lint import TemplateParseError, parse_template
from spoke.render import render_spoke, render_spoke_global, spoke_global_parameters, spoke_parameters
from stacksets.errors import RolloutError

GLOBAL = "global"
REGIONAL = "regional"


@dataclass(frozen=True)
class SpokePart:
    kind: str  # GLOBAL | REGIONAL
    stackset: str  # the service-managed StackSet
    stack: str  # the plain stack in the management account
    template: str
    parameters: dict[str, str]
    regions: tuple[str, ...]  # where its instances go, in rollout order
    description: str

    @property
    def is_global(self) -> bool:
        return self.kind == GLOBAL


def spoke_parts(settings: Settings) -> tuple[SpokePart, SpokePart]:
    """(global, regional), in the order they are deployed."""
    org, rollout = settings.organization, settings.rollout
    home = org.spoke_home_region
    regional_order = (home, *(r for r in org.regions if r != home))
    return (
        SpokePart(
            GLOBAL,
            rollout.global_stackset_name,
            rollout.management_global_stack_name,
            render_spoke_global(settings),
            spoke_global_parameters(settings),
            (home,),
            "OrgGuard spoke, account-global part: the roles OrgGuardForwarder and OrgGuardRemediation "
            "(home region only).",
        ),
        SpokePart(
            REGIONAL,
            rollout.stackset_name,
            rollout.management_stack_name,
            render_spoke(settings),
            spoke_parameters(settings),
            regional_order,
            "OrgGuard spoke, regional part: forwards governed API calls to the OrgGuard hub; dead-letter "
            "queue and its alarm (every governed region).",
        ),
    )


def holds_roles(template_body: str, where: str) -> bool:
    """Whether a deployed spoke template creates IAM roles: the single template from before the split.

    ``where`` names the StackSet or stack in the error raised when the body is not a template at all.
    """
    try:
        template = parse_template(template_body)
    except TemplateParseError as error:
        raise RolloutError(f"{where} holds a template OrgGuard cannot read ({error}): look at it in the "
                           "CloudFormation console before running this again") from error
    resources = template.get("Resources") or {}
    return any(isinstance(r, dict) and r.get("Type") == "AWS::IAM::Role" for r in resources.values())
