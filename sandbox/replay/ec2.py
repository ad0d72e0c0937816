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
from typing import Any

from handlers.events import ApiCallEvent
from handlers.settings import Settings
from sandbox.replay.ec2_network import (
    FALLBACK_CIDR,
    EventInterface,
    Vpc,
    _Network,
    event_interfaces,
)
from sandbox.replay.shapes import Seeded, SeedError, flag, items, mapping, number, tag_pairs, text

FALLBACK_IMAGE = "ami-12c6146b"  # any id works: moto does not validate AMIs unless told to
FALLBACK_INSTANCE_TYPE = "t3.micro"


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
             vpc: Vpc, network: _Network, eni_rewrites: list[str]) -> None:
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
