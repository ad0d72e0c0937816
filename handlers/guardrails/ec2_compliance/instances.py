"""An instance as EC2 shows it (interfaces, groups, tags), read with one DescribeInstances."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from handlers.errors import error_code
from handlers.exemptions import tags_to_dict

GONE_STATES = ("shutting-down", "terminated")
LIVE_STATES = ("pending", "running", "stopping", "stopped")
NOT_FOUND = "InvalidInstanceID.NotFound"


@dataclass(frozen=True)
class Interface:
    eni_id: str
    device_index: int
    groups: tuple[str, ...]
    network_card_index: int = 0

    @property
    def primary(self) -> bool:
        return self.network_card_index == 0 and self.device_index == 0


@dataclass(frozen=True)
class Instance:
    instance_id: str
    state: str
    vpc_id: str
    tags: dict[str, str]
    interfaces: tuple[Interface, ...]
    groups: tuple[str, ...]
    launched: str = ""  # LaunchTime, ISO 8601 UTC ("" when EC2 did not say)

    @property
    def primary_interface(self) -> Interface | None:
        return next((i for i in self.interfaces if i.primary), None)

    @property
    def primary_groups(self) -> tuple[str, ...]:
        primary = self.primary_interface
        return primary.groups if primary is not None else self.groups

    @property
    def counted_tags(self) -> int:
        """Tags that count against the 50-tag limit."""
        return sum(1 for key in self.tags if not key.lower().startswith("aws:"))


def parse_instance(raw: dict[str, Any]) -> Instance:
    interfaces = tuple(
        Interface(
            eni_id=eni.get("NetworkInterfaceId", ""),
            device_index=int((eni.get("Attachment") or {}).get("DeviceIndex", 0)),
            groups=tuple(g["GroupId"] for g in eni.get("Groups", []) if g.get("GroupId")),
            network_card_index=int((eni.get("Attachment") or {}).get("NetworkCardIndex", 0) or 0),
        )
        for eni in raw.get("NetworkInterfaces", [])
    )
    return Instance(
        instance_id=raw["InstanceId"],
        state=(raw.get("State") or {}).get("Name", ""),
        vpc_id=raw.get("VpcId", ""),
        tags=tags_to_dict(raw.get("Tags")),
        interfaces=interfaces,
        groups=tuple(g["GroupId"] for g in raw.get("SecurityGroups", []) if g.get("GroupId")),
        launched=_iso(raw.get("LaunchTime")),
    )


def _iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value if isinstance(value, str) else ""


def event_age(event_time: str, now: float) -> float | None:
    """Seconds since ``event_time`` (ISO 8601, UTC); None when it cannot be read."""
    try:
        when = dt.datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return now - when.timestamp()


def read_instances(ec2: Any, instance_ids: list[str]) -> dict[str, Instance]:
    """Live state of the instances EC2 shows (one call; per id only if some id is unknown)."""
    try:
        pages = [ec2.describe_instances(InstanceIds=instance_ids)]
    except ClientError as error:
        if error_code(error) not in (NOT_FOUND, "InvalidInstanceID.Malformed"):
            raise
        if len(instance_ids) == 1:
            return {}
        found: dict[str, Instance] = {}
        for instance_id in instance_ids:
            found.update(read_instances(ec2, [instance_id]))
        return found
    instances = {}
    for page in pages:
        for reservation in page.get("Reservations", []):
            for raw in reservation.get("Instances", []):
                instance = parse_instance(raw)
                instances[instance.instance_id] = instance
    return instances


