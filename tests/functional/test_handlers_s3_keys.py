"""s3-encryption on moto with keys and regions: a bucket keeps its own KMS key and its dual-layer
encryption, one already blocking SSE-C is compliant, a region placeholder in the key is the bucket's region (read
with HeadBucket only when needed), and the standard tags (an ELB log bucket held to AES256) are honoured or
ignored with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.events import bucket_event
from tests.support.handlers import Hub, engine_client, record_calls, run, runtime, settings_for
from tests.support.members import Member, bucket_encryption, make_bucket
from tests.support.s3_encryption import BLOCK_SSE_C, KMS_STANDARD, SAMPLES


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
