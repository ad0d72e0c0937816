"""The sandbox parts that stand in for AWS, each on its own: the CloudTrail emulator's records, and the
in-process Lambda's environment, identity, retries and on-failure destination."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.events.models import EventPattern

from handlers.events import parse
from handlers.registry import guardrail, spoke_forward_pattern
from sandbox.aws.server import EmbeddedAws, embedded_aws
from sandbox.demo.stories import TwoInterfaceLaunch
from sandbox.replay.ec2_network import event_interfaces
from sandbox.world.baseline import set_up_account
from sandbox.world.cloudtrail import CloudTrail, envelope_source
from sandbox.world.flow import EventFlow, tap_lambda_targets
from sandbox.world.hub import create_stack, create_what_moto_skips
from sandbox.world.identities import Identity, assume_role
from sandbox.world.lambda_runner import LAMBDA_SERVICE, LambdaRunner
from sandbox.world.organization import create_organization, sandbox_settings
from sandbox.world.template import TemplateResolver
from tests.support.samples import needs_samples

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "cloudtrail-samples" / "records"
CALLS: list[str] = []  # what the test handlers saw, in order


@dataclass(frozen=True)
class Accounts:
    member: str
    hub: str


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with embedded_aws() as running:
        yield running


@pytest.fixture(scope="module")
def accounts(aws: EmbeddedAws) -> Accounts:
    """An organization with a hub and one member that has the platform's Developer role (IAM is enforced)."""
    org = create_organization(aws.session(), member_names=("parts-member",))
    set_up_account(aws.session(), org.members[0], sandbox_settings(org))
    return Accounts(org.members[0], org.hub_account)


# -- the CloudTrail emulator ---------------------------------------------------------------------------------

@dataclass
class Trail:
    cloudtrail: CloudTrail
    identity: Identity
    delivered: list[dict[str, Any]]
    made: dict[str, str]


@pytest.fixture(scope="module")
def trail(aws: EmbeddedAws, accounts: Accounts) -> Trail:
    """A developer in a member account makes the calls of the stories; deliveries are kept, not put on a bus."""
    delivered: list[dict[str, Any]] = []
    cloudtrail = CloudTrail(deliver=lambda identity, record: delivered.append(record))
    identity = assume_role(aws.session(), accounts.member, "Developer", "dana", "us-east-1")
    session = cloudtrail.watch(identity)
    ec2 = session.client("ec2")
    made = {"vpc": ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]}
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    launched = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro")["Instances"]
    made["instances"] = ",".join(i["InstanceId"] for i in launched)
    with pytest.raises(ec2.exceptions.ClientError):
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, DryRun=True)
    west = cloudtrail.watch(identity, "eu-west-1").client("s3")
    west.create_bucket(Bucket="dana-west", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    west.put_bucket_encryption(Bucket="dana-west", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    west.delete_bucket_encryption(Bucket="dana-west")
    return Trail(cloudtrail, identity, delivered, made)


def test_records_carry_what_the_handlers_and_the_spoke_read(trail: Trail) -> None:
    cloudtrail, identity, made = trail.cloudtrail, trail.identity, trail.made
    run = next(r for r in cloudtrail.records if r["eventName"] == "RunInstances" and "errorCode" not in r)
    vpc, bucket = cloudtrail.last("CreateVpc"), cloudtrail.last("CreateBucket")
    assert guardrail("vpc-created").resource_ids(vpc) == [made["vpc"]]
    assert vpc["requestParameters"]["cidrBlock"] == "10.7.0.0/16"
    assert run["eventName"] == "RunInstances" and "errorCode" not in run
    assert guardrail("ec2-compliance").resource_ids(run) == made["instances"].split(",")
    assert run["requestParameters"]["instancesSet"]["items"][0]["minCount"] == 2
    assert guardrail("s3-encryption").resource_ids(bucket) == ["dana-west"]
    assert bucket["responseElements"] is None
    assert bucket["requestParameters"]["CreateBucketConfiguration"]["LocationConstraint"] == "eu-west-1"
    for record in (vpc, run, bucket):
        event = parse(record)
        member = identity.account
        assert (event.account, event.actor.arn, event.actor.issuer_arn) == (member, identity.arn, identity.role_arn)
        assert record["recipientAccountId"] == member and record["userIdentity"]["type"] == "AssumedRole"
    assert {vpc["awsRegion"], bucket["awsRegion"]} == {"us-east-1", "eu-west-1"}
    assert envelope_source(bucket) == "aws.s3" and envelope_source(vpc) == "aws.ec2"


def test_a_failed_call_is_recorded_with_its_error_and_the_spoke_pattern_drops_it(trail: Trail) -> None:
    cloudtrail = trail.cloudtrail
    failed = next(r for r in cloudtrail.records if "errorCode" in r)
    assert (failed["eventName"], failed["errorCode"]) == ("RunInstances", "Client.DryRunOperation")
    assert failed["responseElements"] is None
    pattern = EventPattern.load(json.dumps(spoke_forward_pattern()))

    def forwarded(record: dict[str, Any]) -> bool:
        return pattern.matches_event({"detail-type": "AWS API Call via CloudTrail", "source": envelope_source(record),
                                      "detail": record})

    assert not forwarded(failed)
    assert forwarded(cloudtrail.last("CreateVpc")) and forwarded(cloudtrail.last("DeleteBucketEncryption"))


def test_read_only_calls_are_recorded_but_not_delivered(trail: Trail) -> None:
    cloudtrail = trail.cloudtrail
    delivered = {r["eventID"] for r in trail.delivered}
    reads = [r for r in cloudtrail.records if r["readOnly"]]
    assert [r["eventName"] for r in reads] == ["DescribeImages"]
    assert reads[0]["eventID"] not in delivered
    assert {r["eventID"] for r in cloudtrail.records if not r["readOnly"]} == delivered


def test_s3_payloads_are_rendered_like_cloudtrail(trail: Trail) -> None:
    put = trail.cloudtrail.last("PutBucketEncryption")["requestParameters"]
    assert put["encryption"] == "" and put["Host"] == "dana-west.s3.eu-west-1.amazonaws.com"
    configuration = put["ServerSideEncryptionConfiguration"]
    assert configuration["Rule"]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert configuration["xmlns"] == "http://s3.amazonaws.com/doc/2006-03-01/"


@needs_samples(SAMPLES)
def test_records_have_the_fields_of_real_records(trail: Trail) -> None:
    for name in ("CreateVpc", "RunInstances", "CreateBucket", "DeleteBucketEncryption"):
        real = json.loads(next(SAMPLES.glob(f"*__{name}__*.json")).read_text())
        common = {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
                  "sourceIPAddress", "userAgent", "requestParameters", "responseElements", "eventID", "eventType",
                  "recipientAccountId"}
        assert common <= set(real)
        assert common <= set(trail.cloudtrail.last(name))


def test_a_launch_with_two_interfaces_is_recorded_with_both_as_replay_reads_them(aws: EmbeddedAws,
                                                                                   accounts: Accounts) -> None:
    cloudtrail = CloudTrail(deliver=lambda identity, record: None)
    identity = assume_role(aws.session(), accounts.member, "Developer", "dave", "us-east-1")
    launch = TwoInterfaceLaunch("recorded")

    instance_id = launch.act(cloudtrail.watch(identity))

    run = cloudtrail.last("RunInstances")
    requested = run["requestParameters"]["networkInterfaceSet"]["items"]
    assert [(i["deviceIndex"], [g["groupId"] for g in i["groupSet"]["items"]]) for i in requested] == \
        sorted(launch.launched.items())
    (item,) = run["responseElements"]["instancesSet"]["items"]
    assert item["instanceId"] == instance_id and len(item["networkInterfaceSet"]["items"]) == 2
    notes: list[str] = []
    interfaces = event_interfaces(item, run["requestParameters"], notes)
    assert [(i.device_index, sorted(g for g, _ in i.groups)) for i in interfaces] == sorted(launch.launched.items())
    assert interfaces[0].primary and notes == []


# -- the in-process Lambda ---------------------------------------------------------------------------------

def reporting_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports what a Lambda function sees: its environment, its identity, its event."""
    identity = boto3.client("sts").get_caller_identity()
    CALLS.append("reporting")
    return {"arn": identity["Arn"], "queue": os.environ["REPORT_QUEUE"], "name": context.function_name,
            "region": os.environ["AWS_REGION"], "account": event.get("account"), "detail": event.get("detail")}


def failing_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append("failing")
    raise RuntimeError("the handler failed on purpose")


def _function(handler: str) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": handler.replace("_", "-"), "Handler": f"test_demo_parts.{handler}", "Runtime": "python3.12",
        "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": "unused: the sandbox runs the handler in-process"},
        "Environment": {"Variables": {"REPORT_QUEUE": {"Ref": "Failures"}}}}}


TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "parts"}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "PartsHandler", "AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]},
            # Lambda writes the logs and sends a failed event to the on-failure destination with the execution role.
            "Policies": [{"PolicyName": "destination", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Failures", "Arn"]}},
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": "*"}]}}]}},
        "Failures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "parts-failures"}},
        "Reporting": _function("reporting_handler"),
        "Failing": _function("failing_handler"),
        "FailingConfig": {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {
            "FunctionName": {"Ref": "Failing"}, "Qualifier": "$LATEST", "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}}}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": "parts-rule", "EventBusName": {"Fn::GetAtt": ["Bus", "Name"]},
            "EventPattern": {"source": ["parts.test"]},
            "Targets": [{"Id": "reporting", "Arn": {"Fn::GetAtt": ["Reporting", "Arn"]}},
                        {"Id": "failing", "Arn": {"Fn::GetAtt": ["Failing", "Arn"]}}]}},
    },
}


@dataclass
class Flowed:
    flow: EventFlow
    hub: boto3.Session
    handled: int


@pytest.fixture(scope="module")
def flowed(aws: EmbeddedAws, accounts: Accounts) -> Flowed:
    """A small template deployed like the hub; one event put on its bus and pumped to both functions."""
    hub = assume_role(aws.session(), accounts.hub, "OrganizationAccountAccessRole", "operator", "us-east-1").session()
    resolver = TemplateResolver(TEMPLATE, accounts.hub, "us-east-1")
    resolver.physical_ids = create_stack(hub, "parts", TEMPLATE, {})
    assert create_what_moto_skips(hub, resolver) == {"FailingConfig": "AWS::Lambda::EventInvokeConfig"}
    runner = LambdaRunner(aws.service_session(LAMBDA_SERVICE, accounts.hub), resolver)
    flow = EventFlow(hub, "us-east-1", tap_lambda_targets(hub, resolver, runner), runner)
    CALLS.clear()
    hub.client("events").put_events(Entries=[{"Source": "parts.test", "DetailType": "Parts",
                                              "Detail": json.dumps({"n": 1}), "EventBusName": "parts"}])
    return Flowed(flow, hub, flow.pump())


def test_a_rule_delivers_to_the_handler_with_its_environment_and_role(flowed: Flowed, accounts: Accounts) -> None:
    hub = accounts.hub
    assert flowed.handled == 2  # one event, two targets
    reporting = next(d for d in flowed.flow.deliveries if d.function == "reporting-handler")
    assert reporting.succeeded and reporting.attempts == 1
    result = reporting.result
    assert result["arn"] == f"arn:aws:sts::{hub}:assumed-role/PartsHandler/reporting-handler"
    assert result["queue"].endswith(f"/{hub}/parts-failures")
    assert (result["name"], result["region"], result["account"]) == ("reporting-handler", "us-east-1", hub)
    assert result["detail"] == {"n": 1}
    assert "AWS_SESSION_TOKEN" not in os.environ  # the runtime's credentials did not leak into the process


def test_a_failing_handler_is_retried_twice_then_sent_to_its_on_failure_destination(flowed: Flowed) -> None:
    failed = next(d for d in flowed.flow.deliveries if d.function == "failing-handler")
    assert (failed.attempts, failed.dead_lettered, failed.succeeded) == (3, True, False)
    assert CALLS.count("failing") == 3
    sqs = flowed.hub.client("sqs")
    url = sqs.get_queue_url(QueueName="parts-failures")["QueueUrl"]
    record = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["detail"] == {"n": 1}
    assert record["responsePayload"]["errorType"] == "RuntimeError"
