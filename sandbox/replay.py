"""Seed a member account of the embedded AWS with the state a replayed API call left behind.

Replay decides from live state, like the real handler, so the resources an event names must exist first,
in the state the call left them:

- CreateBucket: the bucket, with no default encryption configuration;
- PutBucketEncryption: the bucket with the configuration of ``requestParameters`` (CloudTrail's
  XML-to-JSON shape: ``Rule`` is an object for one rule, a list for several);
- DeleteBucketEncryption: the bucket without configuration;
- RunInstances: the instances, with the tags of ``tagSpecificationSet`` (resource type ``instance``) and
  the groups of the event, in VPCs that have the administrators' group;
- CreateVpc: a VPC with the event's CIDR (and the tags of its ``tagSpecificationSet``).

moto makes its own ids, so instance, VPC and group ids in the event are rewritten to the created ones
(a copy of the event is returned; the notes say what was rewritten or seeded specially).
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handlers.events import ApiCallEvent
from handlers.registry import bucket_names
from handlers.sessions import partition_of
from handlers.settings import AdminSecurityGroup, Settings

FALLBACK_CIDR = "10.0.0.0/16"
FALLBACK_IMAGE = "ami-12c6146b"  # any id works: moto does not validate AMIs unless told to
FALLBACK_INSTANCE_TYPE = "t3.micro"
SEEDED_BY = "replayed from a CloudTrail event"


class SeedError(Exception):
    """The embedded AWS refused to create the state the event describes."""


@dataclass
class Seeded:
    detail: dict[str, Any]  # the CloudTrail record, ids rewritten to the embedded AWS's
    notes: list[str] = field(default_factory=list)


def items(value: Any) -> list[Any]:
    """CloudTrail's XML lists: ``{"items": [...]}``, a bare object for one element, or a list."""
    if isinstance(value, dict) and "items" in value:
        value = value["items"]
    if isinstance(value, dict):
        return [value]
    return list(value) if isinstance(value, list) else []


def _text(value: Any) -> str:
    if isinstance(value, dict):  # some records wrap scalars: {"value": "p2.xlarge"}
        value = value.get("value")
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


# --- S3 -------------------------------------------------------------------------------------------

def encryption_configuration(request: dict[str, Any]) -> dict[str, Any] | None:
    """The boto3 ``ServerSideEncryptionConfiguration`` of a PutBucketEncryption's ``requestParameters``."""
    raw = _mapping(request.get("ServerSideEncryptionConfiguration"))
    rules = []
    for rule in items(raw.get("Rule", raw.get("Rules"))):
        if not isinstance(rule, dict):
            continue
        default = _mapping(rule.get("ApplyServerSideEncryptionByDefault"))
        algorithm = _text(default.get("SSEAlgorithm"))
        if not algorithm:
            continue
        by_default = {"SSEAlgorithm": algorithm}
        key = _text(default.get("KMSMasterKeyID"))
        if key:
            by_default["KMSMasterKeyID"] = key
        converted: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": by_default}
        if "BucketKeyEnabled" in rule:
            converted["BucketKeyEnabled"] = _flag(rule["BucketKeyEnabled"])
        blocked = _mapping(rule.get("BlockedEncryptionTypes")).get("EncryptionType")
        blocked = [blocked] if isinstance(blocked, str) else blocked
        if isinstance(blocked, list) and blocked:
            converted["BlockedEncryptionTypes"] = {"EncryptionType": [_text(t) for t in blocked if _text(t)]}
        rules.append(converted)
    return {"Rules": rules} if rules else None


def seed_bucket(s3: Any, detail: dict[str, Any], event_name: str, region: str) -> list[str]:
    names = bucket_names(detail)
    if not names:
        return ["the event names no bucket: nothing seeded"]
    bucket = names[0]
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    if event_name != "PutBucketEncryption":
        return []
    configuration = encryption_configuration(_mapping(detail.get("requestParameters")))
    if configuration is None:
        return [f"the request carries no ServerSideEncryptionConfiguration: bucket {bucket} seeded "
                "without one"]
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=configuration)
    return [f"bucket {bucket} seeded with the request's encryption configuration"]


# --- EC2 ------------------------------------------------------------------------------------------

def tags_of(request: dict[str, Any], resource_type: str) -> list[dict[str, str]]:
    """The tags ``tagSpecificationSet`` gives ``resource_type``, as boto3 ``[{"Key", "Value"}]``."""
    tags: dict[str, str] = {}
    for spec in items(request.get("tagSpecificationSet")):
        if not isinstance(spec, dict) or spec.get("resourceType") != resource_type:
            continue
        for tag in items(spec.get("tags", spec.get("tagSet"))):
            key = _text(tag.get("key")) if isinstance(tag, dict) else ""
            if key:
                tags[key] = _text(tag.get("value"))
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _user_tags(tags: list[dict[str, str]], notes: list[str]) -> list[dict[str, str]]:
    reserved = [t["Key"] for t in tags if t["Key"].lower().startswith("aws:")]
    if reserved:
        notes.append(f"tags with the reserved aws: prefix not seeded: {', '.join(reserved)}")
    return [t for t in tags if not t["Key"].lower().startswith("aws:")]


def _cidr(detail: dict[str, Any]) -> str:
    request = _mapping(detail.get("requestParameters"))
    vpc = _mapping(_mapping(detail.get("responseElements")).get("vpc"))
    for candidate in (request.get("cidrBlock"), vpc.get("cidrBlock")):
        text = _text(candidate)
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError:
            continue
        if isinstance(network, ipaddress.IPv4Network) and 16 <= network.prefixlen <= 28:
            return text
    return ""


def seed_vpc(ec2: Any, detail: dict[str, Any]) -> Seeded:
    seeded = Seeded(copy.deepcopy(detail))
    vpc = _mapping(_mapping(seeded.detail.get("responseElements")).get("vpc"))
    old_id = _text(vpc.get("vpcId"))
    if not old_id:
        seeded.notes.append("the event names no VPC: nothing seeded")
        return seeded
    cidr = _cidr(detail)
    if not cidr:
        cidr = FALLBACK_CIDR
        seeded.notes.append(f"the event has no usable IPv4 CIDR (/16 to /28): VPC seeded with {cidr}")
    request = _mapping(detail.get("requestParameters"))
    create: dict[str, Any] = {"CidrBlock": cidr}
    tags = _user_tags(tags_of(request, "vpc"), seeded.notes)
    if tags:
        create["TagSpecifications"] = [{"ResourceType": "vpc", "Tags": tags}]
    new_id = ec2.create_vpc(**create)["Vpc"]["VpcId"]
    vpc["vpcId"] = new_id
    seeded.notes.append(f"VPC id rewritten to the embedded AWS's: {old_id} -> {new_id}")
    return seeded


@dataclass
class _Network:
    vpc_id: str
    subnet_id: str
    default_group: str
    admin_group: str | None
    groups: dict[str, str] = field(default_factory=dict)  # group name -> id, in this VPC


def _admin_group(ec2: Any, vpc_id: str, spec: AdminSecurityGroup, account: str,
                 notes: list[str]) -> str | None:
    explicit = spec.ids.get(f"{account}/{vpc_id}") or spec.ids.get(account)
    if explicit:
        notes.append(f"the admin group is configured by id ({explicit}); the embedded AWS cannot create a "
                     "group with a chosen id, so the handler is expected to fail to attach it")
        return None
    if not spec.name and not spec.tag:
        return None
    create: dict[str, Any] = {"GroupName": spec.name or "orgguard-administrators",
                              "Description": "administrators (seeded for replay)", "VpcId": vpc_id}
    if spec.tag:
        tags = [{"Key": k, "Value": v} for k, v in sorted(spec.tag.items())]
        create["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": tags}]
    return str(ec2.create_security_group(**create)["GroupId"])


def _network(ec2: Any, spec: AdminSecurityGroup, account: str, notes: list[str]) -> _Network:
    vpc_id = ec2.create_vpc(CidrBlock=FALLBACK_CIDR)["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                   {"Name": "group-name", "Values": ["default"]}])
    default_group = groups["SecurityGroups"][0]["GroupId"]
    admin = _admin_group(ec2, vpc_id, spec, account, notes)
    network = _Network(vpc_id, subnet_id, default_group, admin, {"default": default_group})
    if admin is not None and spec.name:
        network.groups[spec.name] = admin
    return network


def _event_groups(item: dict[str, Any], request: dict[str, Any]) -> list[tuple[str, str]]:
    """(id, name) of the groups the event gives an instance: its own groupSet, else the request's."""
    found = [(_text(g.get("groupId")), _text(g.get("groupName"))) for g in items(item.get("groupSet"))
             if isinstance(g, dict)]
    if not found:
        found = [(_text(g.get("groupId")), _text(g.get("groupName"))) for g in items(request.get("groupSet"))
                 if isinstance(g, dict)]
    if not found:
        for interface in items(request.get("networkInterfaceSet")):
            if isinstance(interface, dict):
                found += [(_text(g.get("groupId")), "") for g in items(interface.get("groupSet"))
                          if isinstance(g, dict)]
    return [(gid, name) for gid, name in found if gid or name]


def _group_in(ec2: Any, network: _Network, group_id: str, group_name: str) -> str:
    name = group_name or f"replayed-{group_id}"
    if name not in network.groups:
        network.groups[name] = ec2.create_security_group(GroupName=name, Description=SEEDED_BY,
                                                         VpcId=network.vpc_id)["GroupId"]
    return network.groups[name]


def seed_instances(ec2: Any, detail: dict[str, Any], event: ApiCallEvent, settings: Settings) -> Seeded:
    seeded = Seeded(copy.deepcopy(detail))
    request = _mapping(detail.get("requestParameters"))
    launched = [i for i in items(_mapping(seeded.detail.get("responseElements")).get("instancesSet"))
                if isinstance(i, dict) and _text(i.get("instanceId"))]
    if not launched:
        seeded.notes.append("the event names no instance: nothing seeded")
        return seeded
    spec = settings.policies.ec2_compliance.admin_security_group
    tags = _user_tags(tags_of(request, "instance"), seeded.notes)
    networks: dict[str, _Network] = {}
    rewritten: list[str] = []
    for item in launched:
        old_vpc = _text(item.get("vpcId"))
        if old_vpc not in networks:
            networks[old_vpc] = _network(ec2, spec, event.account, seeded.notes)
        network = networks[old_vpc]
        group_ids: list[str] = []
        renamed: dict[str, str] = {}
        for old_group, name in _event_groups(item, request):
            new_group = _group_in(ec2, network, old_group, name)
            renamed[old_group] = new_group
            if new_group not in group_ids:
                group_ids.append(new_group)
        run: dict[str, Any] = {
            "ImageId": _text(item.get("imageId")) or FALLBACK_IMAGE,
            "InstanceType": _text(item.get("instanceType")) or _text(request.get("instanceType"))
            or FALLBACK_INSTANCE_TYPE,
            "MinCount": 1, "MaxCount": 1, "SubnetId": network.subnet_id,
            "SecurityGroupIds": group_ids or [network.default_group],
        }
        if tags:
            run["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tags}]
        new_id = ec2.run_instances(**run)["Instances"][0]["InstanceId"]
        rewritten.append(f"{item['instanceId']} -> {new_id}")
        item["instanceId"] = new_id
        if old_vpc:
            item["vpcId"] = network.vpc_id
        for group in items(item.get("groupSet")):
            if isinstance(group, dict) and _text(group.get("groupId")) in renamed:
                group["groupId"] = renamed[group["groupId"]]
    seeded.notes.append(f"instance ids rewritten to the embedded AWS's: {', '.join(rewritten)}")
    vpcs = [f"{old or '(none)'} -> {n.vpc_id}" for old, n in networks.items()]
    seeded.notes.append(f"VPC ids rewritten: {', '.join(vpcs)}")
    missing_admin = [n.vpc_id for n in networks.values() if n.admin_group is None]
    if missing_admin:
        seeded.notes.append(f"no admin group seeded in {', '.join(missing_admin)}")
    return seeded


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
