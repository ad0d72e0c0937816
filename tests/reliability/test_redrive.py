"""``orgguard redrive`` on moto: what a dead letter holds, where it is routed, and that a message leaves its
queue only once it ended in an outcome. The whole story through the sandbox is in ``test_sandbox_paths.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from commands import redrive as command
from commands.common import UserError
from commands.redrive_messages import route, unwrap
from handlers import outcome as oc
from handlers.modes import report_only
from handlers.registry import policies_for, policy_ids
from tests.support.world import HUB_REGION, MEMBER_ACCOUNT, MEMBER_REGION, TABLE_NAME, TOPIC_NAME, World, settings

from . import samples
from .scenarios import build


def failure_record(event: dict[str, Any], function: str) -> dict[str, Any]:
    """The record Lambda sends to an on-failure destination (documented format)."""
    return {"version": "1.0", "timestamp": "2024-05-01T12:03:00.000Z",
            "requestContext": {"requestId": "5a4c1f0e", "functionArn": f"arn:aws:lambda:us-east-1:123456789012:"
                                                                       f"function:{function}:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": event, "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                                         "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "ServiceUnavailable", "errorType": "ClientError"}}


def test_a_rule_dlq_message_is_the_event_and_a_failure_record_carries_it() -> None:
    event = samples.bucket_call(samples.CREATE_BUCKET, MEMBER_ACCOUNT, MEMBER_REGION, "a-bucket")
    direct = unwrap(json.dumps(event))
    wrapped = unwrap(json.dumps(failure_record(event, "orgguard-s3-encryption")))
    assert (direct.kind, direct.payload) == ("event", event)
    assert (wrapped.kind, wrapped.payload) == ("lambda-failure", event)
    # the rule's event reaches every guardrail that names it; the failure record only the function that failed
    assert [p.id for p in route(direct)] == [p.id for p in policies_for("s3.amazonaws.com", "CreateBucket")]
    assert [p.id for p in route(wrapped)] == ["s3-encryption"]
    assert unwrap("not json").kind == "unknown"


def test_an_event_no_policy_names_is_routed_by_the_function_that_failed() -> None:
    odd = {"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": None}}
    for policy in policy_ids():
        routed = route(unwrap(json.dumps(failure_record(odd, f"orgguard-{policy}"))))
        assert [p.id for p in routed] == [policy]
    assert route(unwrap(json.dumps({"account": MEMBER_ACCOUNT, "region": "eu-west-1"}))) == ()


def test_a_dry_run_only_reports() -> None:
    base = settings(policies={"vpc-created": {"mode": "off"}})
    dry = report_only(base)
    assert dry.policies.mode("s3-encryption") == dry.policies.mode("ec2-compliance") == "report"
    assert dry.policies.mode("vpc-created") == "off"
    assert dry.organization == base.organization


def queue(world: World, name: str, *bodies: Any) -> str:
    sqs = world.admin.client("sqs", region_name=HUB_REGION)
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body))
    return url


def test_without_the_hub_stack_the_queues_must_be_named(world: World) -> None:
    with pytest.raises(UserError, match="name the queues with --queue"):
        command.redrive(world.admin, settings(), [])
    with pytest.raises(UserError, match="no such queue"):
        command.redrive(world.admin, settings(), ["orgguard-nowhere-dlq"])


def test_messages_leave_only_with_an_outcome_and_replays_are_duplicates(world: World) -> None:
    config = settings(hub={"table_name": TABLE_NAME, "topic_name": TOPIC_NAME})
    bucket = build("s3-encryption", world.member)
    event = bucket.payload(None)
    url = queue(world, "orgguard-s3-encryption-failures", failure_record(event, "orgguard-s3-encryption"),
                "a message that is not an event", event)

    dry = command.redrive(world.admin, config, [url], dry_run=True)
    assert [r.deleted for r in dry.replays] == [False, False, False] and bucket.untouched()

    report = command.redrive(world.admin, config, [url])
    by_kind = {r.kind: r for r in report.replays}
    # a hub queue belongs to one guardrail (its name says which): what it holds goes back to that one only, the
    # others had their own delivery (a CreateBucket in s3-encryption's queue does not reach s3-public-access)
    assert by_kind["lambda-failure"].outcome == oc.REMEDIATED
    assert by_kind["event"].outcome == oc.skipped("duplicate") and by_kind["event"].policy == "s3-encryption"
    assert by_kind["event"].deleted and by_kind["lambda-failure"].deleted and not by_kind["unknown"].deleted
    assert bucket.fixed() and len(world.mail()) == 1

    again = command.redrive(world.admin, config, [url])
    assert [(r.kind, r.deleted) for r in again.replays] == [("unknown", False)], "only the non-event is left"
