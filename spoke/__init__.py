"""The member-account (spoke) CloudFormation templates, rendered from the policy registry and the settings.

Two templates, two service-managed StackSets
--------------------------------------------
IAM roles are account-global; EventBridge rules, queues and alarms are regional. The spoke is therefore
split in two:

- ``spoke-global`` (StackSet ``rollout.global_stackset_name``): ``OrgGuardForwarder`` and
  ``OrgGuardRemediation``, deployed in one region per account, ``organization.spoke_home_region``;
- ``spoke-regional`` (StackSet ``rollout.stackset_name``): the forward and canary rules, the dead-letter
  queue, its policy and its alarm, in every governed region. The rules name the forwarder role by ARN.

Both StackSets deploy automatically to accounts that join a target OU. Such automatic deployments take no
operation preferences: StackSets runs them one region at a time, in an order nobody can set, with no
failure tolerance. With one StackSet holding the roles in the home region only, a non-home region could
go first and its rules would name a role that does not exist yet. The regional StackSet's
``AutoDeployment.DependsOn`` names the global StackSet's ARN, so StackSets runs a new account's global
instance to success before its regional ones. The CLI's own operations follow the same order (global,
then regional; home region first within the regional one).

Why one remediation role per account rather than a role per region (which would let one regional template
carry everything): the hub assumes one name, ``OrgGuardRemediation``, in every account, and a member
account has one identity to trust, to audit in CloudTrail and to protect with the service control policy
(``spoke/scp.py``). Per-region roles would multiply the roles, the trust edits (``operator_roles``) and
the SCP's resources by the number of regions, and change the role name the hub assumes (a region suffix
the handlers, the hub's ``sts:AssumeRole`` statement and every member's trust would have to agree on).
The price of the split is a second StackSet, and the migration from the single one (``stacksets.migration``).
"""

from spoke.lint import TemplateParseError, lint_template, parse_template
from spoke.render import (
    HUB_BUS_ARN_SUB,
    SpokeRenderError,
    forwarder_role_arn,
    hub_bus_arn,
    hub_bus_arn_sub,
    remediation_trust_policy,
    render_spoke,
    render_spoke_global,
    spoke_global_parameters,
    spoke_parameters,
)

__all__ = [
    "HUB_BUS_ARN_SUB",
    "SpokeRenderError",
    "TemplateParseError",
    "forwarder_role_arn",
    "hub_bus_arn",
    "hub_bus_arn_sub",
    "lint_template",
    "parse_template",
    "remediation_trust_policy",
    "render_spoke",
    "render_spoke_global",
    "spoke_global_parameters",
    "spoke_parameters",
]
