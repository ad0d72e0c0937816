"""Seed a member account of the embedded AWS with the state a replayed API call left behind.

Replay decides from live state, like the real handler, so the resources an event names must exist first,
in the state the call left them, by the seeder the event's guardrail names (``Guardrail.replay``): buckets
(``sandbox.replay.s3``), instances and VPCs (``sandbox.replay.ec2``). moto makes its own ids, so a copy of
the event is returned with its ids rewritten, and notes that say what was rewritten, seeded specially or
could not be rebuilt.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handlers.events import ApiCallEvent
from handlers.registry import policies_for
from handlers.sessions import partition_of
from handlers.settings import Settings
from sandbox.replay.shapes import Seeded, SeedError

__all__ = ["SeedError", "Seeded", "check_region", "seed"]


def check_region(session: Any, service: str, region: str) -> None:
    """moto serves the regions botocore knows; an unknown one (test data like ``ca-south-3r``) would crash it."""
    partition = partition_of(region)
    if region not in session.get_available_regions(service, partition_name=partition):
        raise SeedError(f"{region} is not an {partition} region where {service} exists: nothing can be seeded")


Seeder = Callable[[Any, ApiCallEvent, Settings], Seeded]


def seeders(event: ApiCallEvent) -> list[Seeder]:
    """The seeders the event's guardrails name (``Guardrail.replay``, ``module:function``), each once, in
    registry order: a CreateBucket reaches s3-encryption and s3-public-access, and their seeders each add what
    their guardrail reads (the first creates the bucket; a later one finds it)."""
    named = dict.fromkeys(entry.replay for entry in policies_for(event.event_source, event.event_name)
                          if entry.replay)
    found = []
    for name in named:
        module, _, function = name.partition(":")
        found.append(getattr(importlib.import_module(module), function))
    return found


def seed(session: Any, event: ApiCallEvent, settings: Settings) -> Seeded:
    """Create, in the member account of ``session``, what ``event`` left; return the rewritten record."""
    check_region(session, event.event_source.split(".", 1)[0], event.region)
    chosen = seeders(event)
    if not chosen:
        return Seeded(copy.deepcopy(event.detail),
                      [f"replay does not know what state {event.event_name} leaves: nothing seeded"])
    try:
        # a later seeder sees the original event: only the first may rewrite ids (the S3 seeders rewrite none)
        first = chosen[0](session, event, settings)
        for more in chosen[1:]:
            first.notes.extend(more(session, event, settings).notes)
        return first
    except (ClientError, BotoCoreError) as error:
        raise SeedError(f"the embedded AWS refused to seed {event.event_name}: {' '.join(str(error).split())}") \
            from error
