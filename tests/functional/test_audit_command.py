"""``orgguard audit`` on moto: a hub table shaped like the hub stack's (partition key, account index), filled
by the code that fills it on AWS (the engine's AuditLog and the sweep's batch writer)."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import deploy
from handlers.audit import AuditLog
from handlers.batch.records import SweepFinding, TargetResult, audit_records, write_audit
from handlers.contract import (
    TABLE_ACCOUNT_INDEX,
    TABLE_ACCOUNT_INDEX_PARTITION,
    TABLE_ACCOUNT_INDEX_SORT,
    TABLE_PARTITION_KEY,
)
from handlers.drift import IacFix, drift_entry, public_access_block_snippet
from tests.support.settings_files import organization_raw, write_settings

TABLE = "orgguard-audit"  # hub.table_name's default
REGION = "us-east-1"
ALPHA, BETA = "111111111111", "222222222222"
NOW = dt.datetime.now(dt.UTC).timestamp()


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    for name in list(os.environ):
        if name.startswith(("AWS_", "ORGGUARD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)  # `audit` below passes --config orgguard.toml
    write_settings(tmp_path, organization_raw("111111111111", "123456789012", REGION, [REGION]))  # moto's account
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in
                                  (TABLE_PARTITION_KEY, TABLE_ACCOUNT_INDEX_PARTITION, TABLE_ACCOUNT_INDEX_SORT)],
            KeySchema=[{"AttributeName": TABLE_PARTITION_KEY, "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{
                "IndexName": TABLE_ACCOUNT_INDEX,
                "KeySchema": [{"AttributeName": TABLE_ACCOUNT_INDEX_PARTITION, "KeyType": "HASH"},
                              {"AttributeName": TABLE_ACCOUNT_INDEX_SORT, "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}])
        yield dynamodb


def event_record(dynamodb: Any, event_id: str, account: str, outcome: str, hours_ago: float,
                 policy: str = "s3-encryption") -> None:
    """What the engine leaves for one handled event: claimed, then finished."""
    log = AuditLog(dynamodb, TABLE, clock=lambda: NOW - hours_ago * 3600)
    key = f"event#{event_id}"
    log.claim(key, {"event_id": event_id, "policy": policy, "account": account, "region": REGION,
                    "event_name": "CreateBucket"})
    log.finish(key, {"outcome": outcome, "resource": f"bucket-{event_id}", "summary": f"{outcome} it",
                     "before": {"algorithm": ""}}, notification="sent")


@pytest.fixture
def filled(table: Any) -> Any:
    event_record(table, "e-old", ALPHA, "remediated", hours_ago=24 * 10)
    event_record(table, "e-1", ALPHA, "remediated", hours_ago=5)
    event_record(table, "e-2", ALPHA, "failed:AccessDenied", hours_ago=3)
    event_record(table, "e-3", BETA, "exempt", hours_ago=2, policy="ec2-compliance")
    write_audit(table, TABLE, [
        ("sweep#run-1#111111111111#us-east-1#s3-encryption#legacy",
         {"account": ALPHA, "region": REGION, "policy": "s3-encryption", "resource": "legacy",
          "outcome": "remediated", "source": "sweep", "actions": [{"action": "s3:PutBucketEncryption"}]})],
        30, clock=lambda: NOW - 3600)
    AuditLog(table, TABLE).once(f"notice#not-onboarded#{ALPHA}#2030-01-01", {"account": ALPHA, "policy": "*"})
    return table


def audit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = deploy.main(["audit", "--config", "orgguard.toml", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_account_records_come_newest_first_from_the_index(filled: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = audit(capsys, "--account", ALPHA, "--json")

    records = json.loads(out)
    assert code == 0
    assert [r.get("event_id") or r["resource"] for r in records] == ["legacy", "e-2", "e-1"]
    assert all(r["account"] == ALPHA for r in records)
    assert records[0]["actions"] == [{"action": "s3:PutBucketEncryption"}]


def test_filters_by_policy_outcome_family_and_age(filled: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, failed, _ = audit(capsys, "--outcome", "failed", "--json")
    _, ec2, _ = audit(capsys, "--policy", "ec2-compliance", "--json")
    _, everything, _ = audit(capsys, "--since", "30d", "--json")
    _, recent, _ = audit(capsys, "--since", "150m", "--json")

    assert [r["outcome"] for r in json.loads(failed)] == ["failed:AccessDenied"]
    assert [r["account"] for r in json.loads(ec2)] == [BETA]
    assert len(json.loads(everything)) == 5
    assert [r["resource"] for r in json.loads(recent)] == ["legacy", "bucket-e-3"]


def test_the_table_reads_as_a_table(filled: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = audit(capsys, "--account", ALPHA)

    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["TIME", "ACCOUNT", "REGION", "POLICY", "RESOURCE", "OUTCOME", "BY", "SUMMARY"]
    assert "legacy" in lines[1] and "sweep" in lines[1]
    assert "failed:AccessDenied" in lines[2] and "CreateBucket" in lines[2]


def test_without_a_hub_table_it_says_how_to_get_one(table: Any, capsys: pytest.CaptureFixture[str]) -> None:
    table.delete_table(TableName=TABLE)

    code, _, err = audit(capsys)

    assert code == 1
    assert f"audit table {TABLE} does not exist" in err and "orgguard hub" in err


@pytest.mark.parametrize("argv", [["--since", "yesterday"], ["--account", "12"], ["--limit", "0"]])
def test_bad_arguments_are_explained(table: Any, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = audit(capsys, *argv)
    assert code == 1 and argv[0] in err


def test_drift_lists_the_stack_owned_resources_orgguard_changed_by_account_and_stack(
        table: Any, capsys: pytest.CaptureFixture[str]) -> None:
    bucket_fix = drift_entry("team-data", "team-app", "DataBucket", IacFix("AWS::S3::Bucket", {"BucketEncryption": {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}}))
    log = AuditLog(table, TABLE, clock=lambda: NOW - 3600)
    for event_id, outcome, extra in [("e-stack", "remediated", {"stack_name": "team-app", "iac": [bucket_fix]}),
                                     ("e-plain", "remediated", {}),
                                     ("e-report", "reported", {"stack_name": "team-app"}),
                                     ("e-old-record", "remediated", {"stack_name": "legacy-stack"})]:
        log.claim(f"event#{event_id}", {"event_id": event_id, "policy": "s3-encryption", "account": ALPHA,
                                        "region": REGION, "event_name": "CreateBucket"})
        log.finish(f"event#{event_id}", {"outcome": outcome, "resource": f"bucket-{event_id}", **extra},
                   notification="sent")
    site_fix = drift_entry("site-assets", "site", "SiteBucket", public_access_block_snippet())
    swept = TargetResult(BETA, REGION, findings=[SweepFinding(
        BETA, REGION, "s3-encryption", "site-assets", "remediated", stack_name="site", iac=site_fix)])
    write_audit(table, TABLE, audit_records(swept, "run-2", "sweep", "me"), 30, clock=lambda: NOW - 60)

    code, out, _ = audit(capsys, "--drift", "--json")
    text_code, text, _ = audit(capsys, "--drift")

    assert code == 0 and text_code == 0
    groups = json.loads(out)
    assert [g["account"] for g in groups] == [ALPHA, BETA]
    assert [(s["stack"], [r["resource"] for r in s["resources"]]) for s in groups[0]["stacks"]] == [
        ("legacy-stack", ["bucket-e-old-record"]), ("team-app", ["team-data"])]
    [bucket] = groups[0]["stacks"][1]["resources"]
    assert bucket["logical_id"] == "DataBucket" and "SSEAlgorithm: aws:kms" in bucket["cloudformation"]
    assert "encryption=s3.BucketEncryption.KMS_MANAGED" in bucket["cdk"]
    [swept_item] = groups[1]["stacks"][0]["resources"]
    assert (swept_item["source"], swept_item["logical_id"]) == ("sweep", "SiteBucket")
    assert "BlockPublicAcls: true" in swept_item["cloudformation"]
    assert "3 stack-owned resource(s)" in text
    for line in (f"Account {ALPHA}", f"  Stack team-app ({REGION})", "    - DataBucket AWS::S3::Bucket team-data",
                 "        Resources:", "          DataBucket:", "no snippet"):
        assert line in text, line
    assert "bucket-e-plain" not in text and "bucket-e-report" not in text


def test_drift_goes_only_with_remediated(table: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = audit(capsys, "--drift", "--outcome", "failed")
    assert code == 1 and "--drift" in err
