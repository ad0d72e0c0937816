"""`orgguard replay` end to end: real CloudTrail samples through forwarding, seeding and the real engine.

The sample-wide run goes through ``deploy.main`` in-process, with no credentials and a profile that does
not exist, and asserts per event what OrgGuard must do with it. The state tests replay single events
with ``Replayer`` inside the embedded AWS so they can read the member account afterwards.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import deploy
from commands.replay import REPLAY_STRICTNESS
from handlers.registry import policy_for
from handlers.settings import load
from sandbox.aws.server import embedded_aws
from sandbox.replay.org import ACCESS_ROLE, role_session
from sandbox.replay.run import Replayer, without_default_amis
from sandbox.replay.shapes import items, tag_pairs
from tests.support.samples import needs_samples as samples_mark
from tests.support.samples import require_samples

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "cloudtrail-samples"
SAMPLE_FILES = sorted([*SAMPLES.glob("records/*.json"), *SAMPLES.glob("wrapped/*.json")])
DEFAULTS = load(None)
REQUIRED_TAGS = DEFAULTS.policies.ec2_compliance.required_tags
needs_samples = samples_mark(SAMPLES / "records")
REAL_REGIONS = set(boto3.session.Session().get_available_regions("ec2"))


def governing(path: Path, *regions: str) -> Path:
    """A config whose organization governs ``regions`` (a spoke in each), everything else the defaults."""
    path.write_text(f"[organization]\nregions = {json.dumps(sorted(set(regions)))}\n")
    return path


@contextlib.contextmanager
def no_credentials() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_PROFILE", "nonexistent")
        yield


def run_replay(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with no_credentials(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = deploy.main(["replay", *args])
    return code, out.getvalue(), err.getvalue()


def replay_json(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    code, out, err = run_replay("--json", *args)
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


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


def user(account: str) -> dict[str, str]:
    return {"type": "IAMUser", "accountId": account, "arn": f"arn:aws:iam::{account}:user/dev"}


def bucket_event(name: str, configuration: dict[str, Any] | None = None, event_id: str = "ev-1",
                 account: str = "333333333333") -> dict[str, Any]:
    request: dict[str, Any] = {"bucketName": "replay-test-bucket",
                               "Host": "replay-test-bucket.s3.amazonaws.com"}
    if configuration is not None:
        request["ServerSideEncryptionConfiguration"] = {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                                        **configuration}
    return {"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": name, "eventID": event_id,
            "eventTime": "2024-05-01T10:00:00Z", "awsRegion": "eu-west-1", "recipientAccountId": account,
            "userIdentity": user(account),
            "requestParameters": request, "responseElements": None}


def test_put_bucket_encryption_is_seeded_from_the_request_in_both_xml_shapes(tmp_path: Path) -> None:
    kms_rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": "true",
                "BlockedEncryptionTypes": {"EncryptionType": "SSE-C"}}
    aes_rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    allowing = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": "true"}
    events = [bucket_event("PutBucketEncryption", {"Rule": kms_rule}, "as-object"),
              bucket_event("PutBucketEncryption", {"Rule": [aes_rule]}, "as-list"),
              bucket_event("PutBucketEncryption", {"Rule": allowing}, "allows-sse-c"),
              bucket_event("DeleteBucketEncryption", None, "deleted")]
    lines = tmp_path / "events.jsonl"
    lines.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    code, records, err = replay_json(str(lines))
    assert code == 0, err
    by_id = {r["event_id"]: r for r in records}
    assert (by_id["as-object"]["outcome"], by_id["as-object"]["actions"], by_id["as-object"]["notified"]) == (
        "compliant", [], False)
    assert by_id["as-list"]["outcome"] == "remediated"  # AES256 is below the aws:kms standard
    # The rule is replaced whole: a request without BlockedEncryptionTypes leaves SSE-C uploads allowed.
    assert by_id["allows-sse-c"]["outcome"] == "remediated"
    assert by_id["deleted"]["outcome"] == "remediated"


def test_test_artefacts_are_rejected_by_the_engine_and_own_calls_are_not_forwarded(tmp_path: Path) -> None:
    artefact = bucket_event("CreateBucket", event_id="artefact", account="accountid")
    own = bucket_event("DeleteBucketEncryption", event_id="own-call")
    own["userIdentity"] = {"type": "AssumedRole", "accountId": "333333333333",
                           "arn": "arn:aws:sts::333333333333:assumed-role/OrgGuardRemediation/orgguard",
                           "sessionContext": {"sessionIssuer": {
                               "type": "Role", "arn": "arn:aws:iam::333333333333:role/OrgGuardRemediation"}}}
    path = tmp_path / "artefacts.json"
    path.write_text(json.dumps([artefact, own]))
    code, records, err = replay_json(str(path))
    assert code == 0, err
    rejected, looped = records
    assert rejected["forwarded"] is True
    assert rejected["outcome"] == "rejected:no-account"
    assert rejected["actions"] == [] and rejected["notified"] is False
    assert (looped["forwarded"], looped["outcome"]) == (False, "ignored")
    assert "loop guard" in looped["note"]


def test_an_event_replay_cannot_seed_fails_the_run_and_the_others_still_run(tmp_path: Path) -> None:
    impossible = run_instances_event([], count=1)  # two interfaces on one device index: AWS refuses such a launch
    interface = {"networkInterfaceId": "eni-event", "subnetId": "subnet-event", "vpcId": "vpc-event",
                 "attachment": {"deviceIndex": 0}, "groupSet": {"items": [{"groupId": "sg-event"}]}}
    impossible["responseElements"]["instancesSet"]["items"][0]["networkInterfaceSet"] = {
        "items": [interface, {**interface, "networkInterfaceId": "eni-event2"}]}
    impossible["eventID"] = "nowhere"
    path = tmp_path / "events.json"
    path.write_text(json.dumps([impossible, bucket_event("CreateBucket", event_id="fine")]))
    code, records, err = replay_json(str(path))
    assert code == 1
    assert [(r["event_id"], r["outcome"]) for r in records] == [("nowhere", "failed:replay-seed"),
                                                                ("fine", "remediated")]
    assert f"{path}[0]" in err and "share a device index" in err


def test_config_is_honoured_but_every_policy_enforces(tmp_path: Path) -> None:
    config = tmp_path / "orgguard.toml"
    config.write_text(
        '[organization]\nmanagement_account = "111111111111"\nhub_account = "222222222222"\n'
        'hub_region = "eu-west-1"\nregions = ["eu-west-1"]\n'
        '[policies.ec2-compliance]\nmode = "report"\nrequired_tags = { Team = "platform" }\n'
        'admin_security_group = { name = "ops-admins" }\n'
        '[policies.s3-encryption]\nmode = "off"\nalgorithm = "AES256"\n')
    before_sse_s3 = {**bucket_event("CreateBucket"), "eventTime": "2022-05-01T10:00:00Z"}  # no default encryption
    events = [run_instances_event([{"key": "Name", "value": "web"}]), before_sse_s3]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    code, records, err = replay_json("--config", str(config), str(path))
    assert code == 0, err
    ec2, s3 = records
    assert ec2["outcome"] == "remediated"
    tags = next(a for a in ec2["actions"] if a["action"] == "ec2:CreateTags")
    assert tags["params"]["Tags"] == [{"Key": "Team", "Value": "platform"}]
    assert s3["outcome"] == "remediated"
    (put,) = s3["actions"]
    rule = put["params"]["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def run_instances_event(tags: list[dict[str, str]], count: int = 2, account: str = "444444444444",
                        region: str = "eu-west-1") -> dict[str, Any]:
    launched = [{"instanceId": f"i-event{n}", "vpcId": "vpc-event", "subnetId": "subnet-event",
                 "groupSet": {"items": [{"groupId": "sg-event", "groupName": "web"}]}} for n in range(count)]
    request: dict[str, Any] = {"instancesSet": {"items": [{"imageId": "ami-1", "minCount": count,
                                                           "maxCount": count}]},
                               "instanceType": "t3.micro"}
    if tags:
        request["tagSpecificationSet"] = {"items": [{"resourceType": "instance", "tags": tags},
                                                    {"resourceType": "volume", "tags": [{"key": "Owner",
                                                                                        "value": "vol"}]}]}
    return {"eventVersion": "1.08", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
            "eventID": f"run-{count}", "eventTime": "2024-05-01T10:00:00Z", "awsRegion": region,
            "recipientAccountId": account,
            "userIdentity": user(account),
            "requestParameters": request, "responseElements": {"instancesSet": {"items": launched}}}


def test_run_instances_leaves_user_tags_and_groups_and_adds_only_what_is_missing() -> None:
    event = run_instances_event([{"key": "Owner", "value": "alice"}])
    with (no_credentials(), embedded_aws(strictness=REPLAY_STRICTNESS) as aws, without_default_amis(),
          contextlib.closing(Replayer(aws, DEFAULTS)) as replayer):
        replayed = replayer.replay("test", event)
        assert not replayed.error
        member = role_session(aws.session(), "444444444444", ACCESS_ROLE, "eu-west-1")
        ec2 = member.client("ec2")
        instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
        groups = {g["GroupId"]: g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert replayed.record["outcome"] == "remediated"
    assert len(instances) == 2
    for instance in instances:
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags == {"Owner": "alice", "CostCenter": REQUIRED_TAGS["CostCenter"]}
        names = sorted(groups[g["GroupId"]] for g in instance["SecurityGroups"])
        assert names == sorted(["web", DEFAULTS.policies.ec2_compliance.admin_security_group.name])
    (tag_action,) = [a for a in replayed.record["actions"] if a["action"] == "ec2:CreateTags"]
    assert tag_action["params"]["Tags"] == [{"Key": "CostCenter", "Value": REQUIRED_TAGS["CostCenter"]}]
    assert replayed.notification is not None and "444444444444" in replayed.notification[1]
