"""Loops: OrgGuard's own writes produce CloudTrail events; they are neither forwarded nor acted on, and no two
guardrails can ping-pong.

- the spoke's pattern (``spoke_forward_pattern``, matched by moto's EventBridge) drops every write OrgGuard
  makes, and still forwards the same call made by a person;
- the engine's gate skips OrgGuard's own calls for every policy (``skipped:own-remediation``), before
  touching the member account;
- from the registry: no policy reacts to a call another policy makes to remediate; the one call a policy
  both makes and reacts to (``PutBucketEncryption``) is guarded, and is a fixed point even unguarded.
The same end to end through the sandbox is in ``test_sandbox_paths.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import outcome as oc
from handlers.audit import event_key
from handlers.engine import Processed
from handlers.guardrails.base import Guardrail
from handlers.registry import (
    POLICIES,
    POLICIES_BY_ID,
    record_key_suffix,
    remediation_permissions,
    spoke_forward_pattern,
)
from tests.support.world import MEMBER_ACCOUNT, MEMBER_REGION, World

from . import samples
from .scenarios import build

SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
# The API calls (CloudTrail event names) each write permission of the registry allows, from the Service
# Authorization Reference; read-only permissions (Describe*, Get*, List*) are listed with their prefix.
WRITE_CALLS: dict[str, tuple[tuple[str, ...], str]] = {
    "s3:PutEncryptionConfiguration": (("PutBucketEncryption", "DeleteBucketEncryption"), SAR + "list_amazons3.html"),
    "ec2:CreateTags": (("CreateTags",), SAR + "list_amazonec2.html"),
    "ec2:ModifyInstanceAttribute": (("ModifyInstanceAttribute",), SAR + "list_amazonec2.html"),
    "ec2:ModifyNetworkInterfaceAttribute": (("ModifyNetworkInterfaceAttribute",), SAR + "list_amazonec2.html"),
    "s3:PutBucketPublicAccessBlock": (("PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock"),
                                      SAR + "list_amazons3.html"),
}
# CloudTrail's event name where it is not the API operation's
EVENT_NAME = {"PutPublicAccessBlock": "PutBucketPublicAccessBlock",
              "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock"}
READ_PREFIXES = ("Describe", "Get", "List")
SOURCE = {"s3": "s3.amazonaws.com", "ec2": "ec2.amazonaws.com"}
# Calls a policy may make and also reacts to: its own are skipped by the loop guard (spoke and engine), and
# PutBucketEncryption is a fixed point besides. DeleteBucketEncryption is allowed by the same IAM action
# (s3:PutEncryptionConfiguration) but OrgGuard never calls it (test_the_engine_writes_only_...).
GUARDED_SELF_CALLS = {("s3-encryption", "PutBucketEncryption"), ("s3-encryption", "DeleteBucketEncryption"),
                      ("s3-public-access", "PutBucketPublicAccessBlock"),
                      ("s3-public-access", "DeleteBucketPublicAccessBlock")}
NEVER_CALLED = {"DeleteBucketEncryption", "DeleteBucketPublicAccessBlock"}


def writes_of(policy: Guardrail) -> list[tuple[str, str]]:
    """(event source, event name) of every call the policy's remediation may make."""
    calls = []
    for permission in policy.permissions:
        if permission.action.split(":", 1)[1].startswith(READ_PREFIXES):
            continue
        names, _ = WRITE_CALLS[permission.action]
        calls += [(SOURCE[permission.action.split(":", 1)[0]], name) for name in names]
    return calls


def test_every_write_permission_is_classified() -> None:
    for permission in remediation_permissions():
        name = permission.action.split(":", 1)[1]
        assert name.startswith(READ_PREFIXES) or permission.action in WRITE_CALLS, permission.action


def test_no_policy_reacts_to_reads() -> None:
    for policy in POLICIES:
        assert not [n for n in policy.event_names if n.startswith(READ_PREFIXES)], policy.id


@pytest.mark.parametrize("maker", POLICIES, ids=lambda p: p.id)
def test_no_policy_reacts_to_another_policys_remediation(maker: Guardrail) -> None:
    for source, name in writes_of(maker):
        for reactor in POLICIES:
            reacts = reactor.event_source == source and name in reactor.event_names
            if reactor.id != maker.id:
                assert not reacts, f"{reactor.id} reacts to {name}, which {maker.id} makes: a ping-pong"
            elif reacts:
                assert (maker.id, name) in GUARDED_SELF_CALLS, f"{maker.id} reacts to its own {name}"


# --- the spoke's pattern, as EventBridge matches it ---------------------------------------------------------


def own_write_records(world: World) -> dict[str, dict[str, Any]]:
    """What CloudTrail records for each kind of write OrgGuard makes (real records, as the remediation role)."""
    relative = {"PutBucketEncryption": samples.PUT_BUCKET_ENCRYPTION, "CreateTags": samples.CREATE_TAGS,
                "ModifyInstanceAttribute": samples.MODIFY_INSTANCE_ATTRIBUTE}
    return {name: samples.as_own_remediation({"detail": samples.retarget(path, MEMBER_ACCOUNT, MEMBER_REGION)})
            ["detail"] for name, path in relative.items()}


def forwarded_by_spoke(world: World, records: list[dict[str, Any]]) -> set[str]:
    """Event ids the spoke's rule forwards, put on a member's default bus and matched by moto's EventBridge."""
    events = world.member.client("events")
    sqs = world.member.client("sqs")
    queue = sqs.create_queue(QueueName="spoke-forwarded")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="orgguard-forward", EventPattern=json.dumps(spoke_forward_pattern()), State="ENABLED")
    events.put_targets(Rule="orgguard-forward", Targets=[{"Id": "hub", "Arn": arn}])
    entries = [{"Source": "aws." + r["eventSource"].split(".")[0], "DetailType": "AWS API Call via CloudTrail",
                "Detail": json.dumps(r)} for r in records]
    assert not events.put_events(Entries=entries)["FailedEntryCount"]
    found = set()
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            found.add(json.loads(message["Body"])["detail"]["eventID"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_the_spoke_forwards_no_write_of_orgguard_but_the_same_call_by_a_person(world: World) -> None:
    own = own_write_records(world)
    person = samples.retarget(samples.PUT_BUCKET_ENCRYPTION, MEMBER_ACCOUNT, MEMBER_REGION)
    forwarded = forwarded_by_spoke(world, [*own.values(), person])
    assert forwarded == {person["eventID"]}


# --- the engine's gate ------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_the_engine_skips_orgguards_own_calls_before_touching_the_member(world: World, policy: Guardrail) -> None:
    scenario = build(policy.id, world.member)
    for name in policy.event_names:
        payload = scenario.payload(None)
        payload["detail"]["eventName"] = name
        own = samples.as_own_remediation(payload)
        result = world.deliver(own, policy.id, world.runtime())
        assert isinstance(result, Processed) and result.outcome == oc.skipped("own-remediation"), result
        item = world.audit().get(event_key(result.event_id, record_key_suffix(policy, policy.event_source, name)))
        assert item is not None and item["outcome"] == oc.skipped("own-remediation")
    assert not world.injector.successes("sts", "AssumeRole"), "the member was not even entered"
    assert scenario.untouched() and not world.mail()


def test_a_remediation_is_a_fixed_point_even_without_the_guard(world: World) -> None:
    """Were the loop guard gone, OrgGuard's PutBucketEncryption would find the bucket compliant: no ping-pong."""
    scenario = build("s3-encryption", world.member)
    rt = world.runtime()
    first = world.deliver(scenario.payload(None), "s3-encryption", rt)
    assert isinstance(first, Processed) and first.outcome == oc.REMEDIATED
    as_a_person = samples.bucket_call(samples.PUT_BUCKET_ENCRYPTION, MEMBER_ACCOUNT, MEMBER_REGION, scenario.resource)
    again = world.deliver(as_a_person, "s3-encryption", rt)
    assert isinstance(again, Processed) and again.outcome == oc.COMPLIANT
    assert len(world.injector.successes("s3", "PutBucketEncryption")) == 1
    assert len(world.mail()) == 1


def test_the_engine_writes_only_what_the_registry_declares(world: World) -> None:
    declared_calls = {name for action, (names, _) in WRITE_CALLS.items()
                      for name in names if action in {p.action for p in remediation_permissions()}}
    for policy in POLICIES_BY_ID:
        scenario = build(policy, world.member)
        result = world.deliver(scenario.payload(None), policy, world.runtime())
        assert isinstance(result, Processed)
        for action in result.actions:
            operation = action["action"].split(":", 1)[1]
            assert EVENT_NAME.get(operation, operation) in declared_calls, action["action"]
    written = {EVENT_NAME.get(c.operation, c.operation) for c in world.injector.calls if c.succeeded and
               not c.operation.startswith(READ_PREFIXES) and c.service in SOURCE}
    assert written and written <= declared_calls - NEVER_CALLED
