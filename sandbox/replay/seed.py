"""Seed a member account of the embedded AWS with the state a replayed API call left behind.

Replay decides from live state, like the real handler, so the resources an event names must exist first,
in the state the call left them: buckets (``sandbox.replay.s3``), instances and VPCs
(``sandbox.replay.ec2``). moto makes its own ids, so a copy of the event is returned with its ids
rewritten, and notes that say what was rewritten, seeded specially or could not be rebuilt.
"""

from __future__ import annotations

import copy
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handlers.events import ApiCallEvent
from handlers.sessions import partition_of
from handlers.settings import Settings
from sandbox.replay.ec2 import seed_instances, seed_vpc
from sandbox.replay.s3 import seed_bucket
from sandbox.replay.shapes import Seeded, SeedError

__all__ = ["SeedError", "Seeded", "check_region", "seed"]


def check_region(session: Any, service: str, region: str) -> None:
    """moto serves the regions botocore knows; an unknown one (test data like ``ca-south-3r``) would crash it."""
    partition = partition_of(region)
    if region not in session.get_available_regions(service, partition_name=partition):
        raise SeedError(f"{region} is not an {partition} region where {service} exists: nothing can be seeded")


def seed(session: Any, event: ApiCallEvent, settings: Settings) -> Seeded:
    """Create, in the member account of ``session``, what ``event`` left; return the rewritten record."""
    name, detail = event.event_name, event.detail
    check_region(session, event.event_source.split(".", 1)[0], event.region)
    try:
        if event.event_source == "s3.amazonaws.com" and name in (
                "CreateBucket", "PutBucketEncryption", "DeleteBucketEncryption"):
            s3 = session.client("s3", region_name=event.region)
            return Seeded(copy.deepcopy(detail), seed_bucket(s3, detail, name, event.region))
        if event.event_source == "ec2.amazonaws.com" and name == "RunInstances":
            return seed_instances(session.client("ec2", region_name=event.region), detail, event, settings)
        if event.event_source == "ec2.amazonaws.com" and name == "CreateVpc":
            return seed_vpc(session.client("ec2", region_name=event.region), detail)
    except (ClientError, BotoCoreError) as error:
        raise SeedError(f"the embedded AWS refused to seed {name}: {' '.join(str(error).split())}") from error
    return Seeded(copy.deepcopy(detail), [f"replay does not know what state {name} leaves: nothing seeded"])
