"""A member account as a test sees it (through a role the test assumed there itself, never the engine's
way in), the state the tests start from, and that state read back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from .moto_env import ADMIN_GROUP, IMAGE_ID


@dataclass
class Member:
    account: str
    region: str
    name: str
    session: boto3.Session
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region)
        return self._clients[service]

    # -- state the scenarios start from ---------------------------------------------------------------

    def vpc(self, cidr: str = "10.20.0.0/16", name: str = "") -> str:
        tags = [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}] if name else []
        return str(self.client("ec2").create_vpc(CidrBlock=cidr, TagSpecifications=tags)["Vpc"]["VpcId"])

    def bucket(self, name: str | None = None) -> str:
        return make_bucket(self, name or f"reliability-{uuid.uuid4().hex[:12]}")

    def instance(self) -> tuple[str, str]:
        """An instance without the required tags or the admin group, in a VPC that has the admin group."""
        network = make_network(self, "10.30.0.0/16")
        (instance,) = launch(self, network)
        assert network.admin_group is not None
        return instance, network.admin_group

    # -- state read back ------------------------------------------------------------------------------------

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.client("s3").head_bucket(Bucket=bucket)
        except ClientError:
            return False
        return True

    def encryption(self, bucket: str) -> dict[str, Any] | None:
        rules = bucket_encryption(self, bucket)
        if rules is None:
            return None
        rule = rules[0]
        return {"algorithm": rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
                "bucket_key": bool(rule.get("BucketKeyEnabled", False))}

    def described(self, instance_id: str) -> dict[str, Any]:
        return describe_instance(self, instance_id)

    def instance_tags(self, instance_id: str) -> dict[str, str]:
        return instance_tags(self, instance_id)

    def instance_groups(self, instance_id: str) -> set[str]:
        return {g["GroupId"] for g in self.described(instance_id).get("SecurityGroups", [])}


# --- S3 ---------------------------------------------------------------------------------------------------


def make_bucket(member: Member, name: str, tags: dict[str, str] | None = None,
                encryption: dict[str, Any] | None = None) -> str:
    s3 = member.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": member.region})
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    if encryption is not None:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [encryption]})
    return name


def bucket_encryption(member: Member, bucket: str) -> list[dict[str, Any]] | None:
    """The member bucket's default encryption rules, read in the member account; None if it has none."""
    try:
        response = member.client("s3").get_bucket_encryption(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError":
            return None
        raise
    return list(response["ServerSideEncryptionConfiguration"]["Rules"])


# --- EC2 --------------------------------------------------------------------------------------------------


@dataclass
class Network:
    vpc_id: str
    subnet_id: str
    admin_group: str | None
    app_group: str


def make_network(member: Member, cidr: str = "10.20.0.0/16", admin_group: bool = True,
                 tags: dict[str, str] | None = None) -> Network:
    ec2 = member.client("ec2")
    spec = [{"ResourceType": "vpc", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
    vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=spec)["Vpc"]["VpcId"]
    subnet_cidr = cidr.rsplit(".", 2)[0] + ".1.0/24"
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=subnet_cidr)["Subnet"]["SubnetId"]
    admin = (ec2.create_security_group(GroupName=ADMIN_GROUP, Description="admins", VpcId=vpc_id)["GroupId"]
             if admin_group else None)
    app = ec2.create_security_group(GroupName="app", Description="application", VpcId=vpc_id)["GroupId"]
    return Network(vpc_id, subnet_id, admin, app)


def launch(member: Member, network: Network, count: int = 1, groups: list[str] | None = None,
           tags: dict[str, str] | None = None, interfaces: int = 1) -> list[str]:
    ec2 = member.client("ec2")
    groups = groups if groups is not None else [network.app_group]
    spec = ([{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
            if tags else [])
    kwargs: dict[str, Any] = {"ImageId": IMAGE_ID, "MinCount": count, "MaxCount": count, "InstanceType": "t3.micro",
                              "TagSpecifications": spec}
    if interfaces == 1:
        kwargs.update(SubnetId=network.subnet_id, SecurityGroupIds=groups)
    else:
        kwargs["NetworkInterfaces"] = [{"DeviceIndex": i, "SubnetId": network.subnet_id, "Groups": groups}
                                       for i in range(interfaces)]
    return [i["InstanceId"] for i in ec2.run_instances(**kwargs)["Instances"]]


def describe_instance(member: Member, instance_id: str) -> dict[str, Any]:
    reservations = member.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    return dict(reservations[0]["Instances"][0])


def instance_tags(member: Member, instance_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in describe_instance(member, instance_id).get("Tags", [])}


def interface_groups(member: Member, instance_id: str) -> dict[int, list[str]]:
    """Group ids per device index, as the member account reports them."""
    instance = describe_instance(member, instance_id)
    return {eni["Attachment"]["DeviceIndex"]: sorted(g["GroupId"] for g in eni["Groups"])
            for eni in instance["NetworkInterfaces"]}


def public_access_flags(s3: Any, bucket: str) -> dict[str, bool] | None:
    """A bucket's Block Public Access flags as S3 reports them (None: the bucket has no configuration)."""
    try:
        return dict(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"])
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration":
            return None
        raise
