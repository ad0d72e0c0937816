"""Real CloudTrail samples from tests/events, pointed at a member account."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from .members import Member, Network

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


def load_event(relative: str) -> dict[str, Any]:
    """A real sample from tests/events (``records/...`` bare record, ``wrapped/...`` EventBridge envelope)."""
    return dict(json.loads((EVENTS_DIR / relative).read_text()))


def retarget(payload: dict[str, Any], member: Member, event_id: str | None = None) -> dict[str, Any]:
    """Point a real record at the member account and region, with a fresh event id.

    The record's own account id is replaced everywhere (actor ARNs included), so the actor reads as a
    principal of the member account.
    """
    detail = payload.get("detail", payload)
    original = detail.get("recipientAccountId") or detail["userIdentity"]["accountId"]
    text = json.dumps(payload).replace(original, member.account)
    result = json.loads(text)
    record = result.get("detail", result)
    record["recipientAccountId"] = member.account
    record["awsRegion"] = member.region
    record["eventID"] = event_id or str(uuid.uuid4())
    if "detail" in result:
        result["account"], result["region"] = member.account, member.region
    return dict(result)


def bucket_event(relative: str, member: Member, bucket: str, event_id: str | None = None) -> dict[str, Any]:
    payload = retarget(load_event(relative), member, event_id)
    record = payload.get("detail", payload)
    record["requestParameters"]["bucketName"] = bucket
    return payload


def vpc_event(relative: str, member: Member, vpc_id: str, cidr: str, event_id: str | None = None) -> dict[str, Any]:
    payload = retarget(load_event(relative), member, event_id)
    record = payload.get("detail", payload)
    record["requestParameters"]["cidrBlock"] = cidr
    vpc = record["responseElements"]["vpc"]
    vpc.update(vpcId=vpc_id, cidrBlock=cidr, ownerId=member.account)
    for association in vpc["cidrBlockAssociationSet"]["items"]:
        association["cidrBlock"] = cidr
    return payload


def run_instances_event(relative: str, member: Member, instance_ids: list[str], network: Network,
                        event_id: str | None = None) -> dict[str, Any]:
    """The record's instancesSet, one item per instance id (extra items copy the record's first one)."""
    payload = retarget(load_event(relative), member, event_id)
    record = payload.get("detail", payload)
    items = record["responseElements"]["instancesSet"]["items"]
    template = items[0]
    new_items = []
    for index, instance_id in enumerate(instance_ids):
        item = copy.deepcopy(items[index] if index < len(items) else template)
        item.update(instanceId=instance_id, vpcId=network.vpc_id, subnetId=network.subnet_id)
        new_items.append(item)
    record["responseElements"]["instancesSet"]["items"] = new_items
    return payload
