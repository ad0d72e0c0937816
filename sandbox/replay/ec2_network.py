"""The network a replayed RunInstances names, rebuilt in the member account: the interfaces of each launched
instance as the event shows them, and one VPC, subnet and group for each the event names (plus the
administrators' group the settings describe)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handlers.guardrails.ec2_compliance.settings import AdminSecurityGroup
from sandbox.replay.shapes import SeedError, items, mapping, number, text

FALLBACK_CIDR = "10.0.0.0/16"
SEEDED_BY = "replayed from a CloudTrail event"
ADMIN_FALLBACK_NAME = "orgguard-administrators"  # the admin group's name when settings find it by tag


@dataclass(frozen=True)
class EventInterface:
    """One network interface as the launch left it."""

    eni_id: str
    subnet_id: str
    device_index: int
    card_index: int | None  # None: the event does not say (network card 0)
    groups: tuple[tuple[str, str], ...]  # (group id, group name) as the event gives them
    position: int = -1  # its place in the item's networkInterfaceSet; -1: built from the instance's fields

    @property
    def primary(self) -> bool:
        return self.device_index == 0 and not self.card_index


def _group_pairs(value: Any) -> list[tuple[str, str]]:
    found = [(text(g.get("groupId")), text(g.get("groupName"))) for g in items(value) if isinstance(g, dict)]
    return [(gid, name) for gid, name in found if gid or name]


def _instance_groups(item: dict[str, Any], request: dict[str, Any]) -> list[tuple[str, str]]:
    """The groups the event gives an instance: its own groupSet, else the request's."""
    found = _group_pairs(item.get("groupSet")) or _group_pairs(request.get("groupSet"))
    if not found:
        for interface in items(request.get("networkInterfaceSet")):
            if isinstance(interface, dict):
                found += _group_pairs(interface.get("groupSet"))
    return found


def event_interfaces(item: dict[str, Any], request: dict[str, Any], notes: list[str]) -> list[EventInterface]:
    """The interfaces of ``networkInterfaceSet`` (primary first), or one built from the instance's fields."""
    raw = [i for i in items(item.get("networkInterfaceSet")) if isinstance(i, dict)]
    if not raw:
        return [EventInterface("", text(item.get("subnetId")), 0, None, tuple(_instance_groups(item, request)))]
    found = []
    for position, eni in enumerate(raw):
        attachment = mapping(eni.get("attachment"))
        device = number(attachment.get("deviceIndex"))
        if device is None:
            device = position
            notes.append(f"interface {text(eni.get('networkInterfaceId')) or position} has no deviceIndex: "
                         f"taken as {position}, its place in networkInterfaceSet")
        groups = tuple(_group_pairs(eni.get("groupSet")))
        found.append(EventInterface(text(eni.get("networkInterfaceId")),
                                    text(eni.get("subnetId")) or text(item.get("subnetId")),
                                    device, number(attachment.get("networkCardIndex")), groups, position))
    found.sort(key=lambda i: (i.card_index or 0, i.device_index))
    primary = found[0]
    if not primary.primary:
        raise SeedError(f"instance {text(item.get('instanceId'))}: its interfaces have no primary one (device "
                        "index 0 on network card 0), which AWS requires")
    if not primary.groups:  # an interface carries its groups; older renderings give them on the instance
        found[0] = EventInterface(primary.eni_id, primary.subnet_id, 0, primary.card_index,
                                  tuple(_instance_groups(item, request)), primary.position)
    return found


@dataclass
class Vpc:
    vpc_id: str
    default_group: str
    admin_group: str | None
    subnets: dict[str, str] = field(default_factory=dict)  # event subnet id -> created id
    groups: dict[str, str] = field(default_factory=dict)  # event group id (or "name:NAME") -> created id
    names: dict[str, str] = field(default_factory=dict)  # group name -> created id (unique in a VPC)


class _Network:
    """The VPCs, subnets and groups of one event, created on first use, with the id rewrites."""

    def __init__(self, ec2: Any, spec: AdminSecurityGroup, account: str, notes: list[str]) -> None:
        self.ec2, self.spec, self.account, self.notes = ec2, spec, account, notes
        self.vpcs: dict[str, Vpc] = {}
        self.rewritten: dict[str, dict[str, str]] = {"subnet": {}, "security group": {}}
        self.seeded_groups = 0  # groups created from the event (not default, not admin)
        self._zones: set[str] | None = None
        self.unknown_zones: set[str] = set()

    def vpc(self, event_vpc: str) -> Vpc:
        if event_vpc not in self.vpcs:
            vpc_id = self.ec2.create_vpc(CidrBlock=FALLBACK_CIDR)["Vpc"]["VpcId"]
            default = self.ec2.describe_security_groups(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                         {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
            vpc = Vpc(vpc_id, default, self._admin_group(vpc_id))
            vpc.names["default"] = default
            if vpc.admin_group is not None:
                vpc.names[self.spec.name or ADMIN_FALLBACK_NAME] = vpc.admin_group
            self.vpcs[event_vpc] = vpc
        return self.vpcs[event_vpc]

    def _admin_group(self, vpc_id: str) -> str | None:
        spec = self.spec
        explicit = spec.explicit(self.account, self.ec2.meta.region_name, vpc_id)
        if explicit:
            self.notes.append(f"the admin group is configured by id ({explicit}); the embedded AWS cannot "
                              "create a group with a chosen id, so the handler is expected to fail to attach it")
            return None
        if not spec.name and not spec.tag:
            return None
        create: dict[str, Any] = {"GroupName": spec.name or ADMIN_FALLBACK_NAME,
                                  "Description": "administrators (seeded for replay)", "VpcId": vpc_id}
        if spec.tag:
            tags = [{"Key": k, "Value": v} for k, v in sorted(spec.tag.items())]
            create["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": tags}]
        return str(self.ec2.create_security_group(**create)["GroupId"])

    def _zone(self, zone: str) -> str:
        if not zone:
            return ""
        if self._zones is None:
            self._zones = {z["ZoneName"] for z in self.ec2.describe_availability_zones()["AvailabilityZones"]}
        if zone in self._zones:
            return zone
        self.unknown_zones.add(zone)
        return ""

    def subnet(self, vpc: Vpc, event_subnet: str, zone: str) -> str:
        if event_subnet not in vpc.subnets:
            index = len(vpc.subnets)
            if index > 255:
                raise SeedError(f"the event names more than 256 subnets in one VPC ({event_subnet})")
            create: dict[str, Any] = {"VpcId": vpc.vpc_id, "CidrBlock": f"10.0.{index}.0/24"}
            known = self._zone(zone)
            if known:
                create["AvailabilityZone"] = known
            new_id = self.ec2.create_subnet(**create)["Subnet"]["SubnetId"]
            vpc.subnets[event_subnet] = new_id
            if event_subnet:
                self.rewritten["subnet"][event_subnet] = new_id
        return vpc.subnets[event_subnet]

    def group(self, vpc: Vpc, event_id: str, name: str) -> str:
        key = event_id or f"name:{name}"
        if key in vpc.groups:
            return vpc.groups[key]
        if name == "default" or (name and name == self.spec.name and vpc.admin_group is not None):
            new_id = vpc.names[name]  # the VPC's default group, or the admin group the instance already has
        else:
            chosen = name or f"replayed-{event_id}"
            if chosen in vpc.names:
                self.notes.append(f"group {event_id}'s name {chosen!r} is taken in its VPC (names are unique "
                                  f"in a VPC): seeded as {chosen}-{event_id}")
                chosen = f"{chosen}-{event_id}"
            new_id = self.ec2.create_security_group(GroupName=chosen, Description=SEEDED_BY,
                                                    VpcId=vpc.vpc_id)["GroupId"]
            vpc.names[chosen] = new_id
            self.seeded_groups += 1
        vpc.groups[key] = new_id
        if event_id:
            self.rewritten["security group"][event_id] = new_id
        return str(new_id)
