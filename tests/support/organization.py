"""A real multi-account organization on moto, reached through STS.

``build_organization`` creates an organization with nested OUs and member accounts (inside ``mock_aws``) and
returns their ids; ``session_in`` gives a session in any account by assuming a role there, the way the code
under test does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session

from handlers.settings import Settings, validate

from .moto_env import ACCESS_ROLE, shared_loader

HOME_REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
REGIONS = (HOME_REGION, OTHER_REGION)
STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
# OU path -> account names ("" is the root). Workloads holds a nested OU; Security holds the hub.
STANDARD_LAYOUT: dict[str, list[str]] = {
    "Security": ["hub"],
    "Workloads": ["app-1"],
    "Workloads/Prod": ["app-2", "app-3"],
    "Sandbox": ["sandbox-1"],
}


@dataclass
class FakeOrganization:
    management: str
    root: str
    ous: dict[str, str] = field(default_factory=dict)  # path -> OU id
    accounts: dict[str, str] = field(default_factory=dict)  # name -> account id
    parents: dict[str, str] = field(default_factory=dict)  # account id -> parent id

    def account(self, name: str) -> str:
        return self.accounts[name]

    def ou(self, path: str) -> str:
        return self.root if path == "" else self.ous[path]

    def accounts_in(self, *paths: str) -> list[str]:
        """Accounts in the OUs at ``paths`` and in the OUs nested below them."""
        inside = {
            unit
            for path, unit in self.ous.items()
            if any(path == p or path.startswith(p + "/") for p in paths)
        }
        return sorted(a for a, parent in self.parents.items() if parent in inside)


def session_in(
    account: str, region: str = HOME_REGION, role: str = ACCESS_ROLE, source: boto3.Session | None = None
) -> boto3.Session:
    """A session in ``account`` through ``role``, assumed from ``source`` (default: the caller's)."""
    source = source or shared_session(region)
    credentials = source.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="functional-test"
    )["Credentials"]
    return shared_session(region, credentials)


def shared_session(region: str = HOME_REGION, credentials: dict[str, Any] | None = None) -> boto3.Session:
    """A session (the environment's credentials, or ``credentials``) on the shared model loader."""
    core = botocore.session.Session()
    core.register_component("data_loader", shared_loader())
    if credentials:
        core.set_credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    return boto3.Session(botocore_session=core, region_name=region)


def build_organization(
    layout: Mapping[str, Sequence[str]] = STANDARD_LAYOUT,
    *,
    trusted_access: bool = True,
    region: str = HOME_REGION,
) -> FakeOrganization:
    """Create the organization (caller = management account), its OUs (parents before children, from the
    paths) and accounts. Call inside ``mock_aws``."""
    org_client = boto3.client("organizations", region_name=region)
    org_client.create_organization(FeatureSet="ALL")
    described = org_client.describe_organization()["Organization"]
    org = FakeOrganization(
        management=described["MasterAccountId"], root=org_client.list_roots()["Roots"][0]["Id"]
    )
    org.parents[org.management] = org.root
    for path in sorted(p for p in layout if p):
        parent_path, _, name = path.rpartition("/")
        unit = org_client.create_organizational_unit(ParentId=org.ou(parent_path), Name=name)
        org.ous[path] = unit["OrganizationalUnit"]["Id"]
    for path, names in layout.items():
        for name in names:
            add_account(org, name, path)
    if trusted_access:
        org_client.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    return org


def add_account(org: FakeOrganization, name: str, path: str = "") -> str:
    """Create a member account (it starts under the root) and move it to the OU at ``path``."""
    org_client = boto3.client("organizations", region_name=HOME_REGION)
    status = org_client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    account = status["AccountId"]
    org.accounts[name] = account
    org.parents[account] = org.root
    if path:
        move_account(org, account, path)
    return account


def move_account(org: FakeOrganization, account: str, path: str) -> None:
    boto3.client("organizations", region_name=HOME_REGION).move_account(
        AccountId=account, SourceParentId=org.parents[account], DestinationParentId=org.ou(path)
    )
    org.parents[account] = org.ou(path)


def settings_for(
    org: FakeOrganization, target_paths: Sequence[str] = ("Workloads",), **sections: Any
) -> Settings:
    """Validated settings for this organization; ``sections`` override tables (``hub={"bus_name": "x"}``)."""
    raw: dict[str, Any] = {
        "organization": {
            "management_account": org.management,
            "hub_account": org.accounts["hub"],
            "hub_region": HOME_REGION,
            "regions": list(REGIONS),
            "target_ous": [org.ou(p) for p in target_paths],
            "include_management_account": False,
            "account_names": {account: name for name, account in org.accounts.items()},
        },
        "notifications": {"emails": ["cloud-admins@example.com"]},
    }
    for key, value in sections.items():
        merged = copy.deepcopy(raw.get(key, {}))
        merged.update(value)
        raw[key] = merged
    return validate(raw, "functional test settings")
