"""An organization in the embedded AWS whose members are accounts *we* name (the replayed event's account).

AWS Organizations (and moto) give a new account a random id; replay needs the event's own account id in
the organization. moto's server runs in this process, and moto itself assigns the management account's
id by overwriting the random one, so we pin the id moto's ``make_random_account_id`` returns while
``CreateAccount`` runs (its ``OrganizationAccountAccessRole`` is then created in the right account too).
If a moto release stops allowing that, the account is left out and a note says so.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import boto3
from botocore.exceptions import ClientError

from handlers.sessions import session_for_credentials

ACCESS_ROLE = "OrganizationAccountAccessRole"  # what CreateAccount puts in a new account


def session_with(access_key: str, secret_key: str, token: str | None, region: str) -> boto3.Session:
    """A boto3 session on explicit credentials that reuses one model loader (replay makes sessions for every
    event)."""
    return session_for_credentials(access_key, secret_key, token, region)


def role_session(base: boto3.Session, account: str, role_name: str, region: str,
                 session_name: str = "orgguard-replay") -> boto3.Session:
    """A session acting in ``account`` through ``role_name`` (moto does not require the role to exist)."""
    credentials = base.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role_name}", RoleSessionName=session_name)["Credentials"]
    return session_with(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                        credentials["SessionToken"], region)


def _create_with_id(organizations: Any, account: str, name: str) -> None:
    from moto.organizations import utils as moto_org_utils

    with mock.patch.object(moto_org_utils, "make_random_account_id", return_value=account):
        organizations.create_account(Email=f"orgguard-replay+{account}@example.com", AccountName=name)


def build_organization(management: Any, members: dict[str, str]) -> list[str]:
    """Create the organization from ``management`` and register ``members`` (id -> name) with their ids.

    Returns notes for accounts that could not be registered under their own id.
    """
    organizations = management.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    own = organizations.describe_organization()["Organization"]["MasterAccountId"]
    notes = []
    for account, name in members.items():
        if account == own:
            continue
        try:
            _create_with_id(organizations, account, name)
            organizations.describe_account(AccountId=account)
        except (ClientError, ImportError, AttributeError) as error:
            notes.append(f"account {account} could not be registered in the embedded organization ({error}); "
                         "the event still runs in that account")
    return notes


def forget_memberships() -> None:
    """Drop moto's process-wide member -> management map, which its reset leaves behind.

    moto keeps ``organizations_backends.master_accounts`` outside any backend, so after a reset an account
    registered as a member earlier can no longer create its own organization (AlreadyInOrganization).
    """
    from moto.organizations.models import organizations_backends

    organizations_backends.master_accounts.clear()


def account_name_lookup(management: Any) -> Any:
    organizations = management.client("organizations")

    def lookup(account: str) -> str:
        return str(organizations.describe_account(AccountId=account)["Account"].get("Name", ""))

    return lookup
