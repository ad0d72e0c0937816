"""The sandbox's AWS Organization: management account, a Security OU (hub) and a Workloads OU (members).

Built with the same Organizations calls an administrator makes (create the organization, the OUs and the
accounts, move them, enable trusted access for CloudFormation StackSets), so the rollout code finds a
real tree to walk. ``sandbox_settings`` turns the ids into validated OrgGuard settings.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import boto3

from handlers.settings import Settings, validate
from sandbox.world.identities import ACCESS_ROLE

STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
HUB_REGION = "us-east-1"
GOVERNED_REGIONS = ("us-east-1", "eu-west-1")
ADMIN_EMAIL = "cloud-admins@example.com"
EMAIL_DOMAIN = "example.com"


class OrganizationError(RuntimeError):
    """An account could not be created or moved."""


@dataclass
class SandboxOrganization:
    organization_id: str
    root_id: str
    management_account: str
    security_ou: str
    workloads_ou: str
    hub_account: str
    members: list[str] = field(default_factory=list)  # accounts in Workloads, in creation order
    names: dict[str, str] = field(default_factory=dict)  # account id -> name


def create_account(org: Any, name: str, timeout_seconds: float = 60.0) -> str:
    """CreateAccount is asynchronous on AWS: poll its status until the account exists."""
    status = org.create_account(AccountName=name, Email=f"aws+{name}@{EMAIL_DOMAIN}")["CreateAccountStatus"]
    deadline = time.monotonic() + timeout_seconds
    while status["State"] == "IN_PROGRESS":
        if time.monotonic() > deadline:
            raise OrganizationError(f"account {name} was still being created after {timeout_seconds:.0f}s")
        time.sleep(0.5)
        status = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    if status["State"] != "SUCCEEDED":
        raise OrganizationError(f"account {name} could not be created: {status.get('FailureReason', status)}")
    return str(status["AccountId"])


def move_account(org: Any, account: str, destination: str) -> None:
    parent = org.list_parents(ChildId=account)["Parents"][0]["Id"]
    if parent != destination:
        org.move_account(AccountId=account, SourceParentId=parent, DestinationParentId=destination)


def create_organization(session: boto3.Session, member_names: tuple[str, ...] = ("workload-alpha", "workload-beta"),
                        hub_name: str = "security-hub") -> SandboxOrganization:
    """The organization of the story, created from the management account's ``session``."""
    org = session.client("organizations")
    description = org.create_organization(FeatureSet="ALL")["Organization"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    security = org.create_organizational_unit(ParentId=root_id, Name="Security")["OrganizationalUnit"]["Id"]
    workloads = org.create_organizational_unit(ParentId=root_id, Name="Workloads")["OrganizationalUnit"]["Id"]
    org.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)

    hub = create_account(org, hub_name)
    move_account(org, hub, security)
    delegate_reads(org, hub)
    result = SandboxOrganization(
        organization_id=description["Id"], root_id=root_id,
        management_account=description["MasterAccountId"], security_ou=security, workloads_ou=workloads,
        hub_account=hub, names={description["MasterAccountId"]: "management", hub: hub_name},
    )
    for name in member_names:
        add_workload_account(session, result, name)
    return result


def delegate_reads(org: Any, account: str) -> None:
    """Let ``account`` read the organization (accounts, OUs), as the README asks of a real organization for the
    hub: Organizations' delegation policy, written from the management account."""
    org.put_resource_policy(Content=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "OrgGuardHubReadsTheOrganization", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": ["organizations:Describe*", "organizations:List*"], "Resource": "*"}]}))


def add_workload_account(session: boto3.Session, organization: SandboxOrganization, name: str) -> str:
    """A new account, moved into Workloads (how a team gets an account); returns its id."""
    org = session.client("organizations")
    account = create_account(org, name)
    move_account(org, account, organization.workloads_ou)
    organization.members.append(account)
    organization.names[account] = name
    return account


def sandbox_settings(organization: SandboxOrganization, overrides: dict[str, Any] | None = None) -> Settings:
    """Validated settings for this organization, as a user would write them in ``orgguard.toml``."""
    raw: dict[str, Any] = {
        "organization": {
            "management_account": organization.management_account,
            "hub_account": organization.hub_account,
            "hub_region": HUB_REGION,
            "regions": list(GOVERNED_REGIONS),
            "target_ous": [organization.workloads_ou],
            "organization_id": organization.organization_id,
            "include_management_account": False,
            "account_names": dict(organization.names),
            # The organization's administrators run sweep and redrive from the hub account's access role; with
            # IAM enforced, OrgGuardRemediation lets them in only because it is listed here.
            "operator_roles": [f"arn:aws:iam::{organization.hub_account}:role/{ACCESS_ROLE}"],
        },
        "notifications": {"emails": [ADMIN_EMAIL]},
    }
    for key, value in (overrides or {}).items():
        raw[key] = {**raw.get(key, {}), **value}
    return validate(raw, "sandbox settings")
