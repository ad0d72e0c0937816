"""`orgguard replay` over every real CloudTrail sample: each event gets what OrgGuard must do with it, the
samples cover every guardrail path, and bad files are named with a reason and fail the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from handlers.registry import policy_for
from sandbox.replay.shapes import items, tag_pairs
from tests.support.replay_cli import DEFAULTS, REQUIRED_TAGS, bucket_event, governing, replay_json, run_replay
from tests.support.samples import needs_samples as samples_mark
from tests.support.samples import require_samples

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "cloudtrail-samples"
SAMPLE_FILES = sorted([*SAMPLES.glob("records/*.json"), *SAMPLES.glob("wrapped/*.json")])
needs_samples = samples_mark(SAMPLES / "records")
REAL_REGIONS = set(boto3.session.Session().get_available_regions("ec2"))


def detail_of(path: Path) -> dict[str, Any]:
    payload = json.loads(path.read_text())
    detail = payload.get("detail", payload)
    assert isinstance(detail, dict)
    return detail


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require_samples(SAMPLES / "records")
    bad = tmp_path_factory.mktemp("bad")
    not_json = bad / "notes.txt"
    not_json.write_text("these are my notes, not JSON\n")
    empty = bad / "empty.json"
    empty.write_text("[]")
    files = [str(not_json), *map(str, SAMPLE_FILES), str(empty)]
    sample_regions = {detail_of(p).get("awsRegion") for p in SAMPLE_FILES} & REAL_REGIONS
    config = governing(bad / "orgguard.toml", *map(str, sample_regions))  # a spoke wherever they happened
    code, records, err = replay_json("--config", str(config), *files)
    assert len(records) == len(SAMPLE_FILES), err  # every sample holds exactly one event
    return {"code": code, "err": err, "bad": (not_json, empty),
            "by_file": {path.name: record for path, record in zip(SAMPLE_FILES, records, strict=True)}}


def _instance_items(detail: dict[str, Any]) -> list[dict[str, Any]]:
    response = detail.get("responseElements")
    if not isinstance(response, dict):
        return []
    return [i for i in items(response.get("instancesSet")) if isinstance(i, dict)]


def _event_instance_tag_keys(detail: dict[str, Any], item: dict[str, Any]) -> set[str]:
    """The request's instance tags and the response's tagSet (launch-template and service tags too)."""
    request = detail.get("requestParameters")
    keys: set[str] = set(tag_pairs(item.get("tagSet")))
    for spec in items(request.get("tagSpecificationSet") if isinstance(request, dict) else None):
        if spec.get("resourceType") == "instance":
            keys |= {t["key"] for t in items(spec.get("tags"))}
    return keys


def _event_group_count(item: dict[str, Any]) -> int:
    return len({g.get("groupId") or g.get("groupName") for g in items(item.get("groupSet"))}) or 1


def check_s3(record: dict[str, Any], detail: dict[str, Any]) -> None:
    assert record["outcome"] == "remediated"
    assert record["notified"] is True
    (action,) = record["actions"]
    assert action["action"] == "s3:PutBucketEncryption"
    assert action["params"]["Bucket"] == detail["requestParameters"]["bucketName"]
    (rule,) = action["params"]["ServerSideEncryptionConfiguration"]["Rules"]
    standard = DEFAULTS.policies.s3_encryption
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == standard.algorithm
    assert rule["BucketKeyEnabled"] is standard.bucket_key


def check_public_access(record: dict[str, Any], detail: dict[str, Any]) -> None:
    """The samples' buckets: no flags after a Delete, S3's default (all on) or the request's flags after a Put,
    no flags under a public policy; and some records name no bucket, or no account (rejected first)."""
    bucket = (detail.get("requestParameters") or {}).get("bucketName")
    if not bucket:  # test data without a bucket (or without an account, rejected first)
        assert record["outcome"] in ("rejected:no-resource-id", "rejected:no-account")
        return
    assert record["outcome"] in ("remediated", "compliant")
    if record["outcome"] == "remediated":
        (action,) = record["actions"]
        assert action["action"] == "s3:PutPublicAccessBlock" and action["params"]["Bucket"] == bucket
        assert record["notified"] is True


def check_run_instances(record: dict[str, Any], detail: dict[str, Any]) -> None:
    launched = _instance_items(detail)
    assert record["outcome"] == "remediated"
    assert record["notified"] is True
    assert "instance ids rewritten" in record["note"] and "not rebuilt: " in record["note"]
    tag_actions = [a for a in record["actions"] if a["action"] == "ec2:CreateTags"]
    group_actions = [a for a in record["actions"] if a["action"] == "ec2:ModifyInstanceAttribute"]
    modified = [a["params"]["InstanceId"] for a in group_actions]
    assert len(set(modified)) == len(launched)  # one call per instance, each lacked the admin group
    admin_groups = {a["params"]["Groups"][-1] for a in group_actions}
    assert len(admin_groups) == len({i.get("vpcId") for i in launched})  # one admin group per VPC
    for action, item in zip(group_actions, launched, strict=True):
        groups = action["params"]["Groups"]
        assert len(groups) == len(set(groups)) == _event_group_count(item) + 1  # existing groups kept + admin
    added: dict[str, dict[str, str]] = {}  # new instance id -> tags CreateTags gave it
    for action in tag_actions:
        for instance_id in action["params"]["Resources"]:
            added.setdefault(instance_id, {}).update({t["Key"]: t["Value"] for t in action["params"]["Tags"]})
    for new_id, item in zip(modified, launched, strict=True):
        missing = set(REQUIRED_TAGS) - _event_instance_tag_keys(detail, item)
        assert added.get(new_id, {}) == {k: REQUIRED_TAGS[k] for k in missing}


@needs_samples
@pytest.mark.parametrize("sample", [p.name for p in SAMPLE_FILES] or ["absent.json"])  # absent: skip (CI: fail)
def test_each_sample_gets_what_orgguard_must_do(sample_run: dict[str, Any], sample: str) -> None:
    record = sample_run["by_file"][sample]
    detail = detail_of(next(p for p in SAMPLE_FILES if p.name == sample))
    source, name = detail.get("eventSource"), detail.get("eventName")
    assert record["event_name"] == (name or "")
    policy = policy_for(str(source), str(name))
    if "errorCode" in detail or policy is None:  # failed calls, unrelated events, ungoverned sources
        assert (record["forwarded"], record["policy"], record["outcome"]) == (False, None, "ignored")
        assert record["actions"] == [] and record["notified"] is False
        assert record["note"].startswith("not forwarded: ")
        return
    assert record["forwarded"] is True
    assert record["policy"] == policy.id
    if policy.id == "s3-encryption":
        check_s3(record, detail)
    elif policy.id == "s3-public-access":
        check_public_access(record, detail)
    elif policy.id == "ec2-compliance":
        check_run_instances(record, detail)
    else:
        assert (record["outcome"], record["notified"], record["actions"]) == ("reported", True, [])
        assert "VPC id rewritten" in record["note"]


@needs_samples
def test_samples_cover_every_guardrail_path(sample_run: dict[str, Any]) -> None:
    outcomes = {(r["policy"], r["outcome"]) for r in sample_run["by_file"].values()}
    assert {("s3-encryption", "remediated"), ("ec2-compliance", "remediated"), ("vpc-created", "reported"),
            ("s3-public-access", "remediated"), ("s3-public-access", "compliant"), (None, "ignored")} <= outcomes
    s3express = [r for n, r in sample_run["by_file"].items()
                 if detail_of(SAMPLES / ("records" if (SAMPLES / "records" / n).exists() else "wrapped") / n)
                 .get("eventSource") == "s3express.amazonaws.com"]
    assert s3express and all(r["outcome"] == "ignored" and not r["forwarded"] for r in s3express)


@needs_samples
def test_bad_files_are_named_with_a_reason_and_fail_the_run(sample_run: dict[str, Any]) -> None:
    not_json, empty = sample_run["bad"]
    assert sample_run["code"] == 1
    lines = sample_run["err"].splitlines()
    assert any(str(not_json) in line and "not JSON" in line for line in lines)
    assert any(str(empty) in line and "no event" in line for line in lines)


def test_good_files_exit_zero_and_a_text_table_lists_actions(tmp_path: Path) -> None:
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    event = bucket_event("PutBucketEncryption", {"Rule": rule})
    path = tmp_path / "put.json"
    path.write_text(json.dumps(event))
    code, out, err = run_replay(str(path))
    assert code == 0, err
    header, row = out.splitlines()[:2]
    assert header.split() == ["#", "EVENT", "ACCOUNT", "REGION", "FORWARDED", "POLICY", "OUTCOME", "NOTIFIED"]
    assert row.split() == ["1", "PutBucketEncryption", "333333333333", "eu-west-1", "yes", "s3-encryption",
                           "remediated", "yes"]
    assert "s3:PutBucketEncryption" in out and '"SSEAlgorithm": "aws:kms"' in out
