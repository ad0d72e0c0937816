"""A burst through the sandbox path checked (``test_sandbox_paths``): one delivery per guardrail naming
each event, redeliveries seen as duplicates, every governed event's audit outcome and writes, the member's bucket or
instance fixed, and storm control (``storm_checks``)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from botocore.exceptions import ClientError

from handlers.guardrails.ec2_compliance.settings import Ec2Compliance
from handlers.registry import policies_for

from .load import Burst, LoadEvent, delivered_counts
from .sandbox_world import Sandbox
from .storm_checks import check_storm_control

REQUIRED_TAGS = Ec2Compliance().required_tags


def bucket_fixed(sandbox: Sandbox, clients: dict[Any, Any], account: str, region: str, bucket: str) -> bool:
    key = (account, region, "s3")
    if key not in clients:
        clients[key] = sandbox.member(account, region).client("s3")
    try:
        rule = clients[key].get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    except ClientError:
        return False
    algorithm = rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    return bool(algorithm == "aws:kms" and rule.get("BucketKeyEnabled"))


def instance_fixed(sandbox: Sandbox, clients: dict[Any, Any], account: str, region: str, instance: str,
                   admin_group: str) -> bool:
    key = (account, region, "ec2")
    if key not in clients:
        clients[key] = sandbox.member(account, region).client("ec2")
    described = clients[key].describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
    groups = {g["GroupName"] for g in described.get("SecurityGroups", [])}
    return all(tags.get(k) == v for k, v in REQUIRED_TAGS.items()) and admin_group in groups


def fanout(event: LoadEvent) -> int:
    """How many guardrails the hub's rules deliver the event to."""
    return len(policies_for(str(event.record.get("eventSource", "")), str(event.record.get("eventName", ""))))


def check_burst(sandbox: Sandbox, burst: Burst) -> None:
    deliveries = sandbox.flow.deliveries[burst.first_delivery:]
    assert all(d.succeeded and not d.dead_lettered for d in deliveries), [d.error for d in deliveries if d.error][:5]

    delivered = delivered_counts(sandbox, burst)
    again = Counter(e.event_id for e in burst.redelivered)
    for event in burst.events:  # one delivery per guardrail naming the event (a CreateBucket reaches two)
        expected = (1 + again[event.event_id]) * fanout(event) if event.expected else 0
        assert delivered[event.event_id] == expected, (event.kind, event.event_id, delivered[event.event_id])
    duplicates = [d for d in deliveries if isinstance(d.result, dict) and d.result.get("duplicate")]
    assert len(duplicates) == sum(again[e.event_id] * fanout(e) for e in burst.forwarded)

    admin_group = sandbox.settings.policies.ec2_compliance.admin_security_group.name
    clients: dict[Any, Any] = {}
    audit = sandbox.audit_items()
    for event in burst.events:
        item = audit.get(event.event_id)
        if event.expected is None:
            assert item is None, f"{event.kind} {event.event_id} must not reach the hub"
            continue
        assert item is not None, f"lost: {event.kind} {event.event_id}"
        assert (item["state"], item["outcome"]) == ("done", event.expected), (event.kind, item)
        actions = Counter(a["action"] for a in json.loads(item.get("actions", "[]")))
        assert actions == Counter(event.writes), (event.kind, actions)
        if event.kind == "run-instances":
            assert instance_fixed(sandbox, clients, event.account, event.region, event.resource, admin_group)
        elif event.expected == "remediated":
            assert bucket_fixed(sandbox, clients, event.account, event.region, event.resource)

    check_storm_control(sandbox, burst, audit)
