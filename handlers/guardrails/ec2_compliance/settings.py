"""The ``[policies.ec2-compliance]`` section: the tags every instance carries and how to find the admin group."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from handlers.settings_checks import MODES, TAG_KEY_RE, Checker

SG_ID_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")
ADMIN_GROUP_KEY_RE = re.compile(r"^\d{12}/[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d/vpc-[0-9a-f]{8,17}$")


@dataclass(frozen=True)
class AdminSecurityGroup:
    name: str = ""
    tag: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # "ACCOUNT/REGION/vpc-..." -> sg id

    def explicit(self, account: str, region: str, vpc_id: str) -> str | None:
        """A group id named for this VPC: a security group belongs to one VPC in one region."""
        return self.ids.get(f"{account}/{region}/{vpc_id}")


@dataclass(frozen=True)
class Ec2Compliance:
    mode: str = "enforce"
    required_tags: dict[str, str] = field(default_factory=lambda: {"Owner": "unassigned", "CostCenter": "unknown"})
    admin_security_group: AdminSecurityGroup = field(default_factory=lambda: AdminSecurityGroup(name="administrators"))
    max_groups_per_interface: int = 5
    # Right after RunInstances EC2 may not show the instance yet (eventual consistency): for this long after
    # the event's time, "not found" means "retry later", not "gone".
    fresh_instance_window_seconds: int = 300


def _admin_group(raw: dict[str, Any], c: Checker, key: str) -> AdminSecurityGroup:
    sg_raw = c.table(raw.get("admin_security_group", {"name": "administrators"}), f"{key}.admin_security_group")
    c.unknown(sg_raw, f"{key}.admin_security_group", {"name", "tag", "ids"})
    sg = AdminSecurityGroup(
        name=c.string(sg_raw, f"{key}.admin_security_group", "name", "",
                      re.compile(r"^[\x20-\x7e]{1,255}$"), "must be a security group name"),
        tag=c.string_map(sg_raw, f"{key}.admin_security_group", "tag", {}, TAG_KEY_RE, "must be a tag key"),
        ids=c.string_map(sg_raw, f"{key}.admin_security_group", "ids", {}, ADMIN_GROUP_KEY_RE,
                         "keys must be 'ACCOUNT/REGION/vpc-...' like '111111111111/eu-west-1/vpc-0abc1234': a "
                         "security group belongs to one VPC in one region, so an id cannot apply to a whole "
                         "account ('ACCOUNT') or to a VPC id without its region ('ACCOUNT/vpc-...')",
                         SG_ID_RE, "must be a group id like 'sg-0123abcd'"),
    )
    if not (sg.name or sg.tag or sg.ids):
        c.problem(f"{key}.admin_security_group", sg_raw, "must set name, tag or ids to find the group")
    return sg


def parse(raw: dict[str, Any], c: Checker, key: str) -> Ec2Compliance:
    c.unknown(raw, key, set(Ec2Compliance.__dataclass_fields__))
    tags = c.string_map(raw, key, "required_tags", dict(Ec2Compliance().required_tags), TAG_KEY_RE,
                        "tag keys must be 1-128 characters of letters, digits, spaces and _.:/=+-@")
    for tag_key in tags:
        if tag_key.lower().startswith("aws:"):
            c.problem(f"{key}.required_tags.{tag_key}", tags[tag_key], "keys starting with 'aws:' are reserved")
    return Ec2Compliance(
        mode=c.string(raw, key, "mode", "enforce", choices=MODES),
        required_tags=tags,
        admin_security_group=_admin_group(raw, c, key),
        max_groups_per_interface=c.integer(raw, key, "max_groups_per_interface", 5, 1, 16),
        fresh_instance_window_seconds=c.integer(raw, key, "fresh_instance_window_seconds",
                                                Ec2Compliance.fresh_instance_window_seconds, 0, 3600),
    )
