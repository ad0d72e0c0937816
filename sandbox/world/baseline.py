"""What a platform team sets up in every workload account before anyone works there (account vending).

- a ``Developer`` role people sign in to (the users of the stories act through it);
- in every governed region, the administrators' security group in the default VPC (the group the
  ec2-compliance guardrail adds to new instances, found by name from the settings);
- the buckets a team already has (one encrypted to the standard, one exempt from s3-encryption by tag);
- when the organization's S3 standard names a key by alias, that key in every governed region (S3 resolves an
  alias in the bucket owner's account, so each account has its own key under the same alias).

Done through ``OrganizationAccountAccessRole`` and not watched by the CloudTrail emulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from handlers.settings import Settings
from sandbox.world.identities import Identity, account_admin, assume_role

DEVELOPER_ROLE = "Developer"
DEVELOPER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "s3:*"], "Resource": "*"}],
}


@dataclass
class Baseline:
    account: str
    admin_groups: dict[str, str] = field(default_factory=dict)  # region -> group id
    buckets: dict[str, str] = field(default_factory=dict)  # purpose -> bucket name


def create_developer_role(admin: Identity, trusted_account: str) -> None:
    iam = admin.session().client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{trusted_account}:root"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=DEVELOPER_ROLE, AssumeRolePolicyDocument=json.dumps(trust),
                    Description="People of the organization working in this account")
    iam.put_role_policy(RoleName=DEVELOPER_ROLE, PolicyName="workloads", PolicyDocument=json.dumps(DEVELOPER_POLICY))


def create_admin_group(ec2: Any, name: str) -> str:
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName=name, VpcId=vpc,
                                      Description="Administrators' access, managed by the platform team")
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "admin bastions"}]}])
    return str(group["GroupId"])


def create_bucket(s3: Any, name: str, region: str, algorithm: str, tags: dict[str, str] | None = None) -> str:
    """A bucket its team encrypts with ``algorithm`` ("" keeps what S3 gave it). S3 gave it SSE-S3 with SSE-C
    blocked, and PutBucketEncryption replaces the whole rule, so the team sends the SSE-C block back (the
    organization's standard asks for it)."""
    configuration = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **configuration)
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    if not algorithm:
        return name
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm},
                            "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}
    if algorithm == "aws:kms":
        rule["BucketKeyEnabled"] = True
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})
    return name


def create_s3_key(kms: Any, alias: str) -> str:
    """The organization's S3 key of this account and region, under the alias the standard names."""
    key = kms.create_key(Description="S3 default encryption key, managed by the platform team")["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return str(key["Arn"])


def set_up_account(management: boto3.Session, account: str, settings: Settings,
                   buckets: dict[str, tuple[str, str, dict[str, str]]] | None = None) -> Baseline:
    """The baseline of one account; ``buckets`` maps a purpose to (region, algorithm, tags)."""
    org = settings.organization
    admin = account_admin(management, account, org.hub_region)
    create_developer_role(admin, org.management_account)
    baseline = Baseline(account)
    group_name = settings.policies.ec2_compliance.admin_security_group.name
    key = settings.policies.s3_encryption.kms_key
    for region in org.regions:
        baseline.admin_groups[region] = create_admin_group(admin.session(region).client("ec2"), group_name)
        if key.startswith("alias/"):
            create_s3_key(admin.session(region).client("kms"), key)
    for purpose, (region, algorithm, tags) in (buckets or {}).items():
        name = f"{purpose}-{account}"
        baseline.buckets[purpose] = create_bucket(admin.session(region).client("s3"), name, region, algorithm, tags)
    return baseline


def developer(management: boto3.Session, account: str, person: str, region: str) -> Identity:
    """``person`` signed in to the Developer role of ``account``."""
    return assume_role(management, account, DEVELOPER_ROLE, person, region)
