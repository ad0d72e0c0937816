"""What onboarding and status verify inside a member account, read through that account's own APIs.

Each function returns a ``Check``: a name, the region it concerns ("" for account-wide), whether it
passed, and in words what was found or what is missing and what to do.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from stacksets.access import error_code, error_message

PRINCIPAL_ARN_KEY = "aws:principalarn"
FIX_SPOKE = "run `orgguard onboard` again after `orgguard stackset --retry-failed`"


@dataclass(frozen=True)
class Check:
    name: str
    region: str
    ok: bool
    detail: str


def check_rule(events: Any, rule_name: str, hub_bus_arn: str, region: str, role_arn: str = "") -> Check:
    """The rule exists on the default bus, is enabled, and targets the hub bus through a role.

    With ``role_arn``, the rule must have exactly one target, the hub bus through that role: any other
    target, or another role, is a rule changed by hand.
    """
    name = f"rule {rule_name}"
    try:
        rule = events.describe_rule(Name=rule_name, EventBusName="default")
        targets = events.list_targets_by_rule(Rule=rule_name, EventBusName="default")["Targets"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return Check(name, region, False, f"rule {rule_name} not found on the default bus: {FIX_SPOKE}")
        return Check(name, region, False, f"cannot read rule {rule_name}: {error_message(error)}")
    if rule.get("State") != "ENABLED":
        return Check(
            name,
            region,
            False,
            f"rule {rule_name} is {rule.get('State')}: enable it "
            f"(`aws events enable-rule --name {rule_name}`) or redeploy the spoke",
        )
    to_hub = [t for t in targets if t.get("Arn") == hub_bus_arn]
    found = ", ".join(f"{t.get('Arn', '?')} as {t.get('RoleArn') or 'no role'}" for t in targets) or "no targets"
    if not to_hub:
        return Check(
            name,
            region,
            False,
            f"rule {rule_name} does not target the hub bus {hub_bus_arn} ({found}): {FIX_SPOKE}",
        )
    if not all(t.get("RoleArn") for t in to_hub):
        return Check(
            name,
            region,
            False,
            f"rule {rule_name} targets the hub bus without a RoleArn; the hub bus policy requires one: {FIX_SPOKE}",
        )
    if role_arn and (len(targets) != 1 or to_hub[0].get("RoleArn") != role_arn):
        return Check(
            name,
            region,
            False,
            f"rule {rule_name}'s targets were changed ({found}; the spoke's is {hub_bus_arn} as {role_arn}): "
            f"{FIX_SPOKE}",
        )
    return Check(name, region, True, f"enabled, targets {hub_bus_arn} as {to_hub[0]['RoleArn']}")


def _policy_document(document: Any) -> dict[str, Any]:
    """IAM returns trust policies URL-encoded; boto3 usually decodes them already."""
    if isinstance(document, str):
        return dict(json.loads(unquote(document)))
    return dict(document)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trust_admits(document: Any, principal_arn: str) -> bool:
    """An Allow for sts:AssumeRole whose ``aws:PrincipalArn`` condition matches ``principal_arn``."""
    for statement in _as_list(_policy_document(document).get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in _as_list(statement.get("Action", []))]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        for operator, conditions in statement.get("Condition", {}).items():
            for key, values in conditions.items():
                if key.lower() != PRINCIPAL_ARN_KEY:
                    continue
                like = "Like" in operator
                for value in _as_list(values):
                    if value == principal_arn or (like and fnmatch.fnmatchcase(principal_arn, value)):
                        return True
    return False


def _read_role(iam: Any, role_name: str, region: str) -> dict[str, Any] | Check:
    """The role, or the failed check that says why it could not be read."""
    name = f"role {role_name}"
    try:
        return dict(iam.get_role(RoleName=role_name)["Role"])
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return Check(
                name,
                region,
                False,
                f"role {role_name} not found (the global spoke stack in the home region creates it): {FIX_SPOKE}",
            )
        return Check(name, region, False, f"cannot read role {role_name}: {error_message(error)}")


def check_remediation_role(iam: Any, role_name: str, hub_role_arn: str, region: str) -> Check:
    role = _read_role(iam, role_name, region)
    if isinstance(role, Check):
        return role
    if not trust_admits(role.get("AssumeRolePolicyDocument", {}), hub_role_arn):
        return Check(
            f"role {role_name}",
            region,
            False,
            f"role {role_name} does not trust {hub_role_arn} through an "
            f"aws:PrincipalArn condition: redeploy the spoke (`orgguard stackset`)",
        )
    return Check(f"role {role_name}", region, True, f"exists, trusts {hub_role_arn}")


def check_role_exists(iam: Any, role_name: str, region: str) -> Check:
    role = _read_role(iam, role_name, region)
    return role if isinstance(role, Check) else Check(f"role {role_name}", region, True, "exists")


def _canonical_statements(document: Any) -> list[str]:
    """A trust policy's statements in a form that ignores what IAM may change when storing it: a single
    value for a one-element list, the order of lists and statements, the case of condition keys."""
    statements = []
    for statement in _as_list(_policy_document(document).get("Statement", [])):
        principal = statement.get("Principal", {})
        if isinstance(principal, dict):
            principal = {kind: sorted(map(str, _as_list(value))) for kind, value in principal.items()}
        conditions = {
            operator: {key.lower(): sorted(map(str, _as_list(value))) for key, value in block.items()}
            for operator, block in (statement.get("Condition") or {}).items()
        }
        canonical = {
            "Sid": statement.get("Sid", ""),
            "Effect": statement.get("Effect"),
            "Principal": principal,
            "NotPrincipal": statement.get("NotPrincipal"),
            "Action": sorted(map(str, _as_list(statement.get("Action", [])))),
            "NotAction": statement.get("NotAction"),
            "Condition": conditions,
        }
        statements.append(json.dumps(canonical, sort_keys=True))
    return sorted(statements)


def trust_matches(document: Any, expected: dict[str, Any]) -> bool:
    """Whether a deployed trust policy says exactly what the rendered one says."""
    return _canonical_statements(document) == _canonical_statements(expected)


def check_remediation_trust(iam: Any, role_name: str, expected: dict[str, Any], region: str) -> Check:
    """The role exists and its trust is the rendered one: nobody added a principal or loosened a condition."""
    role = _read_role(iam, role_name, region)
    if isinstance(role, Check):
        return role
    deployed = role.get("AssumeRolePolicyDocument", {})
    if not trust_matches(deployed, expected):
        return Check(
            f"role {role_name}",
            region,
            False,
            f"role {role_name}'s trust policy was edited: it is {json.dumps(_policy_document(deployed))}, the "
            f"spoke's is {json.dumps(expected)}: redeploy the spoke (`orgguard stackset --retry-failed`, or "
            "update the StackSet) and find out who changed it (CloudTrail UpdateAssumeRolePolicy)",
        )
    return Check(f"role {role_name}", region, True, "exists, trust as deployed")
