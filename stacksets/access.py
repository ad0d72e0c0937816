"""Sessions in other accounts: the operator's own, a member account's, the hub's.

The rollout runs in the management account (or a StackSets delegated administrator). It reaches a
member account through a role the management account may assume there (AWS Organizations creates
``OrganizationAccountAccessRole`` in every account it creates), and the hub through a role in the hub
account, unless the operator already is in that account.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from handlers.sessions import session_for_credentials, shared_core
from handlers.settings import Settings
from stacksets.errors import RolloutError

RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})
SESSION_NAME = "orgguard-rollout"


def member_access_role(settings: Settings) -> str:
    """The role the operator assumes in member accounts to check them."""
    return settings.rollout.member_access_role


def hub_access_role(settings: Settings) -> str:
    """The role the operator assumes in the hub account to read its table and queues."""
    return settings.rollout.hub_access_role


def canary_timeout(settings: Settings) -> float:
    return float(settings.rollout.canary_timeout_seconds)


@functools.cache
def partition_of(region: str) -> str:
    return boto3.session.Session(botocore_session=shared_core()).get_partition_for_region(region)


def role_arn(account: str, role_name: str, region: str) -> str:
    return f"arn:{partition_of(region)}:iam::{account}:role/{role_name}"


def client(session: boto3.Session, service: str, region: str | None = None) -> Any:
    return session.client(service, region_name=region or session.region_name, config=RETRIES)


def caller_account(session: boto3.Session) -> str:
    """The account the operator's credentials belong to (raises botocore's NoCredentialsError without any)."""
    return str(client(session, "sts").get_caller_identity()["Account"])


class AccessError(RolloutError):
    """A role in another account could not be assumed."""


def assume(session: boto3.Session, account: str, role_name: str, region: str) -> boto3.Session:
    """A session in ``account`` through ``role_name``, from the regional STS endpoint of ``region``."""
    arn = role_arn(account, role_name, region)
    try:
        credentials = client(session, "sts", region).assume_role(RoleArn=arn, RoleSessionName=SESSION_NAME)[
            "Credentials"
        ]
    except ClientError as error:
        raise AccessError(
            f"cannot assume {arn}: {error.response['Error'].get('Message', error)}. "
            "The operator's credentials "
            f"must be allowed to assume that role (set rollout.member_access_role / rollout.hub_access_role "
            f"to a role that trusts them)"
        ) from error
    return session_with_credentials(credentials, region)


def session_with_credentials(credentials: dict[str, Any], region: str) -> boto3.Session:
    """A session for STS credentials, sharing the service models already loaded by the others."""
    return session_for_credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                                   credentials["SessionToken"], region)


class AccountSessions:
    """One session per account, assumed once; the operator's own account uses the operator's session."""

    def __init__(self, session: boto3.Session, role_name: str, region: str) -> None:
        self.session = session
        self.role_name = role_name
        self.region = region
        self._own_account: str | None = None
        self._sessions: dict[str, boto3.Session] = {}

    @property
    def own_account(self) -> str:
        if self._own_account is None:
            self._own_account = caller_account(self.session)
        return self._own_account

    def get(self, account: str) -> boto3.Session:
        if account == self.own_account:
            return self.session
        if account not in self._sessions:
            self._sessions[account] = assume(self.session, account, self.role_name, self.region)
        return self._sessions[account]


def hub_session(session: boto3.Session, settings: Settings) -> boto3.Session:
    """A session in the hub account and region, for reading the audit table and the queues."""
    org = settings.organization
    return AccountSessions(session, hub_access_role(settings), org.hub_region).get(org.hub_account)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)
