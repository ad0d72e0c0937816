"""s3-encryption on moto when delivery and AWS misbehave: duplicate deliveries act and mail once, a bucket
deleted first is gone, throttling and server errors are retried without acting twice, a failed notification is
retried alone, access denied is a recorded failure, and OrgGuard's own calls, failed calls and ungoverned sources
are skipped."""

from __future__ import annotations

import pytest

from handlers.audit import event_key
from tests.support.events import bucket_event
from tests.support.handlers import Hub, engine_client, fail_calls, record_calls, run, runtime, settings_for
from tests.support.members import Member, bucket_encryption, make_bucket
from tests.support.s3_encryption import KMS_STANDARD, SAMPLES


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
