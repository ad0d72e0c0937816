"""End-to-end fixtures: one run of ``orgguard demo --json`` per session, and the end state it left.

The demo stops its embedded AWS when it returns, so the fixture wraps the demo's ``embedded_aws`` to read
the organization's state independently (through the same roles an administrator would use) just before
the server stops. Everything read is plain data, so the tests assert after the server is gone.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import deploy
from handlers.settings import Hub
from sandbox.aws.server import EmbeddedAws
from sandbox.aws.strictness import Strictness
from sandbox.demo import demo as demo_module

ACCESS_ROLE = "OrganizationAccountAccessRole"


@dataclass
class EndState:
    hub_account: str = ""
    hub_region: str = ""
    members: dict[str, str] = field(default_factory=dict)  # account id -> name (accounts in Workloads)
    rules: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)  # (acct, region) -> targets
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> account, encryption, tags
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> account, region, tags, groups,
    # and the group names per interface (device index)
    audit: list[dict[str, Any]] = field(default_factory=list)  # the hub table's items, plain
    queues: dict[str, int] = field(default_factory=dict)  # hub queue name -> messages waiting


@dataclass
class DemoRun:
    exit_code: int
    document: dict[str, Any]
    stderr: str
    out_dir: Path
    state: EndState


def _session_in(management: boto3.Session, account: str, region: str) -> boto3.Session:
    credentials = management.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}", RoleSessionName="e2e-inspector")["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=region)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: next(iter(v.values())) for k, v in item.items()}


def _encryption(s3: Any, bucket: str) -> dict[str, Any]:
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError":
            return {}
        raise
    default = rules[0]["ApplyServerSideEncryptionByDefault"]
    return {"algorithm": default["SSEAlgorithm"], "bucket_key": bool(rules[0].get("BucketKeyEnabled"))}


def _tags(s3: Any, bucket: str) -> dict[str, str]:
    try:
        return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchTagSet":
            return {}
        raise


def inspect_end_state(aws: EmbeddedAws, regions: tuple[str, ...] = ("us-east-1", "eu-west-1")) -> EndState:
    """The organization as an administrator finds it, read without any sandbox code."""
    management = aws.session()
    org = management.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    units = {u["Name"]: u["Id"] for u in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]}
    state = EndState(hub_region=aws.region)
    state.members = {a["Id"]: a["Name"] for a in org.list_accounts_for_parent(ParentId=units["Workloads"])["Accounts"]}
    state.hub_account = org.list_accounts_for_parent(ParentId=units["Security"])["Accounts"][0]["Id"]
    for account in state.members:
        for region in regions:
            session = _session_in(management, account, region)
            events = session.client("events")
            state.rules[(account, region)] = {
                rule["Name"]: [t["Arn"] for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]]
                for rule in events.list_rules()["Rules"]}
            for reservation in session.client("ec2").describe_instances()["Reservations"]:
                for instance in reservation["Instances"]:
                    interfaces = {i["Attachment"]["DeviceIndex"]: sorted(g["GroupName"] for g in i["Groups"])
                                  for i in instance.get("NetworkInterfaces", [])}
                    state.instances[instance["InstanceId"]] = {
                        "account": account, "region": region,
                        "tags": {t["Key"]: t["Value"] for t in instance.get("Tags", [])},
                        # Groups belong to interfaces: the instance's are its primary interface's (device 0).
                        "groups": interfaces.get(0, []), "interfaces": interfaces}
        s3 = _session_in(management, account, aws.region).client("s3")
        for bucket in s3.list_buckets()["Buckets"]:
            name = bucket["Name"]
            state.buckets[name] = {"account": account, "encryption": _encryption(s3, name), "tags": _tags(s3, name)}
    hub = _session_in(management, state.hub_account, aws.region)
    for page in hub.client("dynamodb").get_paginator("scan").paginate(TableName=Hub().table_name):
        state.audit += [_plain(item) for item in page["Items"]]
    sqs = hub.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        state.queues[url.rsplit("/", 1)[-1]] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return state


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    out_dir = tmp_path_factory.mktemp("demo-out")
    state = EndState()
    original = demo_module.embedded_aws

    @contextlib.contextmanager
    def inspected(region: str = "us-east-1", strictness: Strictness | None = None) -> Iterator[EmbeddedAws]:
        with original(region, strictness) as aws:
            yield aws
            nonlocal state
            state = inspect_end_state(aws)

    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        patch.setattr(demo_module, "embedded_aws", inspected)
        code = deploy.main(["demo", "--json", "--out", str(out_dir)])
    document = json.loads(stdout.getvalue()) if stdout.getvalue().strip() else {}
    yield DemoRun(code, document, stderr.getvalue(), out_dir, state)
