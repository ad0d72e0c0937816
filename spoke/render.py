"""Render the two spoke CloudFormation templates from the policy registry and the validated settings.

Everything a spoke needs to know about policies (the forwarding pattern, the remediation permissions)
comes from ``handlers.registry``; every name it shares with the hub or the CLI comes from
``handlers.registry`` or ``handlers.contract``. Each template is one Jinja2 file rendered with
``StrictUndefined`` from a context holding exactly what it uses, so a missing value is an error, never an
empty string in the output. Why there are two, see the package docstring (``spoke/__init__.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import jinja2
from botocore.exceptions import UnknownRegionError

from handlers.contract import (
    CANARY_RULE_NAME,
    CANARY_SOURCE,
    FORWARD_DLQ_ALARM_NAME,
    FORWARD_DLQ_NAME,
    HUB_HANDLER_ROLE_NAME,
)
from handlers.registry import (
    FORWARD_RULE_NAME,
    FORWARDER_ROLE_NAME,
    REMEDIATION_ROLE_NAME,
    Permission,
    remediation_permissions,
    spoke_forward_pattern,
)
from handlers.settings import ACCOUNT_RE, NAME_RE, REGION_RE, Settings

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
GLOBAL_TEMPLATE_NAME = "spoke-global.yaml.j2"  # the roles, once per account (home region)
REGIONAL_TEMPLATE_NAME = "spoke-regional.yaml.j2"  # the rules, the DLQ and its alarm, in every region

PARTITION = "${AWS::Partition}"
# The hub bus ARN as the template builds it from its own parameters.
HUB_BUS_ARN_SUB = "arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/${HubBusName}"
# The role every hub Lambda runs as, in the hub account named by the template's parameter.
HUB_HANDLER_ROLE_ARN_SUB = "arn:${AWS::Partition}:iam::${HubAccountId}:role/" + HUB_HANDLER_ROLE_NAME
# The forwarder role by name: the global stack (home region) creates it, every region's rules name it.
FORWARDER_ROLE_ARN_SUB = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + FORWARDER_ROLE_NAME

# EventBridge gives up on a target after 24 hours or 185 attempts, whichever comes first (both maxima).
RETRY_MAX_EVENT_AGE_SECONDS = 86400
RETRY_MAX_ATTEMPTS = 185
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum
ROLE_MAX_SESSION_SECONDS = 3600
ALARM_PERIOD_SECONDS = 300  # SQS sends its queue metrics to CloudWatch every five minutes
TRUST_SID = "NamedRolesOfTheHubAccount"

_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:iam::(\d{12}):role/")
_ROLE_ARN = r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=.@/-]+"
# The OperatorRoleArns parameter: empty, or role ARNs separated by commas (so no comma inside an ARN).
OPERATOR_ROLES_PATTERN = f"^$|^{_ROLE_ARN}(,{_ROLE_ARN})*$"


class SpokeRenderError(ValueError):
    """The settings or the registry cannot produce a valid spoke; ``problems`` holds one message each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("cannot render the spoke template:\n" + "\n".join(f"  - {p}" for p in problems))


def partition_for_region(region: str) -> str:
    """The partition of a region (``aws``, ``aws-cn``, ``aws-us-gov``, ...), from botocore's data."""
    try:
        return boto3.session.Session().get_partition_for_region(region)
    except UnknownRegionError as error:
        problem = f"region {region!r}: botocore knows no partition for it ({error})"
        raise SpokeRenderError([problem]) from error


def hub_bus_arn_sub(settings: Settings) -> str:
    """The hub bus ARN for ``Fn::Sub`` with the settings' values and the partition left to CloudFormation."""
    org = settings.organization
    return f"arn:{PARTITION}:events:{org.hub_region}:{org.hub_account}:event-bus/{settings.hub.bus_name}"


def hub_bus_arn(settings: Settings) -> str:
    """The concrete hub bus ARN, in the partition of the hub region."""
    partition = partition_for_region(settings.organization.hub_region)
    return hub_bus_arn_sub(settings).replace(PARTITION, partition)


def spoke_parameters(settings: Settings) -> dict[str, str]:
    """The regional template's parameter values for these settings (also its defaults), e.g. for a StackSet."""
    org = settings.organization
    return {
        "HubAccountId": org.hub_account,
        "HubRegion": org.hub_region,
        "HubBusName": settings.hub.bus_name,
    }


def spoke_global_parameters(settings: Settings) -> dict[str, str]:
    """The global template's parameter values (also its defaults)."""
    return {
        **spoke_parameters(settings),
        "OperatorRoleArns": ",".join(settings.organization.operator_roles),
    }


def forwarder_role_arn(settings: Settings, account: str) -> str:
    """The forwarder role of ``account``, as every regional rule names it."""
    partition = partition_for_region(settings.organization.hub_region)
    return FORWARDER_ROLE_ARN_SUB.replace(PARTITION, partition).replace("${AWS::AccountId}", account)


def remediation_trust_policy(settings: Settings) -> dict[str, Any]:
    """The trust policy of ``OrgGuardRemediation`` as the global template deploys it, values filled in.

    ``orgguard status`` compares a member's live trust with this to find a trust edited by hand.
    """
    org = settings.organization
    partition = partition_for_region(org.hub_region)
    hub_role = HUB_HANDLER_ROLE_ARN_SUB.replace(PARTITION, partition).replace("${HubAccountId}", org.hub_account)
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": TRUST_SID,
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{org.hub_account}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": [hub_role, *org.operator_roles]}},
        }],
    }


def _statement_id(action: str) -> str:
    """``ec2:CreateTags`` -> ``Ec2CreateTags`` (IAM Sids are alphanumeric)."""
    service, name = action.split(":", 1)
    return re.sub(r"[^A-Za-z0-9]", "", service.capitalize() + name)


def check_permissions(permissions: list[Permission]) -> list[str]:
    """What keeps the registry's permissions from becoming a least-privilege policy, one message each."""
    problems = []
    for perm in permissions:
        where = f"registry action {perm.action!r}"
        if "*" in perm.action or ":" not in perm.action:
            problems.append(f"{where}: must be one IAM action, no wildcard")
        if not perm.resources:
            problems.append(f"{where}: declares no resources")
        for resource in perm.resources:
            if resource == "*":
                if perm.scopable:
                    problems.append(f"{where}: Resource '*' on an action with resource-level permissions")
            elif not resource.startswith(f"arn:{PARTITION}:"):
                problems.append(f"{where}: resource {resource!r} must start with arn:{PARTITION}:")
        if not perm.scopable and perm.resources != ("*",):
            problems.append(f"{where}: has no resource-level permissions, so its only resource must be '*'")
    return problems


def check_operator_roles(settings: Settings) -> list[str]:
    """OrgGuardRemediation trusts one principal, the hub account, narrowed by ``aws:PrincipalArn``."""
    hub = settings.organization.hub_account
    problems = []
    for index, arn in enumerate(settings.organization.operator_roles):
        match = _ARN_ACCOUNT.match(arn)
        if "," in arn:
            problems.append(
                f"organization.operator_roles[{index}] = {arn!r}: must not contain ',' "
                "(the spoke passes the roles as one comma-separated parameter)"
            )
        elif match is None or match.group(1) != hub:
            problems.append(
                f"organization.operator_roles[{index}] = {arn!r}: must be a role in the hub account {hub} "
                f"({REMEDIATION_ROLE_NAME} trusts only the hub account)"
            )
    return problems


def _yaml_comment(text: str) -> str:
    return " ".join(text.split())


def _common_context(settings: Settings) -> dict[str, Any]:
    return {
        "patterns": {"account": ACCOUNT_RE.pattern, "region": REGION_RE.pattern, "name": NAME_RE.pattern},
        "hub_bus_arn_sub": HUB_BUS_ARN_SUB,
        "forwarder_role_name": FORWARDER_ROLE_NAME,
        "global_stackset_name": settings.rollout.global_stackset_name,
        "regional_stackset_name": settings.rollout.stackset_name,
    }


def global_context(settings: Settings) -> dict[str, Any]:
    """Every value the global template uses; rendering fails if the template asks for anything else."""
    permissions = remediation_permissions()
    problems = check_permissions(permissions) + check_operator_roles(settings)
    if problems:
        raise SpokeRenderError(problems)
    statements = [
        {
            "sid": _statement_id(perm.action),
            "action": perm.action,
            "resources": list(perm.resources),
            "why": _yaml_comment(perm.why),
        }
        for perm in permissions
    ]
    common = _common_context(settings)
    return {
        **common,
        "patterns": {**common["patterns"], "operator_roles": OPERATOR_ROLES_PATTERN},
        "parameters": spoke_global_parameters(settings),
        "remediation_role_name": REMEDIATION_ROLE_NAME,
        "hub_handler_role_arn_sub": HUB_HANDLER_ROLE_ARN_SUB,
        "trust_sid": TRUST_SID,
        "remediation_statements": statements,
        "role_max_session_seconds": ROLE_MAX_SESSION_SECONDS,
    }


def regional_context(settings: Settings) -> dict[str, Any]:
    """Every value the regional template uses; rendering fails if the template asks for anything else."""
    return {
        **_common_context(settings),
        "parameters": spoke_parameters(settings),
        "forwarder_role_arn_sub": FORWARDER_ROLE_ARN_SUB,
        "forward_rule_name": FORWARD_RULE_NAME,
        "canary_rule_name": CANARY_RULE_NAME,
        "dlq_name": FORWARD_DLQ_NAME,
        "dlq_alarm_name": FORWARD_DLQ_ALARM_NAME,
        "forward_pattern": spoke_forward_pattern(REMEDIATION_ROLE_NAME),
        "canary_pattern": {"source": [CANARY_SOURCE]},
        "retry_max_event_age_seconds": RETRY_MAX_EVENT_AGE_SECONDS,
        "retry_max_attempts": RETRY_MAX_ATTEMPTS,
        "dlq_retention_seconds": DLQ_RETENTION_SECONDS,
        "alarm_period_seconds": ALARM_PERIOD_SECONDS,
    }


def _defined(value: Any) -> Any:
    """Filters receive undefined values before ``StrictUndefined`` can object: make them object here."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError, naming the missing value
        raise jinja2.UndefinedError("a filter was given an undefined value")
    return value


def _quote(value: Any) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML), so no value can change the structure."""
    return json.dumps(_defined(value))


def _json_block(value: Any, indent: int) -> str:
    """A JSON document as a YAML flow value, continuation lines indented under its key."""
    return json.dumps(_defined(value), indent=2).replace("\n", "\n" + " " * indent)


def environment(loader: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=loader or jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["q"] = _quote
    env.filters["json_block"] = _json_block
    return env


def render_spoke(settings: Settings) -> str:
    """The regional spoke template (CloudFormation YAML): rules, DLQ and alarm, for every governed region."""
    return environment().get_template(REGIONAL_TEMPLATE_NAME).render(regional_context(settings))


def render_spoke_global(settings: Settings) -> str:
    """The global spoke template (CloudFormation YAML): the two roles, for the home region only."""
    return environment().get_template(GLOBAL_TEMPLATE_NAME).render(global_context(settings))
