"""The benchmark's seed (an organization of member accounts with buckets, an admin group and instances, the
remediation role, a hub table and topic) and the final check of what each tool left correct."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

REGION = "us-east-1"
REMEDIATION_ROLE = "OrgGuardRemediation"
ACCESS_ROLE = "OrganizationAccountAccessRole"
ADMIN_GROUP = "administrators"
IMAGE = "ami-12c6146b"  # one of moto's built-in images


@dataclass
class Seed:
    management: str
    accounts: list[str]
    sessions: dict[str, boto3.Session] = field(default_factory=dict)  # through OrganizationAccountAccessRole
    buckets: int = 0
    unencrypted: int = 0
    instances: int = 0
    admin_groups: dict[str, str] = field(default_factory=dict)


def _member_session(management: boto3.Session, account: str) -> boto3.Session:
    credentials = management.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}", RoleSessionName="benchmark-seed")["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=REGION)


def _seed_account(session: boto3.Session, management: str, index: int, buckets: int, instances: int) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{management}:root"}}]}
    session.client("iam").create_role(RoleName=REMEDIATION_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    s3 = session.client("s3")
    for number in range(buckets):
        name = f"bench-{index:02d}-{number:04d}"
        s3.create_bucket(Bucket=name)
        if number % 2:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    ec2 = session.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group = str(ec2.create_security_group(GroupName=ADMIN_GROUP, Description="admins", VpcId=vpc)["GroupId"])
    if instances:
        ec2.run_instances(ImageId=IMAGE, MinCount=instances, MaxCount=instances, InstanceType="t3.micro")
    return group


def seed(aws: Any, accounts: int, buckets: int, instances: int) -> Seed:
    management = aws.session()
    org = management.client("organizations")
    org.create_organization(FeatureSet="ALL")
    management_id = str(org.describe_organization()["Organization"]["MasterAccountId"])
    ids = [str(org.create_account(AccountName=f"bench-{i:02d}", Email=f"bench-{i:02d}@example.com")
               ["CreateAccountStatus"]["AccountId"]) for i in range(accounts)]
    result = Seed(management_id, ids)
    for index, account in enumerate(ids):
        session = _member_session(management, account)
        result.sessions[account] = session
        result.admin_groups[account] = _seed_account(session, management_id, index, buckets, instances)
    result.buckets = accounts * buckets
    result.unencrypted = accounts * (buckets - buckets // 2)
    result.instances = accounts * instances
    hub = management
    hub.client("dynamodb").create_table(
        TableName="orgguard-audit", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    hub.client("sns").create_topic(Name="orgguard-alerts")
    aws.parts.settle()  # the seeded resources predate the sweep: EC2's consistency window is over for them
    return result


def buckets_correct(seed_: Seed) -> int:
    correct = 0
    for session in seed_.sessions.values():
        s3 = session.client("s3")
        for bucket in s3.list_buckets()["Buckets"]:
            try:
                rules = s3.get_bucket_encryption(Bucket=bucket["Name"])["ServerSideEncryptionConfiguration"]["Rules"]
            except s3.exceptions.ClientError:
                continue
            algorithm = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] if rules else ""
            correct += algorithm in ("AES256", "aws:kms")
    return correct


def instances_correct(seed_: Seed) -> int:
    correct = 0
    for account, session in seed_.sessions.items():
        pages = session.client("ec2").get_paginator("describe_instances").paginate()
        for page in pages:
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    tags = {t["Key"] for t in instance.get("Tags", [])}
                    groups = {g["GroupId"] for g in instance.get("SecurityGroups", [])}
                    correct += {"Owner", "CostCenter"} <= tags and seed_.admin_groups[account] in groups
    return correct
