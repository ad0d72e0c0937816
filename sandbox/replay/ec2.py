"""The EC2 state a replayed RunInstances or CreateVpc left, built in the replayed member account.

RunInstances: every instance of ``responseElements.instancesSet`` with the network interfaces of its
``networkInterfaceSet`` (device and network card index, subnet, groups), so an instance launched with
several interfaces has several and is changed on its primary one, as on AWS. Its tags are the request's
``tagSpecificationSet`` (resource type ``instance``) overlaid with the response's ``tagSet``, which also
holds what a launch template or an AWS service added. Each VPC of the event gets one VPC, each subnet one
subnet, each group one group (an event group named ``default`` is the VPC's default group), plus the
administrators' group the settings describe.

CreateVpc: a VPC with the event's CIDR, tenancy and tags.

moto makes its own ids: the event's instance, VPC, subnet, group and interface ids are rewritten to the
created ones in a copy of the record, and every note says what was rewritten or could not be rebuilt.
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from handlers.events import ApiCallEvent
from handlers.guardrails.ec2_compliance.settings import AdminSecurityGroup
from handlers.settings import Settings
from sandbox.replay.shapes import Seeded, SeedError, flag, items, mapping, number, tag_pairs, text

FALLBACK_CIDR = "10.0.0.0/16"
FALLBACK_IMAGE = "ami-12c6146b"  # any id works: moto does not validate AMIs unless told to
FALLBACK_INSTANCE_TYPE = "t3.micro"
SEEDED_BY = "replayed from a CloudTrail event"
ADMIN_FALLBACK_NAME = "orgguard-administrators"  # the admin group's name when settings find it by tag


def tags_of(request: dict[str, Any], resource_type: str) -> dict[str, str]:
    """The tags ``tagSpecificationSet`` gives ``resource_type``."""
    tags: dict[str, str] = {}
    for spec in items(request.get("tagSpecificationSet")):
        if isinstance(spec, dict) and spec.get("resourceType") == resource_type:
            tags.update(tag_pairs(spec.get("tags", spec.get("tagSet"))))
    return tags


def _boto_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# --- CreateVpc ------------------------------------------------------------------------------------

def _cidr(detail: dict[str, Any]) -> str:
    request = mapping(detail.get("requestParameters"))
    vpc = mapping(mapping(detail.get("responseElements")).get("vpc"))
    for candidate in (request.get("cidrBlock"), vpc.get("cidrBlock")):
        value = text(candidate)
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError:
            continue
        if isinstance(network, ipaddress.IPv4Network) and 16 <= network.prefixlen <= 28:
            return value
    return ""


def seed_vpc(ec2: Any, detail: dict[str, Any]) -> Seeded:
    seeded = Seeded(copy.deepcopy(detail))
    vpc = mapping(mapping(seeded.detail.get("responseElements")).get("vpc"))
    old_id = text(vpc.get("vpcId"))
    if not old_id:
        seeded.notes.append("the event names no VPC: nothing seeded")
        return seeded
    cidr = _cidr(detail)
    if not cidr:
        cidr = FALLBACK_CIDR
        seeded.notes.append(f"the event has no usable IPv4 CIDR (/16 to /28): VPC seeded with {cidr}")
    request = mapping(detail.get("requestParameters"))
    create: dict[str, Any] = {"CidrBlock": cidr}
    tenancy = text(request.get("instanceTenancy")) or text(vpc.get("instanceTenancy"))
    if tenancy in ("default", "dedicated"):
        create["InstanceTenancy"] = tenancy
    if flag(request.get("amazonProvidedIpv6CidrBlock")):
        create["AmazonProvidedIpv6CidrBlock"] = True
    if text(request.get("ipv4IpamPoolId")) or text(request.get("ipv6IpamPoolId")):
        seeded.notes.append("the VPC's IPAM pool is not rebuilt")
    tags = {**tags_of(request, "vpc"), **tag_pairs(vpc.get("tagSet"))}
    if tags:
        create["TagSpecifications"] = [{"ResourceType": "vpc", "Tags": _boto_tags(tags)}]
    new_id = ec2.create_vpc(**create)["Vpc"]["VpcId"]
    vpc["vpcId"] = new_id
    seeded.notes.append(f"VPC id rewritten to the embedded AWS's: {old_id} -> {new_id}")
    return seeded


# --- RunInstances ---------------------------------------------------------------------------------

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
class _Vpc:
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
        self.vpcs: dict[str, _Vpc] = {}
        self.rewritten: dict[str, dict[str, str]] = {"subnet": {}, "security group": {}}
        self.seeded_groups = 0  # groups created from the event (not default, not admin)
        self._zones: set[str] | None = None
        self.unknown_zones: set[str] = set()

    def vpc(self, event_vpc: str) -> _Vpc:
        if event_vpc not in self.vpcs:
            vpc_id = self.ec2.create_vpc(CidrBlock=FALLBACK_CIDR)["Vpc"]["VpcId"]
            default = self.ec2.describe_security_groups(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                         {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
            vpc = _Vpc(vpc_id, default, self._admin_group(vpc_id))
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

    def subnet(self, vpc: _Vpc, event_subnet: str, zone: str) -> str:
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

    def group(self, vpc: _Vpc, event_id: str, name: str) -> str:
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


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def moto_device_indexes(interfaces: list[EventInterface], notes: list[str]) -> list[int]:
    """The device index each interface gets in moto, which has one index space for all network cards
    (it ignores NetworkCardIndex and keeps one interface per DeviceIndex): interfaces on card 0 keep
    theirs, those on other cards take the next free ones."""
    indexes = [i.device_index if not i.card_index else -1 for i in interfaces]
    taken = {n for n in indexes if n >= 0}
    for position, interface in enumerate(interfaces):
        if indexes[position] >= 0:
            continue
        free = max(taken, default=-1) + 1
        taken.add(free)
        indexes[position] = free
        notes.append(f"interface {interface.eni_id or position} (network card {interface.card_index}, device "
                     f"{interface.device_index}) built as device {free} on card 0: the embedded AWS (moto) "
                     "has one device index space for all network cards")
    if len(taken) != len(indexes):
        raise SeedError(f"interfaces share a device index on one network card ({indexes}), which AWS refuses")
    return indexes


def _run_parameters(item: dict[str, Any], request: dict[str, Any], interfaces: list[EventInterface],
                    devices: list[int], built: list[tuple[str, list[str]]],
                    tags: dict[str, str]) -> dict[str, Any]:
    run: dict[str, Any] = {
        "ImageId": text(item.get("imageId")) or FALLBACK_IMAGE,
        "InstanceType": text(item.get("instanceType")) or text(request.get("instanceType"))
        or FALLBACK_INSTANCE_TYPE,
        "MinCount": 1, "MaxCount": 1,
    }
    if len(built) == 1:  # the plain form: moto then reports the instance's groups as AWS does
        run["SubnetId"], run["SecurityGroupIds"] = built[0]
    else:
        run["NetworkInterfaces"] = [
            {"DeviceIndex": device, "SubnetId": subnet, "Groups": groups,
             **({"NetworkCardIndex": interface.card_index} if interface.card_index is not None else {})}
            for interface, device, (subnet, groups) in zip(interfaces, devices, built, strict=True)]
    if tags:
        run["TagSpecifications"] = [{"ResourceType": "instance", "Tags": _boto_tags(tags)}]
    return run


def _rewrite_groups(value: Any, network: _Network) -> None:
    renamed = network.rewritten["security group"]
    for group in items(value):
        if isinstance(group, dict) and text(group.get("groupId")) in renamed:
            group["groupId"] = renamed[group["groupId"]]


def _rewrite(item: dict[str, Any], new_id: str, interfaces: list[EventInterface], new_enis: list[str],
             vpc: _Vpc, network: _Network, eni_rewrites: list[str]) -> None:
    """Point the event's copy of ``item`` at what was built (instance, VPC, subnet, group, interface ids)."""
    item["instanceId"] = new_id
    if text(item.get("vpcId")):
        item["vpcId"] = vpc.vpc_id
    subnets = network.rewritten["subnet"]
    if text(item.get("subnetId")) in subnets:
        item["subnetId"] = subnets[item["subnetId"]]
    _rewrite_groups(item.get("groupSet"), network)
    raw = [i for i in items(item.get("networkInterfaceSet")) if isinstance(i, dict)]
    for interface, new_eni in zip(interfaces, new_enis, strict=True):
        if interface.position < 0:
            continue
        eni = raw[interface.position]
        eni_rewrites.append(f"{interface.eni_id or '(none)'} -> {new_eni}")
        eni["networkInterfaceId"] = new_eni
        if text(eni.get("subnetId")) in subnets:
            eni["subnetId"] = subnets[eni["subnetId"]]
        if text(eni.get("vpcId")):
            eni["vpcId"] = vpc.vpc_id
        _rewrite_groups(eni.get("groupSet"), network)


def _launch_templates(request: dict[str, Any], launched: list[dict[str, Any]]) -> list[str]:
    """The request's launch template, or the one AWS names in the instances' ``aws:ec2launchtemplate:id``
    tag (Auto Scaling and EC2 Fleet launches do not show it in the request)."""
    template = mapping(request.get("launchTemplate"))
    named = [text(template.get("launchTemplateId")) or text(template.get("launchTemplateName")) or "?"] \
        if template else []
    named += [tag_pairs(i.get("tagSet")).get("aws:ec2launchtemplate:id", "") for i in launched]
    return [name for name in dict.fromkeys(named) if name]


def _not_rebuilt(request: dict[str, Any], launched: list[dict[str, Any]], network: _Network) -> str:
    """What the launch had that the embedded account does not (said, never silently assumed)."""
    missing = [f"private addresses and CIDRs (each VPC is {FALLBACK_CIDR}, each subnet a /24 of it)",
               "interfaces attached after the launch (a RunInstances event cannot show them)"]
    if network.seeded_groups:
        missing.append("the security groups' rules (seeded empty)")
    for name in _launch_templates(request, launched):
        missing.append(f"launch template {name} (the instances are built from what the response shows)")
    other = sorted({text(s.get("resourceType")) for s in items(request.get("tagSpecificationSet"))
                    if isinstance(s, dict) and text(s.get("resourceType")) not in ("", "instance")})
    if other:
        missing.append(f"the tags of {', '.join(other)}")
    existing = [text(i.get("networkInterfaceId")) for i in items(request.get("networkInterfaceSet"))
                if isinstance(i, dict) and text(i.get("networkInterfaceId"))]
    if existing:
        missing.append(f"the existing interfaces {', '.join(existing)} (created anew)")
    unread = [label for label, shown in (
        ("key pair", any(text(i.get("keyName")) for i in launched)),
        ("instance profile", any(mapping(i.get("iamInstanceProfile")) for i in launched)),
        ("volumes", bool(items(request.get("blockDeviceMapping")))),
        ("user data", "userData" in request)) if shown]
    if unread:
        missing.append(f"what no policy reads: {', '.join(unread)}")
    if network.unknown_zones:
        missing.append(f"availability zones {', '.join(sorted(network.unknown_zones))} (unknown to the "
                       "embedded AWS)")
    return "not rebuilt: " + "; ".join(missing)


def seed_instances(ec2: Any, detail: dict[str, Any], event: ApiCallEvent, settings: Settings) -> Seeded:
    seeded = Seeded(copy.deepcopy(detail))
    request = mapping(detail.get("requestParameters"))
    launched = [i for i in items(mapping(seeded.detail.get("responseElements")).get("instancesSet"))
                if isinstance(i, dict) and text(i.get("instanceId"))]
    if not launched:
        seeded.notes.append("the event names no instance: nothing seeded")
        return seeded
    spec = settings.policies.ec2_compliance.admin_security_group
    network = _Network(ec2, spec, event.account, seeded.notes)
    request_tags = tags_of(request, "instance")
    rewritten: list[str] = []
    eni_rewrites: list[str] = []
    several: list[str] = []
    for item in launched:
        interfaces = event_interfaces(item, request, seeded.notes)
        vpc = network.vpc(text(item.get("vpcId")))
        zone = text(mapping(item.get("placement")).get("availabilityZone"))
        built = [(network.subnet(vpc, i.subnet_id, zone),
                  _unique([network.group(vpc, gid, name) for gid, name in i.groups]) or [vpc.default_group])
                 for i in interfaces]
        tags = {**request_tags, **tag_pairs(item.get("tagSet"))}  # tagSet: what the instance really got
        devices = moto_device_indexes(interfaces, seeded.notes)
        new = ec2.run_instances(**_run_parameters(item, request, interfaces, devices, built, tags))["Instances"][0]
        created = {number(mapping(e.get("Attachment")).get("DeviceIndex")): str(e["NetworkInterfaceId"])
                   for e in new.get("NetworkInterfaces", [])}
        if sorted(i for i in created if i is not None) != sorted(devices):
            raise SeedError(f"the embedded AWS built instance {item['instanceId']} with interfaces at devices "
                            f"{sorted(i for i in created if i is not None)}, not {sorted(devices)}")
        rewritten.append(f"{item['instanceId']} -> {new['InstanceId']}")
        if len(interfaces) > 1:
            several.append(f"{new['InstanceId']} ({len(interfaces)})")
        _rewrite(item, new["InstanceId"], interfaces, [created[d] for d in devices], vpc, network, eni_rewrites)
    notes = seeded.notes
    notes.append(f"instance ids rewritten to the embedded AWS's: {', '.join(rewritten)}")
    vpcs = [f"{old or '(none)'} -> {v.vpc_id}" for old, v in network.vpcs.items()]
    notes.append(f"VPC ids rewritten: {', '.join(vpcs)}")
    for kind, renamed in network.rewritten.items():
        if renamed:
            notes.append(f"{kind} ids rewritten: {', '.join(f'{a} -> {b}' for a, b in renamed.items())}")
    if eni_rewrites:
        notes.append(f"network interface ids rewritten: {', '.join(eni_rewrites)}")
    if several:
        notes.append(f"built with several network interfaces, as launched: {', '.join(several)}")
    admin = [v.vpc_id for v in network.vpcs.values() if v.admin_group is not None]
    if admin:
        notes.append(f"the admin group was created in {', '.join(admin)}: replay cannot know whether the "
                     "account has it (without it the outcome is failed:no-admin-group)")
    missing_admin = [v.vpc_id for v in network.vpcs.values() if v.admin_group is None]
    if missing_admin:
        notes.append(f"no admin group seeded in {', '.join(missing_admin)}")
    notes.append(_not_rebuilt(request, launched, network))
    return seeded


def seed_vpc_event(session: Any, event: ApiCallEvent, settings: Settings) -> Seeded:
    """The replay seeder of vpc-created (``Guardrail.replay``): the VPC the call left."""
    return seed_vpc(session.client("ec2", region_name=event.region), event.detail)


def seed_run_instances_event(session: Any, event: ApiCallEvent, settings: Settings) -> Seeded:
    """The replay seeder of ec2-compliance (``Guardrail.replay``): the instances and network the launch left."""
    return seed_instances(session.client("ec2", region_name=event.region), event.detail, event, settings)
