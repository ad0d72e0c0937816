"""Who acts in the sandbox's accounts: sessions obtained with AssumeRole, exactly as on AWS.

The embedded AWS decides the account of a request from its credentials, so every account is reached
through ``sts:AssumeRole`` on a role in that account (never ``MOTO_ACCOUNT_ID``). An ``Identity`` also
knows what CloudTrail says about it (``userIdentity``), for the CloudTrail emulator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import boto3

ACCESS_ROLE = "OrganizationAccountAccessRole"  # created by AWS Organizations in every account it creates


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Identity:
    """An assumed-role session in one account, with the facts CloudTrail records about it."""

    account: str
    region: str
    arn: str  # arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
    principal_id: str  # AROA...:SESSION
    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    created: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def session_name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def session(self, region: str | None = None) -> boto3.Session:
        return boto3.Session(aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key,
                             aws_session_token=self.session_token, region_name=region or self.region)

    def environment(self) -> dict[str, str]:
        """The credentials as the environment variables a Lambda runtime sets for its execution role."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_SESSION_TOKEN": self.session_token}

    def user_identity(self) -> dict[str, Any]:
        """The ``userIdentity`` block of a CloudTrail record for a call made with this session."""
        return {
            "type": "AssumedRole",
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.account,
            "accessKeyId": self.access_key_id,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": self.principal_id.split(":", 1)[0],
                    "arn": self.role_arn,
                    "accountId": self.account,
                    "userName": self.role_name,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": self.created, "mfaAuthenticated": "false"},
            },
        }


def role_arn(account: str, role_name: str) -> str:
    return f"arn:aws:iam::{account}:role/{role_name}"


def assume_role(base: boto3.Session, account: str, role_name: str, session_name: str, region: str) -> Identity:
    """``sts:AssumeRole`` from ``base`` into ``role_name`` of ``account``."""
    arn = role_arn(account, role_name)
    response = base.client("sts", region_name=region).assume_role(RoleArn=arn, RoleSessionName=session_name)
    credentials = response["Credentials"]
    user = response["AssumedRoleUser"]
    return Identity(
        account=account,
        region=region,
        arn=user["Arn"],
        principal_id=user["AssumedRoleId"],
        role_arn=arn,
        access_key_id=credentials["AccessKeyId"],
        secret_access_key=credentials["SecretAccessKey"],
        session_token=credentials["SessionToken"],
        created=_iso(dt.datetime.now(dt.UTC)),
    )


def account_admin(base: boto3.Session, account: str, region: str, session_name: str = "platform-admin") -> Identity:
    """The organization's administrator inside a member account (through OrganizationAccountAccessRole)."""
    return assume_role(base, account, ACCESS_ROLE, session_name, region)
