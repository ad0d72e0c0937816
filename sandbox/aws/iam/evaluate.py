"""One authorization question as AWS asks it: principal, action, resource, context and every policy that applies.

The policies come from the embedded AWS's state (``sandbox/aws/state.py``): the caller's identity policies and
permissions boundary, the resource's policy (a role's trust for ``sts:AssumeRole``, a bus, queue, topic, bucket
or key policy), and the SCPs on the caller's path in the organization. The answer comes from iam-simulate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.aws import state
from sandbox.aws.iam.principals import ROOT, SERVICE, SESSION, Principal
from sandbox.aws.iam.simulator import Decision, Simulator

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
SERVICE_LINKED_PREFIX = "AWSServiceRoleFor"


@dataclass(frozen=True)
class Question:
    principal: Principal
    action: str
    resource: str
    region: str
    caller_account: str  # the account a resource named without one belongs to


def resource_account(resource: str, fallback: str) -> str:
    if resource == "*":
        return fallback
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return fallback
    if parts[2] == "s3":
        return state.bucket_owner(parts[5].split("/", 1)[0]) or fallback
    return parts[4] or fallback


def resource_policy(action: str, resource: str) -> dict[str, Any] | None:
    """The resource-based policy AWS evaluates for this resource, if its kind has one."""
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return None
    service, region, account, rest = parts[2], parts[3], parts[4], parts[5]
    if service == "iam" and rest.startswith("role/") and action == "sts:AssumeRole":
        role = state.role(account, rest.rsplit("/", 1)[-1])
        return role.trust if role is not None else None
    if service == "events" and rest.startswith("event-bus/"):
        return state.bus_policy(account, region, rest.split("/", 1)[1])
    if service == "sqs":
        return state.queue_policy(account, region, rest)
    if service == "sns":
        return state.topic_policy(account, region, resource)
    if service == "s3":
        return state.bucket_policy(rest.split("/", 1)[0])
    if service == "organizations":
        organization = next((p for p in rest.split("/") if p.startswith("o-")), "")
        return state.delegation_policy(organization) if organization else None
    if service == "kms" and rest.startswith("key/"):
        return state.key_policy(account, region, rest.split("/", 1)[1])
    return None


def _identity(principal: Principal) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(identity policies, permissions boundaries) of the caller."""
    if principal.kind == ROOT:
        return [{"name": "root user", "policy": ALLOW_ALL}], []
    if principal.kind == SESSION:
        account, name = principal.role_arn.split(":")[4], principal.role_arn.rsplit("/", 1)[-1]
        role = state.role(account, name)
        if role is None:  # the role was deleted after the session began: nothing it held applies any more
            return [], []
        identity = [{"name": n, "policy": d} for n, d in role.identity_policies]
        boundary = [{"name": "boundary", "policy": role.boundary}] if role.boundary else []
        return identity, boundary
    return [], []


def _scps(principal: Principal) -> tuple[list[dict[str, Any]], state.OrgView | None]:
    if principal.kind == SERVICE:
        return [], None  # SCPs govern an organization's principals, not AWS services
    org = state.organization_of(principal.account)
    if org is None:
        return [], None
    applies = (org.scp_enabled and principal.account != org.management_account
               and not principal.role_arn.rsplit("/", 1)[-1].startswith(SERVICE_LINKED_PREFIX))
    if not applies:
        return [], org
    levels = [{"orgIdentifier": target, "policies": [{"name": n, "policy": d} for n, d in documents]}
              for target, documents in org.scps]
    return levels, org


def context(question: Question, org: state.OrgView | None, owner: str) -> dict[str, str | list[str]]:
    principal = question.principal
    keys: dict[str, str | list[str]] = {"aws:SecureTransport": "true", "aws:RequestedRegion": question.region}
    if principal.kind == SERVICE:
        keys["aws:PrincipalServiceName"] = principal.arn
        if principal.source_account:
            keys["aws:SourceAccount"] = principal.source_account
        if principal.source_arn:
            keys["aws:SourceArn"] = principal.source_arn
    else:
        keys["aws:PrincipalArn"] = principal.principal_arn
        keys["aws:PrincipalAccount"] = principal.account
        keys["aws:PrincipalType"] = "AssumedRole" if principal.kind == SESSION else "Account"
        if org is not None and principal.organization_context:
            keys["aws:PrincipalOrgID"] = org.organization_id
    keys["aws:ResourceAccount"] = owner
    resource_org = state.organization_of(owner)
    if resource_org is not None:
        keys["aws:ResourceOrgID"] = resource_org.organization_id
    return keys


def simulation(question: Question) -> dict[str, Any]:
    identity, boundaries = _identity(question.principal)
    scps, org = _scps(question.principal)
    owner = resource_account(question.resource, question.principal.account or question.caller_account)
    policy = resource_policy(question.action, question.resource)
    if question.action.startswith("organizations:") and org is not None:
        # Every Organizations resource is the management account's; a member reads it only through the
        # organization's delegation policy.
        owner, policy = org.management_account, state.delegation_policy(org.organization_id)
    simulated: dict[str, Any] = {
        "request": {
            "principal": question.principal.arn,
            "action": question.action,
            "resource": {"resource": question.resource, "accountId": owner},
            "contextVariables": context(question, org, owner),
        },
        "identityPolicies": identity,
        "serviceControlPolicies": scps,
        "resourceControlPolicies": [],
    }
    if boundaries:
        simulated["permissionBoundaryPolicies"] = boundaries
    if policy is not None:
        simulated["resourcePolicy"] = policy
    return simulated


def decide(simulator: Simulator, question: Question) -> Decision:
    if question.action == "sts:AssumeRole":
        parts = question.resource.split(":")
        if len(parts) < 6 or state.role(parts[4], question.resource.rsplit("/", 1)[-1]) is None:
            return Decision("ImplicitlyDenied", (("resource", "Implicit"),))  # AWS: no such role is a denial
    return simulator.decide(simulation(question))
