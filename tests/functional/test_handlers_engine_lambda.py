"""The Lambda adapter and the engine's footprint, on moto: the handler runs from its environment alone and
refuses invalid settings, no module creates a client at import, every call in a member is allowed by the
remediation role, and one processed event logs one JSON line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from handlers import engine
from handlers.audit import event_key
from handlers.contract import ENV_AUDIT_TABLE, ENV_POLICY, ENV_SETTINGS, ENV_TOPIC_ARN
from handlers.registry import POLICIES
from handlers.settings import SettingsError
from tests.support.engine_events import BUCKET_SAMPLE, ec2_event
from tests.support.events import bucket_event, run_instances_event, vpc_event
from tests.support.handlers import MEMBER_NAME, Hub, engine_client, run, runtime, settings_for
from tests.support.members import Member, bucket_encryption, launch, make_bucket, make_network
from tests.support.moto_env import TABLE_NAME

REPO = Path(__file__).resolve().parents[2]


def test_lambda_handler_runs_from_its_environment_alone(hub: Hub, member: Member,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the hub stack sets is all the Lambda gets: settings as JSON, the table and topic by env var."""
    table = "orgguard-audit-from-env"
    hub.dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    settings = settings_for(member, {"s3-encryption": {"algorithm": "AES256"}})
    monkeypatch.setenv(ENV_SETTINGS, settings.to_json())
    monkeypatch.setenv(ENV_AUDIT_TABLE, table)
    monkeypatch.setenv(ENV_TOPIC_ARN, hub.topic_arn)
    engine.RUNTIME.reset()
    bucket = make_bucket(member, "from-env-1")
    event = bucket_event("wrapped/custodian__CreateBucket__2.json", member, bucket)
    monkeypatch.setenv(ENV_POLICY, "s3-encryption")
    from handlers.adapters import guardrail

    result = guardrail.handler(event, None)

    assert result["outcome"] == "remediated" and result["policy"] == "s3-encryption"
    assert result["account"] == member.account and result["notified"] is True
    assert bucket_encryption(member, bucket) == [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False,
         "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]
    key = {"pk": {"S": event_key(event["detail"]["eventID"])}}
    assert hub.dynamodb.get_item(TableName=table, Key=key)["Item"]["outcome"]["S"] == "remediated"
    assert "Item" not in hub.dynamodb.get_item(TableName=TABLE_NAME, Key=key)
    [mail] = hub.mail()
    assert MEMBER_NAME in mail.body  # the account name came from AWS Organizations
    assert mail.attributes["policy"] == "s3-encryption"


def test_lambda_handler_refuses_invalid_settings(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SETTINGS, json.dumps({"organization": {"hub_region": "mars-1"}}))
    engine.RUNTIME.reset()
    monkeypatch.setenv(ENV_POLICY, "vpc-created")
    from handlers.adapters import guardrail

    with pytest.raises(SettingsError) as raised:
        guardrail.handler({}, None)
    assert any(p.startswith("organization.hub_region") for p in raised.value.problems)


IMPORT_PROBE = """
import importlib, sys
import boto3, botocore.session

def refuse(*args, **kwargs):
    raise AssertionError("an AWS client was created at import time")

botocore.session.Session.create_client = refuse
boto3.Session.client = refuse
boto3.Session.resource = refuse
for module in sys.argv[1:]:
    importlib.import_module(module)
try:
    boto3.client("sts")
except AssertionError:
    print("imported without creating a client")
"""


def test_handler_modules_create_no_client_at_import(tmp_path: Path) -> None:
    modules = [p.module for p in POLICIES] + ["handlers.adapters.canary", "handlers.engine", "handlers.pipeline.decide",
                                              "handlers.adapters.guardrail", "handlers.adapters.reconcile"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ORGGUARD_"))}
    env.update({ENV_SETTINGS: "{}", ENV_AUDIT_TABLE: "t", ENV_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:t",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "PYTHONPATH": str(REPO)})
    done = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *modules], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported without creating a client"


# IAM actions whose name differs from the API operation (s3 encryption is "configuration" in IAM).
IAM_ACTION = {"s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
              "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
              "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
              "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock"}


def record_operations(client: Any) -> list[str]:
    seen: list[str] = []

    def hook(event_name: str, **kwargs: Any) -> None:
        _, service, operation = event_name.split(".")
        seen.append(IAM_ACTION.get(f"{service}:{operation}", f"{service}:{operation}"))

    client.meta.events.register("before-call", hook)
    return seen


def test_every_call_in_a_member_is_allowed_by_the_remediation_role(hub: Hub, member: Member) -> None:
    """The remediation role gets exactly the registry's actions: whatever a policy calls must be among them."""
    net = make_network(member)
    [single] = launch(member, net)
    [multi] = launch(member, net, interfaces=2)
    buckets = [make_bucket(member, "covered-1"), make_bucket(member, "covered-2", tags={"orgguard:exempt": "all"})]

    events = {
        "s3-encryption": [bucket_event(BUCKET_SAMPLE, member, b) for b in buckets],
        "ec2-compliance": [run_instances_event("records/custodian__RunInstances__3.json", member, [single, multi],
                                               net)],
        "vpc-created": [vpc_event("records/panther__CreateVpc__1.json", member, net.vpc_id, "10.20.0.0/16")],
        "s3-public-access": [bucket_event("records/streamalert__PutBucketPolicy__1.json", member, b) for b in buckets],
    }
    for policy in POLICIES:
        rt = runtime(hub, settings_for(member))
        calls = [record_operations(engine_client(rt, member, service)) for service in ("s3", "ec2")]
        outcomes = [run(e, policy.id, rt).outcome for e in events[policy.id]]
        assert all(o in ("remediated", "reported", "exempt") for o in outcomes), (policy.id, outcomes)
        made = {op for ops in calls for op in ops}
        assert made, policy.id
        assert made <= set(policy.actions), f"{policy.id} calls {sorted(made - set(policy.actions))} unlisted"


def test_one_processed_event_logs_one_json_line_with_its_keys(hub: Hub, member: Member,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from handlers.adapters import guardrail

    logger = logging.getLogger("orgguard")
    saved = (logger.level, logger.propagate, list(logger.handlers))
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    monkeypatch.setenv(ENV_SETTINGS, settings_for(member).to_json())
    monkeypatch.setenv(ENV_AUDIT_TABLE, TABLE_NAME)
    monkeypatch.setenv(ENV_TOPIC_ARN, hub.topic_arn)
    engine.RUNTIME.reset()
    logging.getLogger().setLevel(logging.WARNING)  # Lambda's default root level
    event, ids = ec2_event(hub, member)

    class Context:
        aws_request_id = "req-1234"

    try:
        monkeypatch.setenv(ENV_POLICY, "ec2-compliance")
        guardrail.handler(event, Context())
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    finally:
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers[:] = saved[2]

    [line] = [entry for entry in lines if entry.get("event_id") == event["eventID"]]
    assert {"timestamp", "level", "message", "event_id", "policy", "account", "outcome"} <= set(line)
    assert (line["level"], line["policy"], line["account"], line["outcome"]) == (
        "INFO", "ec2-compliance", member.account, "remediated")
    assert line["request_id"] == "req-1234" and ids[0] in line["message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])
