"""s3-encryption end to end on moto: real CloudTrail records, the hub acting in a member account through
AssumeRole, and the member's bucket, the audit table and the e-mail checked afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.audit import event_key
from tests.support.events import bucket_event
from tests.support.handlers import MEMBER_NAME, Hub, engine_client, fail_calls, record_calls, run, runtime, settings_for
from tests.support.members import Member, bucket_encryption, make_bucket

BLOCK_SSE_C = {"EncryptionType": ["SSE-C"]}
KMS_STANDARD = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True,
                 "BlockedEncryptionTypes": BLOCK_SSE_C}]
SAMPLES = [
    "records/ctwatcher__CreateBucket__1.json",
    "records/panther__PutBucketEncryption__1.json",
    "records/panther__DeleteBucketEncryption__1.json",
    "wrapped/custodian__CreateBucket__2.json",
]


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


def test_duplicate_delivery_acts_once_and_mails_once(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-11")
    rt = runtime(hub, settings_for(member))
    puts = record_calls(engine_client(rt, member, "s3"), "PutBucketEncryption")
    event = bucket_event(SAMPLES[0], member, bucket)

    first = run(event, "s3-encryption", rt)
    second = run(event, "s3-encryption", rt)

    assert (first.outcome, first.duplicate) == ("remediated", False)
    assert (second.outcome, second.duplicate) == ("skipped:duplicate", True)
    assert second.resource == bucket
    assert [p["Bucket"] for p in puts] == [bucket]
    assert [m.attributes["outcome"] for m in hub.mail()] == ["remediated"]
    assert hub.event_item(event["eventID"])["outcome"] == "remediated"


def test_duplicate_delivery_to_a_fresh_lambda_container_acts_once(hub: Hub, member: Member) -> None:
    """Idempotency lives in the table, not in the process: a second runtime sees the first one's claim."""
    bucket = make_bucket(member, "team-data-12")
    event = bucket_event(SAMPLES[0], member, bucket)
    settings = settings_for(member)
    assert run(event, "s3-encryption", runtime(hub, settings)).outcome == "remediated"
    rt = runtime(hub, settings)
    puts = record_calls(engine_client(rt, member, "s3"), "PutBucketEncryption")

    assert run(event, "s3-encryption", rt).outcome == "skipped:duplicate"
    assert puts == []
    assert len(hub.mail()) == 1


def test_bucket_deleted_before_the_event_is_gone(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-13")
    member.client("s3").delete_bucket(Bucket=bucket)
    rt = runtime(hub, settings_for(member))
    event = bucket_event(SAMPLES[2], member, bucket)

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == "gone"
    item = hub.event_item(event["eventID"])
    assert (item["outcome"], item["resource"], item["state"]) == ("gone", bucket, "done")
    assert hub.mail() == []


def test_throttled_write_raises_releases_the_claim_and_the_retry_acts_once(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-14")
    rt = runtime(hub, settings_for(member))
    s3 = engine_client(rt, member, "s3")
    attempts = fail_calls(s3.meta.events, "s3", "PutBucketEncryption", "Throttling", times=1)
    puts = record_calls(s3, "PutBucketEncryption")
    event = bucket_event(SAMPLES[0], member, bucket)

    with pytest.raises(Exception) as raised:
        run(event, "s3-encryption", rt)
    assert "Throttling" in str(raised.value)
    assert hub.item(event_key(event["eventID"])) is None  # claim released: the retry may take it at once
    assert bucket_encryption(member, bucket) is None
    assert hub.mail() == []

    retry = run(event, "s3-encryption", rt)

    assert retry.outcome == "remediated"
    assert attempts() == 2 and [p["Bucket"] for p in puts] == [bucket]
    assert bucket_encryption(member, bucket) == KMS_STANDARD
    assert hub.event_item(event["eventID"])["state"] == "done"
    assert [m.attributes["outcome"] for m in hub.mail()] == ["remediated"]


def test_server_error_on_read_is_transient_too(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-15")
    rt = runtime(hub, settings_for(member))
    fail_calls(engine_client(rt, member, "s3").meta.events, "s3", "GetBucketEncryption", "InternalError",
               times=1, status=500)
    event = bucket_event(SAMPLES[0], member, bucket)

    with pytest.raises(Exception, match="InternalError"):
        run(event, "s3-encryption", rt)
    assert hub.item(event_key(event["eventID"])) is None
    assert run(event, "s3-encryption", rt).outcome == "remediated"


def test_notification_failure_after_the_fix_is_retried_without_acting_again(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-16")
    rt = runtime(hub, settings_for(member))
    puts = record_calls(engine_client(rt, member, "s3"), "PutBucketEncryption")
    fail_calls(hub.sns.meta.events, "sns", "Publish", "InternalError", times=1, status=500)
    event = bucket_event(SAMPLES[0], member, bucket)

    with pytest.raises(Exception, match="InternalError"):
        run(event, "s3-encryption", rt)
    item = hub.event_item(event["eventID"])
    assert (item["state"], item["outcome"], item["notified"]) == ("acted", "remediated", False)
    assert bucket_encryption(member, bucket) == KMS_STANDARD
    assert hub.mail() == []

    retry = run(event, "s3-encryption", rt)

    assert (retry.outcome, retry.notified) == ("remediated", True)
    assert [p["Bucket"] for p in puts] == [bucket]
    [mail] = hub.mail()
    assert mail.attributes == {"account": member.account, "policy": "s3-encryption", "outcome": "remediated",
                               "severity": "high"}
    assert bucket in mail.body
    item = hub.event_item(event["eventID"])
    assert (item["state"], item["notified"]) == ("done", True)
    assert run(event, "s3-encryption", rt).outcome == "skipped:duplicate"
    assert len(hub.mail()) == 1


def test_access_denied_on_the_write_is_a_recorded_failure(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-17")
    rt = runtime(hub, settings_for(member))
    fail_calls(engine_client(rt, member, "s3").meta.events, "s3", "PutBucketEncryption", "AccessDenied", times=9)
    event = bucket_event(SAMPLES[0], member, bucket)

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == "failed:AccessDenied"
    assert bucket_encryption(member, bucket) is None
    item = hub.event_item(event["eventID"])
    assert (item["outcome"], item["state"], item["severity"]) == ("failed:AccessDenied", "done", "high")
    [mail] = hub.mail()
    assert mail.attributes["outcome"] == "failed:AccessDenied"
    assert bucket in mail.body and "AccessDenied" in mail.body


def test_own_remediation_call_is_not_acted_on(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-18")
    rt = runtime(hub, settings_for(member))
    event = bucket_event(SAMPLES[1], member, bucket)
    identity = event["userIdentity"]
    identity["arn"] = f"arn:aws:sts::{member.account}:assumed-role/OrgGuardRemediation/orgguard"
    identity["sessionContext"] = {"sessionIssuer": {
        "type": "Role", "arn": f"arn:aws:iam::{member.account}:role/OrgGuardRemediation"}}

    assert run(event, "s3-encryption", rt).outcome == "skipped:own-remediation"
    assert rt.members.assume_calls == 0
    assert bucket_encryption(member, bucket) is None


def test_failed_call_and_ungoverned_source_are_skipped(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-data-19")
    rt = runtime(hub, settings_for(member))
    failed = bucket_event(SAMPLES[1], member, bucket)
    failed["errorCode"] = "AccessDenied"
    express = bucket_event(SAMPLES[0], member, bucket)
    express["eventSource"] = "s3express.amazonaws.com"

    assert run(failed, "s3-encryption", rt).outcome == "skipped:error-code"
    assert run(express, "s3-encryption", rt).outcome == "skipped:not-governed"
    assert rt.members.assume_calls == 0
    assert bucket_encryption(member, bucket) is None
    assert hub.event_item(express["eventID"])["outcome"] == "skipped:not-governed"


def own_key(member: Member, alias: str = "") -> str:
    """A customer managed key in the member account (and region), as its owners would create it."""
    kms = member.client("kms")
    arn = str(kms.create_key(Description="team data")["KeyMetadata"]["Arn"])
    if alias:
        kms.create_alias(AliasName=alias, TargetKeyId=arn)
    return arn


@pytest.mark.parametrize(("bucket_key", "blocked"), [(False, BLOCK_SSE_C), (True, None), (False, None)],
                         ids=["bucket-key-off", "sse-c-allowed", "both"])
def test_a_bucket_on_its_own_kms_key_keeps_the_key(hub: Hub, member: Member, bucket_key: bool,
                                                   blocked: dict[str, Any] | None) -> None:
    """The standard names no key: switching to aws/s3 would break cross-account readers and replication."""
    key = own_key(member)
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                            "BucketKeyEnabled": bucket_key}
    if blocked:
        rule["BlockedEncryptionTypes"] = blocked
    bucket = make_bucket(member, "team-data-20", encryption=rule)
    rt = runtime(hub, settings_for(member))
    event = bucket_event(SAMPLES[1], member, bucket)

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == "remediated"
    assert bucket_encryption(member, bucket) == [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
        "BucketKeyEnabled": True, "BlockedEncryptionTypes": BLOCK_SSE_C}]
    [mail] = hub.mail()
    assert f"Before:   aws:kms key {key}, bucket key {'on' if bucket_key else 'off'}, " \
           f"{'blocks SSE-C' if blocked else 'allows SSE-C'} uploads\n" in mail.body
    assert f"After:    aws:kms key {key}, bucket key on, blocks SSE-C uploads\n" in mail.body


def test_a_dual_layer_bucket_stays_dual_layer_with_its_key(hub: Hub, member: Member) -> None:
    key = own_key(member)
    dsse = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse", "KMSMasterKeyID": key},
            "BucketKeyEnabled": False}
    bucket = make_bucket(member, "team-data-21", encryption=dsse)
    rt = runtime(hub, settings_for(member))

    processed = run(bucket_event(SAMPLES[1], member, bucket), "s3-encryption", rt)

    assert processed.outcome == "remediated"
    assert bucket_encryption(member, bucket) == [{**dsse, "BlockedEncryptionTypes": BLOCK_SSE_C}]


def test_a_bucket_that_already_blocks_sse_c_is_compliant_when_the_standard_allows_it(hub: Hub,
                                                                                     member: Member) -> None:
    bucket = make_bucket(member, "team-data-22", encryption=KMS_STANDARD[0])
    rt = runtime(hub, settings_for(member, {"s3-encryption": {"blocked_encryption_types": []}}))
    puts = record_calls(engine_client(rt, member, "s3"), "PutBucketEncryption")

    assert run(bucket_event(SAMPLES[1], member, bucket), "s3-encryption", rt).outcome == "compliant"
    assert puts == []


def cross_region_event(member: Member, bucket: str, endpoint_region: str) -> dict[str, Any]:
    """CreateBucket with a LocationConstraint sent to another region's endpoint is recorded in that region."""
    event = bucket_event(SAMPLES[0], member, bucket)
    event["awsRegion"] = endpoint_region
    event["requestParameters"]["CreateBucketConfiguration"] = {"LocationConstraint": member.region}
    return event


def test_a_region_placeholder_is_filled_with_the_buckets_region_not_the_events(hub: Hub, member: Member) -> None:
    assert member.region == "eu-west-1"
    bucket = make_bucket(member, "team-data-23")
    rt = runtime(hub, settings_for(member, {"s3-encryption": {
        "kms_key": "arn:aws:kms:{region}:{account}:alias/org-s3"}}))
    heads = record_calls(rt.members.client(member.account, "us-east-1", "s3"), "HeadBucket")

    processed = run(cross_region_event(member, bucket, "us-east-1"), "s3-encryption", rt)

    assert processed.outcome == "remediated"
    assert [h["Bucket"] for h in heads] == [bucket]
    [rule] = bucket_encryption(member, bucket) or []
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == \
        f"arn:aws:kms:eu-west-1:{member.account}:alias/org-s3"


def test_a_bucket_meeting_a_regional_key_standard_is_compliant_from_another_regions_event(hub: Hub,
                                                                                         member: Member) -> None:
    key = f"arn:aws:kms:eu-west-1:{member.account}:alias/org-s3"
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
            "BucketKeyEnabled": True, "BlockedEncryptionTypes": BLOCK_SSE_C}
    bucket = make_bucket(member, "team-data-24", encryption=rule)
    rt = runtime(hub, settings_for(member, {"s3-encryption": {
        "kms_key": "arn:aws:kms:{region}:{account}:alias/org-s3"}}))

    assert run(cross_region_event(member, bucket, "us-east-1"), "s3-encryption", rt).outcome == "compliant"
    assert bucket_encryption(member, bucket) == [rule]


@pytest.mark.parametrize("policy", [{}, {"kms_key": "alias/org-s3"}], ids=["no-key", "alias"])
def test_no_head_bucket_without_a_region_placeholder(hub: Hub, member: Member, policy: dict[str, Any]) -> None:
    bucket = make_bucket(member, "team-data-25")
    rt = runtime(hub, settings_for(member, {"s3-encryption": policy}))
    heads = record_calls(engine_client(rt, member, "s3"), "HeadBucket")

    assert run(bucket_event(SAMPLES[0], member, bucket), "s3-encryption", rt).outcome == "remediated"
    assert heads == []


@pytest.mark.parametrize(("blocked", "outcome"), [(BLOCK_SSE_C, "compliant"), (None, "remediated")])
def test_an_elb_log_bucket_tagged_aes256_is_held_to_the_floor(hub: Hub, member: Member,
                                                             blocked: dict[str, Any] | None, outcome: str) -> None:
    aes: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
    if blocked:
        aes["BlockedEncryptionTypes"] = blocked
    bucket = make_bucket(member, "elb-access-logs-1", tags={"orgguard:s3-encryption": "AES256"}, encryption=aes)
    rt = runtime(hub, settings_for(member, {"s3-encryption": {"kms_key": "alias/org-s3"}}))

    event = bucket_event(SAMPLES[1], member, bucket)

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == outcome
    assert "orgguard:s3-encryption=AES256" in hub.event_item(event["eventID"])["summary"]
    assert bucket_encryption(member, bucket) == [{**aes, "BlockedEncryptionTypes": BLOCK_SSE_C}]


def test_a_standard_tag_with_another_value_is_ignored_and_said_so(hub: Hub, member: Member) -> None:
    aes = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False,
           "BlockedEncryptionTypes": BLOCK_SSE_C}
    bucket = make_bucket(member, "elb-access-logs-2", tags={"orgguard:s3-encryption": "none"}, encryption=aes)
    rt = runtime(hub, settings_for(member))

    processed = run(bucket_event(SAMPLES[1], member, bucket), "s3-encryption", rt)

    assert processed.outcome == "remediated"
    assert bucket_encryption(member, bucket) == KMS_STANDARD
    [mail] = hub.mail()
    assert "orgguard:s3-encryption='none' was ignored" in mail.body
