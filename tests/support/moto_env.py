"""moto with the caller's AWS environment set aside, and what every moto test shares.

The hub is moto's default account (the static test credentials belong to it); a member is an account of the
hub's organization, reached by AssumeRole. Nothing uses MOTO_ACCOUNT_ID: moto maps assumed-role credentials to
the account of the role, which is what makes the account boundaries real.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sandbox.aws.moto_s3 import returns_blocked_encryption_types

HUB_ACCOUNT = "123456789012"  # moto's default account: the static test credentials belong to it
HUB_REGION = "us-east-1"
MEMBER_REGION = "eu-west-1"
TABLE_NAME = "orgguard-audit"
TOPIC_NAME = "orgguard-alerts"
ADMIN_GROUP = "administrators"
ACCESS_ROLE = "OrganizationAccountAccessRole"  # the test's own way into a member, never the engine's
IMAGE_ID = "ami-0abcdef1234567890"  # moto launches unknown AMIs unless MOTO_ENABLE_AMI_VALIDATION is set


def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp: Path, region: str = HUB_REGION) -> None:
    """Fake credentials of moto's default account; nothing from the developer's environment leaks in."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "ORGGUARD_")) or name == "MOTO_ACCOUNT_ID":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))
    # moto creates ~1,300 images (with volumes and snapshots) per EC2 account and region otherwise; the
    # tests launch from a fixed image id and moto does not validate it.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


class _PathList(list[str]):
    """boto3 appends its data path to the loader of every new session: keep one copy."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


def new_loader() -> botocore.loaders.Loader:
    loader = botocore.loaders.create_loader()
    loader._search_paths = _PathList(loader.search_paths)
    return loader


@functools.cache
def shared_loader() -> botocore.loaders.Loader:
    """One loader per worker (the sandbox's tests keep theirs apart: ``share_model_loader(loader=new_loader())``)."""
    return new_loader()


def share_model_loader(monkeypatch: pytest.MonkeyPatch, loader: botocore.loaders.Loader | None = None) -> None:
    """Every boto3 session shares one botocore loader (``loader``, else the worker's), so service models (EC2's
    is large) are parsed once instead of once per session (the engine makes one per AssumeRole). What the code
    does is unchanged."""
    shared = loader or shared_loader()
    monkeypatch.setattr(botocore.session, "create_loader", lambda *args, **kwargs: shared)


@contextlib.contextmanager
def moto(monkeypatch: pytest.MonkeyPatch, tmp: Path, share_loader: bool = True) -> Iterator[None]:
    """moto on a clean environment and (``share_loader``) the worker's loader."""
    clean_environment(monkeypatch, tmp)
    if share_loader:
        share_model_loader(monkeypatch)
    returns_blocked_encryption_types()
    with mock_aws():
        yield


def assume(base: boto3.Session, account: str, role: str = ACCESS_ROLE, region: str = HUB_REGION,
           session_name: str = "orgguard-test") -> boto3.Session:
    """A session in ``account`` through ``role``, assumed from ``base``."""
    creds = base.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName=session_name)["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=region)


def client_error(code: str, operation: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)
