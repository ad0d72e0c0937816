"""`orgguard replay` of single hand-made events: encryption seeded from either XML shape, test artefacts and
own calls left alone, an unseedable event failing only itself, the config honoured, and a replayed RunInstances
read back from the member account inside the embedded AWS (``Replayer``)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from commands.replay import REPLAY_STRICTNESS
from sandbox.aws.server import embedded_aws
from sandbox.replay.org import ACCESS_ROLE, role_session
from sandbox.replay.run import Replayer, without_default_amis
from tests.support.replay_cli import (
    DEFAULTS,
    REQUIRED_TAGS,
    bucket_event,
    no_credentials,
    replay_json,
    user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]


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
