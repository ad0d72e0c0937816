"""A guardrail registered in a temporary registry is picked up everywhere, from its one module.

``tests/support/fake_guardrail.py`` (SQS queues must be encrypted) is written only against the contract and
named nowhere else. Registered for the test, it is validated in the settings and written into the example
config, forwarded by the spoke and granted in the remediation role, synthesized as a hub rule and Lambda,
e-mailed with its own template, swept and replayed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from commands.example_config import policies_part
from handlers.batch.sweep import sweep_target
from handlers.engine import process
from handlers.registry import registered, remediation_permissions, spoke_forward_pattern
from handlers.sessions import MemberSessions
from handlers.settings import SettingsError
from spoke.render import render_spoke, render_spoke_global
from tests.support.fake_guardrail import GUARDRAIL as FAKE
from tests.support.handlers import Hub, runtime, settings_for
from tests.support.members import Member
from tests.support.moto_env import HUB_REGION

pytestmark = pytest.mark.functional


@pytest.fixture
def fake() -> Iterator[None]:
    with registered(FAKE):
        yield


def unencrypted_queue(member: Member, name: str) -> str:
    sqs = member.client("sqs")
    return str(sqs.create_queue(QueueName=name, Attributes={"SqsManagedSseEnabled": "false"})["QueueUrl"])


def encrypted(member: Member, url: str) -> bool:
    attributes = member.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["SqsManagedSseEnabled"])
    return attributes["Attributes"]["SqsManagedSseEnabled"] == "true"


def create_queue_event(member: Member, url: str) -> dict[str, Any]:
    return {"version": "0", "id": "e-fake-1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.sqs",
            "account": member.account, "region": member.region, "time": "2030-01-15T10:00:00Z",
            "detail": {"eventVersion": "1.08", "eventSource": "sqs.amazonaws.com", "eventName": "CreateQueue",
                       "eventID": "fake-create-queue-1", "eventTime": "2030-01-15T10:00:00Z",
                       "awsRegion": member.region, "recipientAccountId": member.account,
                       "userIdentity": {"type": "AssumedRole", "accountId": member.account,
                                        "arn": f"arn:aws:sts::{member.account}:assumed-role/Dev/dana"},
                       "requestParameters": {"queueName": url.rpartition("/")[2]},
                       "responseElements": {"queueUrl": url}}}


def test_its_settings_section_is_validated_and_in_the_example(fake: None, member: Member) -> None:
    settings = settings_for(member, {"sqs-encryption": {"mode": "report", "allow_unencrypted_prefix": "tmp-"}})
    assert settings.policies.mode("sqs-encryption") == "report"
    assert settings.policies.sqs_encryption.allow_unencrypted_prefix == "tmp-"
    with pytest.raises(SettingsError) as raised:
        settings_for(member, {"sqs-encryption": {"mode": "sometimes", "colour": "red"}})
    assert any(p.startswith("policies.sqs-encryption.mode") for p in raised.value.problems)
    assert any(p.startswith("policies.sqs-encryption.colour: unknown key") for p in raised.value.problems)
    assert '[policies.sqs-encryption]\n# Every queue has server-side encryption.\nmode = "enforce"' in policies_part()
    assert json.loads(settings.to_json())["policies"]["sqs-encryption"]["mode"] == "report"


def test_the_spoke_forwards_its_events_and_the_role_may_do_its_writes(fake: None, member: Member) -> None:
    pattern = spoke_forward_pattern()
    assert {"eventSource": ["sqs.amazonaws.com"], "eventName": ["CreateQueue", "SetQueueAttributes"]} in \
        pattern["detail"]["$or"]
    granted = {p.action: p.resources for p in remediation_permissions()}
    assert granted["sqs:SetQueueAttributes"] == (FAKE.permissions[2].resources)
    settings = settings_for(member)
    assert "sqs.amazonaws.com" in render_spoke(settings)
    assert "sqs:SetQueueAttributes" in render_spoke_global(settings)


def test_an_event_is_decided_fixed_recorded_and_emailed_with_its_template(fake: None, hub: Hub,
                                                                           member: Member) -> None:
    url = unencrypted_queue(member, "orders")
    rt = runtime(hub, settings_for(member))

    processed = process(create_queue_event(member, url), FAKE, rt)

    assert (processed.outcome, processed.resource) == ("remediated", url)
    assert encrypted(member, url)
    assert hub.event_item("fake-create-queue-1")["outcome"] == "remediated"
    [mail] = hub.mail()
    assert mail.subject.endswith(": queue orders encryption fixed")
    assert "turned on SSE-SQS" in mail.body and mail.attributes["policy"] == "sqs-encryption"


def test_the_sweep_finds_and_fixes_every_queue(fake: None, hub: Hub, member: Member) -> None:
    loose, kept = unencrypted_queue(member, "loose"), unencrypted_queue(member, "tmp-scratch")
    settings = settings_for(member, {"sqs-encryption": {"allow_unencrypted_prefix": "tmp-"}})
    clients = MemberSessions(boto3.Session(region_name=HUB_REGION)).across_regions(HUB_REGION)

    result = sweep_target(clients, settings, member.account, member.region, ["sqs-encryption"], fix=True)

    found = {f.resource: f for f in result.findings}
    assert (found[loose].outcome, found[kept].outcome) == ("remediated", "exempt")
    assert [a["action"] for a in found[loose].actions] == ["sqs:SetQueueAttributes"]
    assert encrypted(member, loose) and not encrypted(member, kept)
