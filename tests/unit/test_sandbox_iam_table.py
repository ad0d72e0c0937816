"""The strict embedded AWS's view of a request: which operation it is, which IAM action, which resources.

Requests are built by botocore itself (the client's own serializer and signer, captured before sending), so the
parser is tested on exactly what boto3 sends to AWS.
"""

from __future__ import annotations

import io
import urllib.parse
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest

from sandbox.aws.iam import resources as r
from sandbox.aws.iam.actions import OPERATIONS
from sandbox.aws.wire import AwsCall, parse

ACCOUNT = "111122223333"


class _Sent(Exception):
    def __init__(self, request: AWSPreparedRequest) -> None:
        self.request = request


def _capture(service: str, operation: str, region: str = "eu-west-1", **params: Any) -> AwsCall:
    """The AwsCall the gateway would see for this boto3 call."""
    client = boto3.client(service, region_name=region, aws_access_key_id="AKIDEXAMPLE",
                          aws_secret_access_key="secret", endpoint_url="http://127.0.0.1:1")

    def stop(request: AWSPreparedRequest, **_: Any) -> None:
        raise _Sent(request)

    client.meta.events.register_first("before-send.*.*", stop)
    with pytest.raises(_Sent) as sent:
        getattr(client, operation)(**params)
    request = sent.value.request
    url = urllib.parse.urlsplit(request.url)
    raw = request.body.read() if hasattr(request.body, "read") else request.body
    body = raw if isinstance(raw, bytes) else (raw or "").encode()
    environ: dict[str, Any] = {"REQUEST_METHOD": request.method, "PATH_INFO": urllib.parse.unquote(url.path),
                               "QUERY_STRING": url.query, "wsgi.input": io.BytesIO(body),
                               "CONTENT_LENGTH": str(len(body))}
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = (
            value.decode() if isinstance(value, bytes) else value)
    return parse(environ, body)


@pytest.mark.parametrize(("service", "method", "params", "operation"), [
    ("s3", "get_bucket_encryption", {"Bucket": "b"}, "GetBucketEncryption"),
    ("s3", "delete_bucket_encryption", {"Bucket": "b"}, "DeleteBucketEncryption"),
    ("s3", "list_objects_v2", {"Bucket": "b"}, "ListObjectsV2"),
    ("s3", "list_objects", {"Bucket": "b"}, "ListObjects"),
    ("s3", "head_bucket", {"Bucket": "b"}, "HeadBucket"),
    ("s3", "list_buckets", {}, "ListBuckets"),
    ("s3", "put_object", {"Bucket": "b", "Key": "k/e y", "Body": b"x"}, "PutObject"),
    ("s3", "copy_object", {"Bucket": "b", "Key": "k", "CopySource": "src/key"}, "CopyObject"),
    ("sts", "assume_role", {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/R", "RoleSessionName": "se"}, "AssumeRole"),
    ("ec2", "describe_instances", {}, "DescribeInstances"),
    ("events", "put_events", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}, "PutEvents"),
    ("sqs", "get_queue_url", {"QueueName": "q"}, "GetQueueUrl"),
    ("cloudwatch", "describe_alarms", {"AlarmNames": ["a"]}, "DescribeAlarms"),
])
def test_the_operation_is_found_as_aws_finds_it(service: str, method: str, params: dict[str, Any],
                                                operation: str) -> None:
    call = _capture(service, method, **params)
    assert (call.operation, call.access_key, call.region) == (operation, "AKIDEXAMPLE", "eu-west-1")


def _resources(call: AwsCall) -> list[tuple[str, str]]:
    return [(action, arn) for action, build in OPERATIONS[call.name] for arn in build(call, ACCOUNT)]


def test_s3_actions_are_not_the_operation_names() -> None:
    assert _resources(_capture("s3", "get_bucket_encryption", Bucket="b")) == [
        ("s3:GetEncryptionConfiguration", "arn:aws:s3:::b")]
    assert _resources(_capture("s3", "delete_bucket_encryption", Bucket="b")) == [
        ("s3:PutEncryptionConfiguration", "arn:aws:s3:::b")]
    assert _resources(_capture("s3", "list_buckets")) == [("s3:ListAllMyBuckets", "*")]
    assert _resources(_capture("s3", "head_bucket", Bucket="b")) == [("s3:ListBucket", "arn:aws:s3:::b")]
    assert _resources(_capture("s3", "copy_object", Bucket="b", Key="k", CopySource="src/a/b")) == [
        ("s3:PutObject", "arn:aws:s3:::b/k"), ("s3:GetObject", "arn:aws:s3:::src/a/b")]


def test_ec2_writes_name_every_resource_they_touch() -> None:
    tags = _capture("ec2", "create_tags", Resources=["i-0abc", "i-0def"], Tags=[{"Key": "Owner", "Value": "x"}])
    assert _resources(tags) == [("ec2:CreateTags", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0abc"),
                                ("ec2:CreateTags", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0def")]
    groups = _capture("ec2", "modify_instance_attribute", InstanceId="i-0abc", Groups=["sg-01", "sg-02"])
    assert [arn for _, arn in _resources(groups)] == [
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0abc", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:security-group/sg-01",
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:security-group/sg-02"]
    run = _capture("ec2", "run_instances", ImageId="ami-0123", MinCount=1, MaxCount=1)
    assert [arn for _, arn in _resources(run)] == [f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/*",
                                                   "arn:aws:ec2:eu-west-1::image/ami-0123"]


def test_buses_queues_topics_and_tables_are_named_by_arn() -> None:
    hub_bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orgguard"
    put = _capture("events", "put_events", Entries=[
        {"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": hub_bus},
        {"Source": "s", "DetailType": "d", "Detail": "{}"}])
    assert [arn for _, arn in _resources(put)] == [f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/default", hub_bus]
    rule = _capture("events", "describe_rule", Name="orgguard-s3", EventBusName="orgguard")
    rule_arn = f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/orgguard/orgguard-s3"
    assert _resources(rule) == [("events:DescribeRule", rule_arn)]
    queue = _capture("sqs", "receive_message", QueueUrl="https://sqs.eu-west-1.amazonaws.com/444455556666/q-dlq")
    assert _resources(queue) == [("sqs:ReceiveMessage", "arn:aws:sqs:eu-west-1:444455556666:q-dlq")]
    query = _capture("dynamodb", "query", TableName="audit", IndexName="by-account", KeyConditionExpression="a = :a",
                     ExpressionAttributeValues={":a": {"S": "1"}})
    index = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/audit/index/by-account"
    assert _resources(query) == [("dynamodb:Query", index)]
    alarm = _capture("cloudwatch", "describe_alarms", AlarmNames=["orgguard-dlq-not-empty"])
    assert _resources(alarm) == [("cloudwatch:DescribeAlarms",
                                  f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:orgguard-dlq-not-empty")]


def test_a_call_that_needs_no_permission_names_no_resource() -> None:
    assert _resources(_capture("sts", "get_caller_identity")) == []


def test_ec2_ids_are_typed_by_their_prefix() -> None:
    assert r.ec2_arn("sg-1", "us-east-1", ACCOUNT) == f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-1"
    assert r.ec2_arn("eni-1", "us-east-1", ACCOUNT) == f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-interface/eni-1"
    assert r.ec2_arn("ami-1", "us-east-1", ACCOUNT) == "arn:aws:ec2:us-east-1::image/ami-1"
