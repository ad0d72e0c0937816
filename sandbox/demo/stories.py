"""The demo's stories: what people do in member accounts, what OrgGuard must do about it, and how to tell.

Each story is a user's API calls (made through a session the CloudTrail emulator watches), the policy
and outcome the hub must record for the resulting event, whether the admins must get an e-mail, and a
check of the end state read back in the member account by the platform administrator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from handlers.exemptions import tags_to_dict
from handlers.settings import Settings

NOT_FORWARDED = "not-forwarded"  # the outcome of an event the spoke must not forward
NO_CONFIGURATION = "ServerSideEncryptionConfigurationNotFoundError"
AMI_NAME = "amzn2-ami-kernel-5.10-hvm-*-x86_64-gp2"
DRY_RUN_NAME = "capacity-check"


@dataclass(frozen=True)
class StateCheck:
    ok: bool
    state: str  # what the member account looks like now, in words


Act = Callable[[boto3.Session], str]  # the user's calls; returns the resource they concern
Check = Callable[[boto3.Session, str], StateCheck]  # the end state, from the platform admin's session


@dataclass(frozen=True)
class Story:
    title: str
    person: str
    account: str
    region: str
    event_name: str
    policy: str
    expected: str
    email: bool
    act: Act
    check: Check


# -- what users do ---------------------------------------------------------------------------------------

def create_vpc(cidr: str, name: str) -> Act:
    def act(session: boto3.Session) -> str:
        vpc = session.client("ec2").create_vpc(CidrBlock=cidr, TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}])["Vpc"]
        return str(vpc["VpcId"])
    return act


def create_bucket(name: str) -> Act:
    def act(session: boto3.Session) -> str:
        s3 = session.client("s3")
        region = s3.meta.region_name
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **extra)
        return name
    return act


def bucket_call(operation: str, bucket: str, **params: Any) -> Act:
    """A person's S3 call on one bucket (``operation`` as boto3 names it); the bucket is what it concerns."""
    def act(session: boto3.Session) -> str:
        getattr(session.client("s3"), operation)(Bucket=bucket, **params)
        return bucket
    return act


def delete_bucket_encryption(name: str) -> Act:
    return bucket_call("delete_bucket_encryption", name)


def latest_amazon_linux(ec2: Any) -> str:
    images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [AMI_NAME]}])["Images"]
    if not images:
        raise LookupError(f"no Amazon Linux image named {AMI_NAME} in {ec2.meta.region_name}")
    return str(max(images, key=lambda i: i.get("CreationDate", ""))["ImageId"])


def launch_instances(count: int, tags: dict[str, str] | None = None) -> Act:
    def act(session: boto3.Session) -> str:
        ec2 = session.client("ec2")
        extra: dict[str, Any] = {}
        if tags:
            extra["TagSpecifications"] = [{"ResourceType": "instance",
                                           "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        reservation = ec2.run_instances(ImageId=latest_amazon_linux(ec2), InstanceType="t3.micro",
                                        MinCount=count, MaxCount=count, **extra)
        return ", ".join(i["InstanceId"] for i in reservation["Instances"])
    return act


@dataclass
class TwoInterfaceLaunch:
    """One instance with two network interfaces in the default VPC, each with a group of its own (a web interface
    and a data interface), as an appliance or a pod network has. The groups each interface got at launch are
    remembered: the check needs them, since the admin group must join the primary interface's and nothing else
    may change."""

    name: str
    launched: dict[int, list[str]] = field(default_factory=dict)  # device index -> group ids at launch

    def act(self, session: boto3.Session) -> str:
        ec2 = session.client("ec2")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        subnet = min(subnets, key=lambda s: s["AvailabilityZone"])["SubnetId"]
        groups = [ec2.create_security_group(GroupName=f"{self.name}-{role}", VpcId=vpc,
                                            Description=f"{self.name} {role} interface")["GroupId"]
                  for role in ("web", "data")]
        (instance,) = ec2.run_instances(
            ImageId=latest_amazon_linux(ec2), InstanceType="t3.micro", MinCount=1, MaxCount=1,
            NetworkInterfaces=[{"DeviceIndex": index, "SubnetId": subnet, "Groups": [group]}
                               for index, group in enumerate(groups)],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": self.name}]}],
        )["Instances"]
        self.launched = {int(i["Attachment"]["DeviceIndex"]): sorted(g["GroupId"] for g in i["Groups"])
                         for i in instance["NetworkInterfaces"]}
        return str(instance["InstanceId"])

    def check(self, settings: Settings, admin_group: str) -> Check:
        """The admin group on the primary interface with its own groups; every other interface as launched."""
        required = set(settings.policies.ec2_compliance.required_tags)

        def check(session: boto3.Session, instance_id: str) -> StateCheck:
            reservations = session.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
            instance = reservations[0]["Instances"][0]
            now = {int(i["Attachment"]["DeviceIndex"]): sorted(g["GroupId"] for g in i["Groups"])
                   for i in instance["NetworkInterfaces"]}
            problems = []
            missing = required - set(tags_to_dict(instance.get("Tags")))
            if missing:
                problems.append(f"{instance_id} lacks tags {', '.join(sorted(missing))}")
            if sorted(now) != sorted(self.launched):
                problems.append(f"{instance_id} has interfaces at devices {sorted(now)}, launched with "
                                f"{sorted(self.launched)}")
            for device, groups in sorted(self.launched.items()):
                wanted = sorted({*groups, admin_group}) if device == 0 else groups
                if now.get(device) != wanted:
                    problems.append(f"interface {device} has {', '.join(now.get(device, [])) or 'no groups'}, "
                                    f"expected {', '.join(wanted)}")
            if problems:
                return StateCheck(False, "; ".join(problems))
            return StateCheck(True, f"{instance_id} tagged {', '.join(sorted(required))}; {admin_group} on its primary "
                                    f"interface (with {', '.join(self.launched.get(0, []))}), interface 1 kept "
                                    f"{', '.join(self.launched.get(1, []))}")
        return check


def dry_run_launch() -> Act:
    """A capacity check with DryRun: EC2 answers DryRunOperation, CloudTrail records the error code."""
    def act(session: boto3.Session) -> str:
        ec2 = session.client("ec2")
        try:
            ec2.run_instances(ImageId=latest_amazon_linux(ec2), InstanceType="t3.micro", MinCount=1, MaxCount=1,
                              DryRun=True, TagSpecifications=[{"ResourceType": "instance",
                                                               "Tags": [{"Key": "Name", "Value": DRY_RUN_NAME}]}])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "DryRunOperation":
                raise
            return ""
        raise AssertionError("RunInstances with DryRun=True launched an instance")
    return act


# -- what the platform admin finds afterwards ------------------------------------------------------------

def vpc_unchanged(cidr: str) -> Check:
    def check(session: boto3.Session, vpc_id: str) -> StateCheck:
        vpcs = session.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        ok = len(vpcs) == 1 and vpcs[0]["CidrBlock"] == cidr
        return StateCheck(ok, f"{vpc_id} ({cidr}) left as created" if ok else f"{vpc_id} is not as created")
    return check


def _encryption(s3: Any, bucket: str) -> dict[str, Any] | None:
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == NO_CONFIGURATION:
            return None
        raise
    return dict(rules[0]) if rules else None


def bucket_meets_standard(settings: Settings) -> Check:
    standard = settings.policies.s3_encryption

    def check(session: boto3.Session, bucket: str) -> StateCheck:
        rule = _encryption(session.client("s3"), bucket)
        if rule is None:
            return StateCheck(False, f"{bucket} has no default encryption")
        default = rule["ApplyServerSideEncryptionByDefault"]
        algorithm, key = default["SSEAlgorithm"], str(default.get("KMSMasterKeyID", ""))
        bucket_key = bool(rule.get("BucketKeyEnabled", False))
        ok = algorithm == standard.algorithm and (algorithm != "aws:kms" or bucket_key == standard.bucket_key)
        if algorithm == "aws:kms" and standard.kms_key:
            ok = ok and key == standard.kms_key  # the sandbox's keys are named by alias, as the fix sends them
        return StateCheck(ok, f"{bucket}: {algorithm}" + (f" with {key}" if key else "")
                          + (", bucket key on" if bucket_key else ""))
    return check


def bucket_left_as_s3_left_it() -> Check:
    """DeleteBucketEncryption makes S3 reset the bucket to SSE-S3; OrgGuard must not have changed that."""
    def check(session: boto3.Session, bucket: str) -> StateCheck:
        rule = _encryption(session.client("s3"), bucket)
        default = (rule or {}).get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "AES256" and not default.get("KMSMasterKeyID"):
            return StateCheck(True, f"{bucket}: left as S3 left it (SSE-S3, not changed by OrgGuard)")
        return StateCheck(False, f"{bucket} is not as S3 left it: {default or 'no default encryption'}")
    return check


def instances_compliant(settings: Settings, admin_group: str, kept: dict[str, str] | None = None) -> Check:
    """Required tags and the admin group on every instance; ``kept``: tags the user set, which must be unchanged."""
    required = set(settings.policies.ec2_compliance.required_tags)

    def check(session: boto3.Session, resource: str) -> StateCheck:
        ids = [i.strip() for i in resource.split(",") if i.strip()]
        reservations = session.client("ec2").describe_instances(InstanceIds=ids)["Reservations"]
        problems = []
        for instance in (i for r in reservations for i in r["Instances"]):
            tags = tags_to_dict(instance.get("Tags"))
            missing = required - set(tags)
            groups = {g["GroupId"] for g in instance.get("SecurityGroups", [])}
            if missing:
                problems.append(f"{instance['InstanceId']} lacks tags {', '.join(sorted(missing))}")
            changed = {k for k, v in (kept or {}).items() if tags.get(k) != v}
            if changed:
                problems.append(f"{instance['InstanceId']}: the user's tags {', '.join(sorted(changed))} changed")
            if admin_group not in groups:
                problems.append(f"{instance['InstanceId']} is not in {admin_group}")
        found = sum(len(r["Instances"]) for r in reservations)
        if found != len(ids):
            problems.append(f"{len(ids) - found} instance(s) not found")
        if problems:
            return StateCheck(False, "; ".join(problems))
        own = f" ({', '.join(f'{k}={v}' for k, v in kept.items())} kept)" if kept else ""
        count = f"{len(ids)} instances" if len(ids) > 1 else ids[0]
        return StateCheck(True, f"{count} tagged {', '.join(sorted(required))}{own} and in {admin_group}")
    return check


def nothing_launched() -> Check:
    def check(session: boto3.Session, _resource: str) -> StateCheck:
        reservations = session.client("ec2").describe_instances(
            Filters=[{"Name": "tag:Name", "Values": [DRY_RUN_NAME]}])["Reservations"]
        launched = [i["InstanceId"] for r in reservations for i in r["Instances"]]
        if launched:
            return StateCheck(False, f"the dry run left instances: {', '.join(launched)}")
        return StateCheck(True, "the call failed (DryRunOperation); nothing was launched")
    return check
