"""A hub and a member account on moto for the handler tests, reached across a real account boundary.

The hub is moto's default account (the test credentials belong to it): it holds the audit table, the
alerts topic and a queue subscribed to the topic that captures every e-mail. The member is an account of
the hub's organization; the test sets up its state through a role it assumes there, the engine reaches it
only through ``handlers.sessions.MemberSessions`` (AssumeRole on OrgGuardRemediation), and the test reads
the member's state back the same way. Nothing uses MOTO_ACCOUNT_ID.

Test modules import the fixtures they use from here (``aws_fixture``, ``hub_fixture``, ``member_fixture``;
pytest knows them as ``aws``, ``hub``, ``member``). ``tests/functional/conftest.py`` belongs to others.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from handlers.audit import AuditLog, event_key
from handlers.contract import TABLE_PARTITION_KEY
from handlers.engine import Processed, Runtime, process
from handlers.notify import Notifier, Renderer
from handlers.registry import POLICIES_BY_ID, REMEDIATION_ROLE_NAME
from handlers.sessions import MemberSessions
from handlers.settings import Settings, validate
from sandbox.moto_s3 import returns_blocked_encryption_types

HUB_ACCOUNT = "123456789012"  # moto's default account: the static test credentials belong to it
HUB_REGION = "us-east-1"
MEMBER_REGION = "eu-west-1"
MEMBER_NAME = "workloads-prod"
MEMBER_ACCESS_ROLE = "OrganizationAccountAccessRole"  # the test's own way in, never the engine's
TABLE_NAME = "orgguard-audit"
TOPIC_NAME = "orgguard-alerts"
ADMIN_GROUP_NAME = "administrators"
IMAGE_ID = "ami-0abcdef1234567890"  # moto launches unknown AMIs unless MOTO_ENABLE_AMI_VALIDATION is set
EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


@functools.cache
def _shared_loader(search_path: str | None) -> botocore.loaders.Loader:
    return botocore.loaders.create_loader(search_path)


# --- accounts ------------------------------------------------------------------------------------


@pytest.fixture(name="aws")
def aws_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """moto, with the caller's AWS environment set aside so nothing can reach a real account."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "ORGGUARD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", HUB_REGION)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # each new account+region would load ~1300
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    # Every boto3.Session parses botocore's JSON models again; the tests create many (each AssumeRole makes
    # one), so they share one loader per worker. What the engine does with its sessions is unchanged.
    monkeypatch.setattr(botocore.session, "create_loader", _shared_loader)
    returns_blocked_encryption_types()
    with mock_aws():
        yield


@dataclass
class Mail:
    """One notification as the queue subscribed to the topic received it."""

    subject: str
    body: str
    attributes: dict[str, str]


@dataclass
class Hub:
    session: boto3.Session
    dynamodb: Any
    sns: Any
    sqs: Any
    topic_arn: str
    queue_url: str
    table_name: str = TABLE_NAME
    _mail: list[Mail] = field(default_factory=list)

    def mail(self) -> list[Mail]:
        """Every notification published so far (the queue is drained into a list kept across calls)."""
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                             WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return list(self._mail)
            for message in batch:
                envelope = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                self._mail.append(Mail(envelope.get("Subject", ""), envelope["Message"], attributes))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def audit_log(self) -> AuditLog:
        return AuditLog(self.dynamodb, self.table_name)

    def item(self, key: str) -> dict[str, Any] | None:
        return self.audit_log().get(key)

    def event_item(self, event_id: str) -> dict[str, Any]:
        item = self.item(event_key(event_id))
        assert item is not None, f"no audit item for event {event_id}"
        return item

    def keys(self) -> list[str]:
        items = self.dynamodb.scan(TableName=self.table_name, ProjectionExpression="#pk",
                                   ExpressionAttributeNames={"#pk": TABLE_PARTITION_KEY})["Items"]
        return sorted(i[TABLE_PARTITION_KEY]["S"] for i in items)


@pytest.fixture(name="hub")
def hub_fixture(aws: None) -> Hub:
    session = boto3.Session(region_name=HUB_REGION)
    assert session.client("sts").get_caller_identity()["Account"] == HUB_ACCOUNT
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(TableName=TABLE_NAME, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": TABLE_PARTITION_KEY, "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": TABLE_PARTITION_KEY, "KeyType": "HASH"}])
    sns, sqs = session.client("sns"), session.client("sqs")
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="captured-mail")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    session.client("organizations").create_organization(FeatureSet="ALL")
    return Hub(session, dynamodb, sns, sqs, topic_arn, queue_url)


@dataclass
class Member:
    """A member account as the test sees it: through a role the test assumed there itself."""

    account: str
    region: str
    name: str
    session: boto3.Session
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region)
        return self._clients[service]


def assume(base: boto3.Session, account: str, role: str, region: str) -> boto3.Session:
    creds = base.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="orgguard-test")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=region)


@pytest.fixture(name="member")
def member_fixture(hub: Hub) -> Member:
    status = hub.session.client("organizations").create_account(
        Email="workloads@example.com", AccountName=MEMBER_NAME)["CreateAccountStatus"]
    account = status["AccountId"]
    session = assume(hub.session, account, MEMBER_ACCESS_ROLE, MEMBER_REGION)
    assert session.client("sts").get_caller_identity()["Account"] == account
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT}:role/OrgGuardHubHandler"}}]}
    session.client("iam").create_role(RoleName=REMEDIATION_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    return Member(account, MEMBER_REGION, MEMBER_NAME, session)


# --- settings and runtime ------------------------------------------------------------------------


def settings_for(member: Member, policies: dict[str, dict[str, Any]] | None = None,
                 **sections: dict[str, Any]) -> Settings:
    raw: dict[str, Any] = {
        "organization": {"management_account": HUB_ACCOUNT, "hub_account": HUB_ACCOUNT, "hub_region": HUB_REGION,
                         "regions": [HUB_REGION, member.region]},
        "policies": policies or {},
        **sections,
    }
    return validate(raw, "test settings")


def runtime(hub: Hub, settings: Settings, base: boto3.Session | None = None,
            renderer: Renderer | None = None) -> Runtime:
    """The engine's runtime as the Lambda builds it: hub clients, and member access only by AssumeRole."""
    orgs = hub.session.client("organizations")

    def account_name(account: str) -> str:
        return str(orgs.describe_account(AccountId=account)["Account"]["Name"])

    return Runtime(
        settings=settings,
        members=MemberSessions(base or boto3.Session(region_name=HUB_REGION)),
        audit=hub.audit_log(),
        notifier=Notifier(hub.sns, hub.topic_arn, renderer or Renderer(user_dir="")),
        account_name_lookup=account_name,
    )


def run(payload: Any, policy_id: str, rt: Runtime) -> Processed:
    return process(payload, POLICIES_BY_ID[policy_id], rt)


def engine_client(rt: Runtime, member: Member, service: str) -> Any:
    """The very client the engine will use in the member account (MemberSessions caches it)."""
    return rt.members.client(member.account, member.region, service)


# --- botocore hooks ------------------------------------------------------------------------------


def client_error(code: str, operation: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def record_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """Parameters of every ``operation`` call the client gets a success response for, from now on."""
    calls: list[dict[str, Any]] = []
    service = client.meta.service_model.service_name

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["recorded_params"] = copy.deepcopy(params)

    def succeeded(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code < 300:
            calls.append(context["recorded_params"])

    client.meta.events.register(f"before-parameter-build.{service}.{operation}", remember)
    client.meta.events.register(f"after-call.{service}.{operation}", succeeded)
    return calls


def fail_calls(events: Any, service: str, operation: str, code: str, times: int = 1,
               status: int = 400) -> Callable[[], int]:
    """Make the first ``times`` calls raise ``code`` as if botocore had given up retrying; returns a counter."""
    attempts = {"n": 0}

    def hook(**_: Any) -> None:
        attempts["n"] += 1
        if attempts["n"] <= times:
            raise client_error(code, operation, status)

    events.register(f"before-call.{service}.{operation}", hook)
    return lambda: attempts["n"]


# --- member state --------------------------------------------------------------------------------


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
    admin = (ec2.create_security_group(GroupName=ADMIN_GROUP_NAME, Description="admins", VpcId=vpc_id)["GroupId"]
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


# --- events --------------------------------------------------------------------------------------


def load_event(relative: str) -> dict[str, Any]:
    """A real sample from tests/events (``records/...`` bare record, ``wrapped/...`` EventBridge envelope)."""
    return dict(json.loads((EVENTS_DIR / relative).read_text()))


def retarget(payload: dict[str, Any], member: Member, event_id: str | None = None) -> dict[str, Any]:
    """Point a real record at the member account and region, with a fresh event id.

    The record's own account id is replaced everywhere (actor ARNs included), so the actor reads as a
    principal of the member account.
    """
    detail = payload.get("detail", payload)
    original = detail.get("recipientAccountId") or detail["userIdentity"]["accountId"]
    text = json.dumps(payload).replace(original, member.account)
    result = json.loads(text)
    record = result.get("detail", result)
    record["recipientAccountId"] = member.account
    record["awsRegion"] = member.region
    record["eventID"] = event_id or str(uuid.uuid4())
    if "detail" in result:
        result["account"], result["region"] = member.account, member.region
    return dict(result)


def bucket_event(relative: str, member: Member, bucket: str, event_id: str | None = None) -> dict[str, Any]:
    payload = retarget(load_event(relative), member, event_id)
    record = payload.get("detail", payload)
    record["requestParameters"]["bucketName"] = bucket
    return payload


def vpc_event(relative: str, member: Member, vpc_id: str, cidr: str, event_id: str | None = None) -> dict[str, Any]:
    payload = retarget(load_event(relative), member, event_id)
    record = payload.get("detail", payload)
    record["requestParameters"]["cidrBlock"] = cidr
    vpc = record["responseElements"]["vpc"]
    vpc.update(vpcId=vpc_id, cidrBlock=cidr, ownerId=member.account)
    for association in vpc["cidrBlockAssociationSet"]["items"]:
        association["cidrBlock"] = cidr
    return payload


def run_instances_event(relative: str, member: Member, instance_ids: list[str], network: Network,
                        event_id: str | None = None) -> dict[str, Any]:
    """The record's instancesSet, one item per instance id (extra items copy the record's first one)."""
    payload = retarget(load_event(relative), member, event_id)
    record = payload.get("detail", payload)
    items = record["responseElements"]["instancesSet"]["items"]
    template = items[0]
    new_items = []
    for index, instance_id in enumerate(instance_ids):
        item = copy.deepcopy(items[index] if index < len(items) else template)
        item.update(instanceId=instance_id, vpcId=network.vpc_id, subnetId=network.subnet_id)
        new_items.append(item)
    record["responseElements"]["instancesSet"]["items"] = new_items
    return payload
