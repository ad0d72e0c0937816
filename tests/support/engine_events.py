"""The engine tests' events: the real PutBucketEncryption and RunInstances records they use, and a
RunInstances event for instances launched in the member account."""

from __future__ import annotations

from typing import Any

from tests.support.events import run_instances_event
from tests.support.handlers import Hub
from tests.support.members import Member, launch, make_network

BUCKET_SAMPLE = "records/panther__PutBucketEncryption__1.json"
EC2_SAMPLE = "records/spotlight__RunInstances__1.json"


def ec2_event(hub: Hub, member: Member) -> tuple[dict[str, Any], list[str]]:
    net = make_network(member)
    ids = launch(member, net)
    return run_instances_event(EC2_SAMPLE, member, ids, net), ids
