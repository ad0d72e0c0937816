"""A guardrail from a temporary registry is replayed like the others: its own seeder builds the queue the
event created, in the member account of the strict embedded AWS, and the decision fixes it."""

from __future__ import annotations

import contextlib

import pytest

from commands.replay import REPLAY_STRICTNESS
from handlers.registry import registered
from handlers.settings import load
from sandbox.aws.server import embedded_aws
from sandbox.replay.org import ACCESS_ROLE, role_session
from sandbox.replay.run import Replayer
from tests.support.fake_guardrail import GUARDRAIL as FAKE

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

ACCOUNT, REGION = "444444444444", "eu-west-1"


def create_queue_record() -> dict[str, object]:
    return {"eventVersion": "1.08", "eventSource": "sqs.amazonaws.com", "eventName": "CreateQueue",
            "eventID": "fake-replay-1", "eventTime": "2030-01-15T10:00:00Z", "awsRegion": REGION,
            "recipientAccountId": ACCOUNT,
            "userIdentity": {"type": "AssumedRole", "accountId": ACCOUNT,
                             "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/dana",
                             "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/Dev"}}},
            "requestParameters": {"queueName": "invoices"},
            "responseElements": {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/invoices"}}


def test_replay_seeds_with_the_guardrails_own_seeder_and_fixes_the_queue() -> None:
    with registered(FAKE):
        settings = load(None)
        with (embedded_aws(settings.organization.hub_region, REPLAY_STRICTNESS) as aws,
              contextlib.closing(Replayer(aws, settings)) as replayer):
            replayed = replayer.replay("test", create_queue_record())
            sqs = role_session(aws.session(), ACCOUNT, ACCESS_ROLE, REGION).client("sqs")
            [url] = sqs.list_queues()["QueueUrls"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["SqsManagedSseEnabled"])
    assert not replayed.error, replayed.error
    assert replayed.record["policy"] == "sqs-encryption" and replayed.record["outcome"] == "remediated"
    assert "seeded without encryption" in str(replayed.record.get("note", ""))
    assert attributes["Attributes"]["SqsManagedSseEnabled"] == "true"
    assert replayed.notification is not None and "queue invoices" in replayed.notification[0]
