"""A hub and member accounts on in-process moto, with every engine client wired through an ``Injector``.

The engine reaches members only through ``MemberSessions`` (AssumeRole), exactly as in Lambda; the test
reads and changes member state through its own, uninstrumented sessions, so its reads are neither
faulted nor counted. The hub is moto's default account (the static test credentials belong to it).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from handlers.audit import AuditLog
from handlers.contract import TABLE_PARTITION_KEY
from handlers.engine import Processed, Runtime, process
from handlers.notify import Notifier, Renderer
from handlers.registry import POLICIES_BY_ID
from handlers.sessions import RETRY_CONFIG, MemberSessions
from handlers.settings import Settings, validate

from .faults import Injector

HUB_ACCOUNT = "123456789012"
HUB_REGION = "us-east-1"
MEMBER_ACCOUNT = "210987654321"
OTHER_MEMBER_ACCOUNT = "310987654321"
MEMBER_REGION = "eu-west-1"
TABLE_NAME = "orgguard-audit"
TOPIC_NAME = "orgguard-alerts"
ADMIN_GROUP = "administrators"
TEST_ROLE = "OrganizationAccountAccessRole"  # the test's own way into a member, never the engine's
MOTO_IMAGE = "ami-03cf127a"  # moto does not validate image ids; the tests skip its built-in images


def settings(**sections: dict[str, Any]) -> Settings:
    raw: dict[str, Any] = {
        "organization": {"management_account": HUB_ACCOUNT, "hub_account": HUB_ACCOUNT, "hub_region": HUB_REGION,
                         "regions": [HUB_REGION, MEMBER_REGION]},
        **sections,
    }
    return validate(raw, "reliability test settings")


def assume(base: boto3.Session, account: str, role: str, region: str) -> boto3.Session:
    creds = base.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="reliability-test")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=region)


class InstrumentedMemberSessions(MemberSessions):
    """``MemberSessions`` whose member clients carry the injector's hooks (STS comes from the hub session)."""

    def __init__(self, base: boto3.Session, injector: Injector, **kwargs: Any) -> None:
        super().__init__(base, **kwargs)
        self._injector = injector
        self._instrumented: set[int] = set()

    def client(self, account: str, region: str, service: str) -> Any:
        client = super().client(account, region, service)
        if id(client) not in self._instrumented:
            self._injector.attach(client.meta.events)
            self._instrumented.add(id(client))
        return client


@dataclass
class Mail:
    subject: str
    body: str
    attributes: dict[str, str]


@dataclass
class Member:
    account: str
    region: str
    session: boto3.Session

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region)

    # -- state the scenarios start from ---------------------------------------------------------------

    def vpc(self, cidr: str = "10.20.0.0/16", name: str = "") -> str:
        tags = [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}] if name else []
        return str(self.client("ec2").create_vpc(CidrBlock=cidr, TagSpecifications=tags)["Vpc"]["VpcId"])

    def bucket(self, name: str | None = None) -> str:
        name = name or f"reliability-{uuid.uuid4().hex[:12]}"
        self.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        return name

    def instance(self) -> tuple[str, str]:
        """An instance without the required tags or the admin group, in a VPC that has the admin group."""
        ec2 = self.client("ec2")
        vpc_id = self.vpc("10.30.0.0/16")
        subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
        admin = ec2.create_security_group(GroupName=ADMIN_GROUP, Description="admins", VpcId=vpc_id)["GroupId"]
        app = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc_id)["GroupId"]
        instance = ec2.run_instances(ImageId=MOTO_IMAGE, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                     SubnetId=subnet, SecurityGroupIds=[app])["Instances"][0]["InstanceId"]
        return str(instance), str(admin)

    # -- state read back ------------------------------------------------------------------------------------

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.client("s3").head_bucket(Bucket=bucket)
        except ClientError:
            return False
        return True

    def encryption(self, bucket: str) -> dict[str, Any] | None:
        try:
            rules = self.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError":
                return None
            raise
        rule = rules[0]
        return {"algorithm": rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
                "bucket_key": bool(rule.get("BucketKeyEnabled", False))}

    def described(self, instance_id: str) -> dict[str, Any]:
        reservations = self.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
        return dict(reservations[0]["Instances"][0])

    def instance_tags(self, instance_id: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.described(instance_id).get("Tags", [])}

    def instance_groups(self, instance_id: str) -> set[str]:
        return {g["GroupId"] for g in self.described(instance_id).get("SecurityGroups", [])}


@dataclass
class World:
    injector: Injector
    engine_session: boto3.Session  # the hub's credentials as the engine uses them (instrumented)
    admin: boto3.Session  # the test's view of the hub (not instrumented)
    topic_arn: str
    mail_queue: str
    members: dict[str, Member] = field(default_factory=dict)
    _mail: list[Mail] = field(default_factory=list)

    @property
    def member(self) -> Member:
        return self.members[MEMBER_ACCOUNT]

    def runtime(self, config: Settings | None = None, clock: Callable[[], float] = time.time,
                audit_clock: Callable[[], float] = time.time) -> Runtime:
        """The engine's runtime as Lambda builds it, every client hooked to the injector."""
        config = config or settings()
        dynamodb = self.engine_session.client("dynamodb", region_name=HUB_REGION, config=RETRY_CONFIG)
        sns = self.engine_session.client("sns", region_name=HUB_REGION, config=RETRY_CONFIG)
        return Runtime(
            settings=config,
            members=InstrumentedMemberSessions(self.engine_session, self.injector),
            audit=AuditLog(dynamodb, TABLE_NAME, config.hub.audit_retention_days, clock=audit_clock),
            notifier=Notifier(sns, self.topic_arn, Renderer(user_dir="")),
            clock=clock,
        )

    def deliver(self, payload: Any, policy_id: str, rt: Runtime) -> Processed | Exception:
        """One Lambda invocation: the result, or the exception that makes Lambda retry."""
        try:
            return process(payload, POLICIES_BY_ID[policy_id], rt)
        except Exception as error:
            return error

    def mail(self) -> list[Mail]:
        sqs = self.admin.client("sqs", region_name=HUB_REGION)
        while True:
            batch = sqs.receive_message(QueueUrl=self.mail_queue, MaxNumberOfMessages=10,
                                        WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return list(self._mail)
            for message in batch:
                body = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in body.get("MessageAttributes", {}).items()}
                self._mail.append(Mail(body.get("Subject", ""), body["Message"], attributes))
                sqs.delete_message(QueueUrl=self.mail_queue, ReceiptHandle=message["ReceiptHandle"])

    def audit(self) -> AuditLog:
        return AuditLog(self.admin.client("dynamodb", region_name=HUB_REGION), TABLE_NAME)

    def audit_keys(self) -> list[str]:
        client = self.admin.client("dynamodb", region_name=HUB_REGION)
        keys: list[str] = []
        for page in client.get_paginator("scan").paginate(TableName=TABLE_NAME, ProjectionExpression="#pk",
                                                          ExpressionAttributeNames={"#pk": TABLE_PARTITION_KEY}):
            keys.extend(item[TABLE_PARTITION_KEY]["S"] for item in page["Items"])
        return sorted(keys)

    def add_member(self, account: str, region: str = MEMBER_REGION) -> Member:
        member = Member(account, region, assume(self.admin, account, TEST_ROLE, region))
        self.members[account] = member
        return member


def build_world() -> World:
    """Call inside ``mock_aws`` with the test credentials in the environment."""
    admin = boto3.Session(region_name=HUB_REGION)
    dynamodb = admin.client("dynamodb")
    dynamodb.create_table(TableName=TABLE_NAME, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": TABLE_PARTITION_KEY, "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": TABLE_PARTITION_KEY, "KeyType": "HASH"}])
    sns, sqs = admin.client("sns"), admin.client("sqs")
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="captured-mail")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    injector = Injector()
    engine_session = boto3.Session(region_name=HUB_REGION)
    injector.attach(engine_session.events)
    world = World(injector, engine_session, admin, topic_arn, queue_url)
    world.add_member(MEMBER_ACCOUNT)
    return world
