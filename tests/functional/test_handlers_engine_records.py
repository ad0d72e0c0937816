"""The engine's claim and final record, on moto: an event claimed by a live invocation is left to it, a
failed final record is carried so the retry records the fix and mails once, an unconfirmed or failed e-mail is
recorded (and a failed one sent by the retry), and the claim lease is the function timeout plus a margin."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from handlers import engine
from handlers.audit import AuditLog, ClaimStatus, InFlight, event_key
from handlers.contract import ENV_AUDIT_TABLE, ENV_SETTINGS, ENV_TOPIC_ARN
from tests.support.engine_events import BUCKET_SAMPLE, ec2_event
from tests.support.events import bucket_event
from tests.support.handlers import Hub, fail_calls, run, runtime, settings_for
from tests.support.members import Member, bucket_encryption, make_bucket
from tests.support.moto_env import TABLE_NAME, client_error


def test_an_event_claimed_by_a_live_invocation_is_left_to_it(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "in-flight-1")
    event = bucket_event(BUCKET_SAMPLE, member, bucket)
    assert hub.audit_log().claim(event_key(event["eventID"]), {"policy": "s3-encryption"}).status is ClaimStatus.NEW
    rt = runtime(hub, settings_for(member))

    with pytest.raises(InFlight):
        run(event, "s3-encryption", rt)
    assert bucket_encryption(member, bucket) is None

    # The first invocation died: once its lease is over, a retry takes the event and finishes it.
    rt.audit = AuditLog(hub.dynamodb, TABLE_NAME, clock=lambda: time.time() + 3600)
    assert run(event, "s3-encryption", rt).outcome == "remediated"
    assert hub.event_item(event["eventID"])["state"] == "done"


def fail_nth_call(events: Any, service: str, operation: str, code: str, nth: set[int],
                  key_prefix: str = "") -> dict[str, int]:
    """Fail the calls of ``operation`` whose number (from 1) is in ``nth``, as if botocore had given up;
    with ``key_prefix``, only DynamoDB calls on items whose key starts with it count (not the storm windows')."""
    seen = {"n": 0}

    def hook(params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params.get("body") or b"{}")  # the serialized request
        if key_prefix and not body.get("Key", {}).get("pk", {}).get("S", "").startswith(key_prefix):
            return
        seen["n"] += 1
        if seen["n"] in nth:
            raise client_error(code, operation, 400)

    events.register(f"before-call.{service}.{operation}", hook)
    return seen


def test_a_failed_final_record_is_carried_so_the_retry_records_the_fix_and_mails_once(hub: Hub,
                                                                                      member: Member) -> None:
    event, ids = ec2_event(hub, member)
    rt = runtime(hub, settings_for(member))
    fail_nth_call(hub.dynamodb.meta.events, "dynamodb", "UpdateItem", "ProvisionedThroughputExceededException", {1},
                  key_prefix="event#")

    with pytest.raises(Exception, match="ProvisionedThroughputExceeded"):
        run(event, "ec2-compliance", rt)
    claim = hub.event_item(event["eventID"])
    assert (claim["state"], claim["lease_until"]) == ("claimed", 0)
    assert json.loads(claim["carried_result"])["outcome"] == "remediated"
    assert hub.mail() == []  # the record is written before the e-mail: nothing went out

    retry = run(event, "ec2-compliance", rt)

    assert (retry.outcome, retry.notified) == ("remediated", True)
    item = hub.event_item(event["eventID"])
    assert (item["outcome"], item["state"], item["notification"]) == ("remediated", "done", "sent")
    assert {a["action"] for a in json.loads(item["actions"])} == {"ec2:CreateTags", "ec2:ModifyInstanceAttribute"}
    assert "carried_result" not in item
    [mail] = hub.mail()
    assert ids[0] in mail.body and mail.attributes["outcome"] == "remediated"
    assert run(event, "ec2-compliance", rt).outcome == "skipped:duplicate"


def test_an_unconfirmed_e_mail_is_not_sent_again_and_the_record_says_so(hub: Hub, member: Member) -> None:
    event, _ = ec2_event(hub, member)
    rt = runtime(hub, settings_for(member))
    fail_nth_call(hub.dynamodb.meta.events, "dynamodb", "UpdateItem", "ProvisionedThroughputExceededException", {2},
                  key_prefix="event#")

    with pytest.raises(Exception, match="ProvisionedThroughputExceeded"):
        run(event, "ec2-compliance", rt)  # published, then the confirmation failed
    assert hub.event_item(event["eventID"])["notification"] == "pending"

    retry = run(event, "ec2-compliance", rt)

    assert (retry.outcome, retry.notified) == ("remediated", False) and "may not have been sent" in retry.reason
    item = hub.event_item(event["eventID"])
    assert (item["state"], item["notification"], item["outcome"]) == ("done", "unknown", "remediated")
    assert "may not have been sent" in item["notification_note"]
    assert len(hub.mail()) == 1  # at most once


def test_a_failed_publish_is_recorded_and_sent_by_the_retry(hub: Hub, member: Member) -> None:
    event, _ = ec2_event(hub, member)
    rt = runtime(hub, settings_for(member))
    fail_calls(hub.sns.meta.events, "sns", "Publish", "InternalError", times=1, status=500)

    with pytest.raises(Exception, match="InternalError"):
        run(event, "ec2-compliance", rt)
    item = hub.event_item(event["eventID"])
    assert (item["state"], item["notification"], item["notified"]) == ("acted", "failed", False)

    retry = run(event, "ec2-compliance", rt)

    assert (retry.outcome, retry.notified) == ("remediated", True)
    assert hub.event_item(event["eventID"])["notification"] == "sent"
    assert len(hub.mail()) == 1


def test_the_claim_lease_is_the_function_timeout_plus_a_margin(hub: Hub, member: Member,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(member, hub={"lambda_timeout_seconds": 60})
    monkeypatch.setenv(ENV_SETTINGS, settings.to_json())
    monkeypatch.setenv(ENV_AUDIT_TABLE, TABLE_NAME)
    monkeypatch.setenv(ENV_TOPIC_ARN, hub.topic_arn)
    built = engine.runtime_from_environment()
    assert built.audit is not None and built.audit.lease_seconds == 60 + 30

    # A crashed invocation (it ran into its 60 s timeout) holds the claim; Lambda's first retry comes about a
    # minute later and must be able to take the event over.
    event, _ = ec2_event(hub, member)
    started = time.time()
    crashed = AuditLog(hub.dynamodb, TABLE_NAME, clock=lambda: started, lease_seconds=built.audit.lease_seconds)
    assert crashed.claim(event_key(event["eventID"]), {"policy": "ec2-compliance"}).status is ClaimStatus.NEW
    rt = runtime(hub, settings)
    rt.audit = AuditLog(hub.dynamodb, TABLE_NAME, clock=lambda: started + 60 + 60,
                        lease_seconds=built.audit.lease_seconds)
    assert run(event, "ec2-compliance", rt).outcome == "remediated"
