"""s3-encryption end to end on moto, what the member's bucket ends up with: the KMS standard (or the
configured one) on a bucket without it, a bucket meeting it left alone, report and off modes, exempt buckets and
accounts; the hub acts through AssumeRole and the bucket, the audit table and the e-mail are checked afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.events import bucket_event
from tests.support.handlers import MEMBER_NAME, Hub, engine_client, record_calls, run, runtime, settings_for
from tests.support.members import Member, bucket_encryption, make_bucket
from tests.support.s3_encryption import BLOCK_SSE_C, KMS_STANDARD, SAMPLES


@pytest.mark.parametrize("sample", SAMPLES)
def test_bucket_without_configuration_gets_the_kms_standard(hub: Hub, member: Member, sample: str) -> None:
    bucket = make_bucket(member, "team-data-1")
    rt = runtime(hub, settings_for(member))
    event = bucket_event(sample, member, bucket)
    detail = event.get("detail", event)

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == "remediated"
    assert bucket_encryption(member, bucket) == KMS_STANDARD
    item = hub.event_item(detail["eventID"])
    assert item["state"] == "done"
    assert item["outcome"] == "remediated"
    assert item["event_id"] == detail["eventID"]
    assert item["event_name"] == detail["eventName"]
    assert item["event_time"] == detail["eventTime"]
    assert item["time"].endswith("Z")
    assert (item["account"], item["region"], item["policy"]) == (member.account, member.region, "s3-encryption")
    assert item["resource"] == bucket
    assert item["actor"] == detail["userIdentity"]["arn"]
    assert member.account in item["actor"]
    assert json.loads(item["before"]) == {"algorithm": "", "kms_key": "", "bucket_key": False,
                                          "blocked_encryption_types": []}
    assert json.loads(item["after"]) == {"algorithm": "aws:kms", "kms_key": "", "bucket_key": True,
                                         "blocked_encryption_types": ["SSE-C"]}
    assert json.loads(item["actions"]) == [{"action": "s3:PutBucketEncryption", "params": {
        "Bucket": bucket, "ServerSideEncryptionConfiguration": {"Rules": KMS_STANDARD}}}]
    [mail] = hub.mail()
    assert mail.attributes == {"account": member.account, "policy": "s3-encryption", "outcome": "remediated",
                               "severity": "high"}
    assert len(mail.subject) <= 100 and mail.subject.isascii() and mail.subject.isprintable()
    assert bucket in mail.subject and MEMBER_NAME in mail.subject
    for text in (bucket, member.account, MEMBER_NAME, member.region, detail["userIdentity"]["arn"],
                 "no configuration", "aws:kms", "bucket key on", "blocks SSE-C uploads"):
        assert text in mail.body, text


@pytest.mark.parametrize(("policy", "rules"), [
    ({"algorithm": "AES256"}, [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                "BucketKeyEnabled": False, "BlockedEncryptionTypes": BLOCK_SSE_C}]),
    ({"kms_key": "arn:aws:kms:{region}:{account}:alias/org-s3", "bucket_key": False},
     [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                              "KMSMasterKeyID": "arn:aws:kms:{region}:{account}:alias/org-s3"},
       "BucketKeyEnabled": False, "BlockedEncryptionTypes": BLOCK_SSE_C}]),
    ({"algorithm": "AES256", "blocked_encryption_types": []},
     [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False,
       "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]),
], ids=["AES256", "kms-key-templated", "AES256-allowing-sse-c"])
def test_configured_standard_is_what_the_member_bucket_gets(hub: Hub, member: Member, policy: dict[str, Any],
                                                            rules: list[dict[str, Any]]) -> None:
    bucket = make_bucket(member, "team-data-2")
    rt = runtime(hub, settings_for(member, {"s3-encryption": policy}))

    processed = run(bucket_event(SAMPLES[0], member, bucket), "s3-encryption", rt)

    assert processed.outcome == "remediated"
    expected = str(rules).replace("{region}", member.region).replace("{account}", member.account)
    assert str(bucket_encryption(member, bucket)) == expected


def test_bucket_meeting_the_standard_is_left_alone(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-3", encryption=KMS_STANDARD[0])
    rt = runtime(hub, settings_for(member))
    puts = record_calls(engine_client(rt, member, "s3"), "PutBucketEncryption")
    event = bucket_event(SAMPLES[1], member, bucket)

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == "compliant"
    assert puts == []
    assert bucket_encryption(member, bucket) == KMS_STANDARD
    assert hub.event_item(event["eventID"])["outcome"] == "compliant"
    assert hub.mail() == []


def test_aes256_bucket_is_compliant_when_the_standard_is_the_floor(hub: Hub, member: Member) -> None:
    aes = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False,
           "BlockedEncryptionTypes": BLOCK_SSE_C}
    bucket = make_bucket(member, "team-data-4", encryption=aes)
    rt = runtime(hub, settings_for(member, {"s3-encryption": {"algorithm": "AES256"}}))

    processed = run(bucket_event(SAMPLES[1], member, bucket), "s3-encryption", rt)

    assert processed.outcome == "compliant"
    assert bucket_encryption(member, bucket) == [aes]


def test_report_mode_changes_nothing_and_reports(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-5")
    rt = runtime(hub, settings_for(member, {"s3-encryption": {"mode": "report"}}))
    event = bucket_event(SAMPLES[2], member, bucket)

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == "reported"
    assert processed.actions == []
    assert bucket_encryption(member, bucket) is None
    item = hub.event_item(event["eventID"])
    assert item["outcome"] == "reported" and item["actions"] == "[]"
    [mail] = hub.mail()
    assert mail.attributes["outcome"] == "reported"
    assert "report mode" in mail.body


def test_off_mode_skips_before_touching_the_member(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-6")
    rt = runtime(hub, settings_for(member, {"s3-encryption": {"mode": "off"}}))
    event = bucket_event(SAMPLES[0], member, bucket)

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == "skipped:policy-off"
    assert rt.members.assume_calls == 0
    assert bucket_encryption(member, bucket) is None
    assert hub.event_item(event["eventID"])["outcome"] == "skipped:policy-off"
    assert hub.mail() == []


@pytest.mark.parametrize("tag_value", ["s3-encryption", "all", "ec2-compliance, s3-encryption"])
def test_exempt_tag_leaves_the_bucket_as_it_is(hub: Hub, member: Member, tag_value: str) -> None:
    bucket = make_bucket(member, "team-data-7", tags={"orgguard:exempt": tag_value})
    rt = runtime(hub, settings_for(member))
    event = bucket_event(SAMPLES[0], member, bucket)

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == "exempt"
    assert bucket_encryption(member, bucket) is None
    assert hub.event_item(event["eventID"])["outcome"] == "exempt"
    assert hub.mail() == []


def test_exemption_for_another_policy_or_expired_does_not_apply(hub: Hub, member: Member) -> None:
    other = make_bucket(member, "team-data-8", tags={"orgguard:exempt": "ec2-compliance"})
    expired = make_bucket(member, "team-data-9", tags={"orgguard:exempt": "all",
                                                       "orgguard:exempt-until": "2020-01-31"})
    rt = runtime(hub, settings_for(member))

    outcomes = [run(bucket_event(SAMPLES[0], member, b), "s3-encryption", rt).outcome for b in (other, expired)]

    assert outcomes == ["remediated", "remediated"]
    assert bucket_encryption(member, other) == KMS_STANDARD
    assert bucket_encryption(member, expired) == KMS_STANDARD


def test_exempt_account_is_not_assumed_into(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-10")
    rt = runtime(hub, settings_for(member, exemptions={"accounts": [member.account]}))
    event = bucket_event(SAMPLES[0], member, bucket)

    assert run(event, "s3-encryption", rt).outcome == "exempt"
    assert rt.members.assume_calls == 0
    assert bucket_encryption(member, bucket) is None
    assert hub.event_item(event["eventID"])["outcome"] == "exempt"
