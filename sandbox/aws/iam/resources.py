"""The ARNs a call acts on, built from its parameters as AWS's authorization layer builds them.

Each builder takes the call and the calling account (the account a resource named only by name lives in) and
returns the resource ARNs. ``"*"`` is for actions without resource-level permissions (most Describe/List calls).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import replace

from sandbox.aws import state
from sandbox.aws.wire import AwsCall

P = "aws"
Builder = Callable[[AwsCall, str], list[str]]

EC2_TYPES = {  # id prefix -> EC2 resource type in ARNs
    "i-": "instance", "sg-": "security-group", "vpc-": "vpc", "eni-": "network-interface", "subnet-": "subnet",
    "ami-": "image", "vol-": "volume", "snap-": "snapshot", "igw-": "internet-gateway", "rtb-": "route-table",
    "acl-": "network-acl", "lt-": "launch-template", "key-": "key-pair", "eipalloc-": "elastic-ip",
}


def everything(_call: AwsCall, _account: str) -> list[str]:
    return ["*"]


def nothing(_call: AwsCall, _account: str) -> list[str]:
    """No authorization at all (``sts:GetCallerIdentity`` works even with every permission denied)."""
    return []


# -- IAM and STS ----------------------------------------------------------------------------------------------

def assumed_role(call: AwsCall, _account: str) -> list[str]:
    return [str(call.params.get("RoleArn", ""))]


def iam_role(call: AwsCall, account: str) -> list[str]:
    return [f"arn:{P}:iam::{account}:role/{call.params.get('RoleName', '')}"]


def iam_policy(call: AwsCall, account: str) -> list[str]:
    arn = call.params.get("PolicyArn")
    return [str(arn)] if arn else [f"arn:{P}:iam::{account}:policy/{call.params.get('PolicyName', '')}"]


# -- EventBridge ----------------------------------------------------------------------------------------------

def bus_arn(name_or_arn: str, region: str, account: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"arn:{P}:events:{region}:{account}:event-bus/{name_or_arn or 'default'}"


def event_buses(call: AwsCall, account: str) -> list[str]:
    entries = call.params.get("Entries") or [{}]
    return sorted({bus_arn(str(e.get("EventBusName") or "default"), call.region, account) for e in entries})


def event_bus(call: AwsCall, account: str) -> list[str]:
    name = str(call.params.get("EventBusName") or call.params.get("Name") or "default")
    return [bus_arn(name, call.region, account)]


def event_rule(call: AwsCall, account: str) -> list[str]:
    bus = str(call.params.get("EventBusName") or "default")
    if bus.startswith("arn:"):
        bus = bus.rsplit("/", 1)[-1]
    rule = str(call.params.get("Rule") or call.params.get("Name") or "")
    path = rule if bus == "default" else f"{bus}/{rule}"
    return [f"arn:{P}:events:{call.region}:{account}:rule/{path}"]


# -- SQS, SNS, DynamoDB, Logs, SSM, Lambda, KMS, CloudFormation ----------------------------------------------

def queue_arn_from_url(url: str, region: str) -> str:
    parts = [p for p in urllib.parse.urlparse(url).path.split("/") if p]
    account, name = (parts[-2], parts[-1]) if len(parts) >= 2 else ("", parts[-1] if parts else "")
    return f"arn:{P}:sqs:{region}:{account}:{name}"


def queue(call: AwsCall, account: str) -> list[str]:
    url = call.params.get("QueueUrl")
    if url:
        return [queue_arn_from_url(str(url), call.region)]
    owner = str(call.params.get("QueueOwnerAWSAccountId") or account)
    return [f"arn:{P}:sqs:{call.region}:{owner}:{call.params.get('QueueName', '')}"]


def topic(call: AwsCall, account: str) -> list[str]:
    arn = call.params.get("TopicArn") or call.params.get("TargetArn") or call.params.get("ResourceArn")
    if arn:
        return [str(arn)]
    return [f"arn:{P}:sns:{call.region}:{account}:{call.params.get('Name', '')}"]


def subscription_topic(call: AwsCall, _account: str) -> list[str]:
    arn = str(call.params.get("SubscriptionArn", ""))
    return [arn.rsplit(":", 1)[0]] if arn.count(":") >= 6 else ["*"]


def table_arn(name: str, region: str, account: str) -> str:
    return name if name.startswith("arn:") else f"arn:{P}:dynamodb:{region}:{account}:table/{name}"


def table(call: AwsCall, account: str) -> list[str]:
    arn = table_arn(str(call.params.get("TableName", "")), call.region, account)
    index = call.params.get("IndexName")
    return [f"{arn}/index/{index}"] if index else [arn]


def tables(call: AwsCall, account: str) -> list[str]:
    items = call.params.get("RequestItems") or {}
    return sorted(table_arn(str(name), call.region, account) for name in items)


def log_group(call: AwsCall, account: str) -> list[str]:
    group = call.params.get("logGroupName") or call.params.get("logGroupNamePrefix") or "*"
    stream = call.params.get("logStreamName")
    arn = f"arn:{P}:logs:{call.region}:{account}:log-group:{group}"
    return [f"{arn}:log-stream:{stream}" if stream else arn]


def parameter(call: AwsCall, account: str) -> list[str]:
    name = str(call.params.get("Name", "")).lstrip("/")
    return [f"arn:{P}:ssm:{call.region}:{account}:parameter/{name}"]


def function(call: AwsCall, account: str) -> list[str]:
    name = str(call.params.get("FunctionName", ""))
    return [name if name.startswith("arn:") else f"arn:{P}:lambda:{call.region}:{account}:function:{name}"]


def event_source_mapping(call: AwsCall, account: str) -> list[str]:
    return [f"arn:{P}:lambda:{call.region}:{account}:event-source-mapping:{call.params.get('UUID', '')}"]


def kms_key(call: AwsCall, account: str) -> list[str]:
    """The key ARN: a key named by an alias (name or ARN) is authorized on the key the alias points to, in the
    account and region of the alias (KMS developer guide, "Using aliases to control access to KMS keys": an alias
    in KeyId is not a resource of the key operations). An alias that points nowhere names no key and no resource
    to ask IAM about: AWS answers NotFoundException, and so does moto."""
    key = str(call.params.get("KeyId", ""))
    if ":alias/" in key or key.startswith("alias/"):
        region, owner = (key.split(":")[3], key.split(":")[4]) if key.startswith("arn:") else (call.region, account)
        alias = "alias/" + key.split("alias/", 1)[1]
        target = state.key_of_alias(owner, region, alias)
        return [f"arn:{P}:kms:{region}:{owner}:key/{target}"] if target else []
    if key.startswith("arn:"):
        return [key]
    return [f"arn:{P}:kms:{call.region}:{account}:key/{key}"]


def kms_alias_and_target(call: AwsCall, account: str) -> list[str]:
    """CreateAlias and UpdateAlias are authorized on the alias and on the key it points to (KMS developer guide,
    "Controlling access to aliases")."""
    alias = str(call.params.get("AliasName", ""))
    target = kms_key(replace(call, params={"KeyId": call.params.get("TargetKeyId", "")}), account)
    return [f"arn:{P}:kms:{call.region}:{account}:{alias}", *target]


# -- S3 -------------------------------------------------------------------------------------------------------

def bucket(call: AwsCall, _account: str) -> list[str]:
    return [f"arn:{P}:s3:::{call.params.get('Bucket', '')}"]


def bucket_object(call: AwsCall, _account: str) -> list[str]:
    return [f"arn:{P}:s3:::{call.params.get('Bucket', '')}/{call.params.get('Key', '')}"]


def copy_source(call: AwsCall, _account: str) -> list[str]:
    source = urllib.parse.unquote(call.headers.get("x-amz-copy-source", "")).lstrip("/").split("?", 1)[0]
    return [f"arn:{P}:s3:::{source}"]


# -- EC2 ------------------------------------------------------------------------------------------------------

def ec2_arn(resource_id: str, region: str, account: str) -> str:
    kind = next((t for prefix, t in EC2_TYPES.items() if resource_id.startswith(prefix)), "")
    if kind == "image":
        return f"arn:{P}:ec2:{region}::image/{resource_id}"
    return f"arn:{P}:ec2:{region}:{account}:{kind or 'resource'}/{resource_id}"


def ec2_ids(*names: str) -> Builder:
    """The EC2 resources named by these parameters (single values or query-protocol lists)."""

    def build(call: AwsCall, account: str) -> list[str]:
        ids: list[str] = []
        for name in names:
            value = call.params.get(name)
            ids.extend([str(value)] if value else [str(v) for v in call.listed(name)])
        return [ec2_arn(i, call.region, account) for i in ids]
    return build


def ec2_new(kind: str, *named: str) -> Builder:
    """A resource a call creates (``instance/*``) and the existing ones it names."""

    def build(call: AwsCall, account: str) -> list[str]:
        return [f"arn:{P}:ec2:{call.region}:{account}:{kind}/*", *ec2_ids(*named)(call, account)]
    return build


def interface_and_instance(call: AwsCall, account: str) -> list[str]:
    """ModifyNetworkInterfaceAttribute acts on the interface, its instance and the groups it sends."""
    from sandbox.aws.state import instance_of_interface

    eni = str(call.params.get("NetworkInterfaceId", ""))
    resources = [ec2_arn(eni, call.region, account)]
    instance = instance_of_interface(account, call.region, eni)
    if instance:
        resources.append(ec2_arn(instance, call.region, account))
    return resources + ec2_ids("SecurityGroupId")(call, account)


def stack(call: AwsCall, account: str) -> list[str]:
    name = str(call.params.get("StackName", ""))
    if name.startswith("arn:"):
        return [name]
    return [f"arn:{P}:cloudformation:{call.region}:{account}:stack/{name or '*'}/*"]


def stack_set(call: AwsCall, account: str) -> list[str]:
    name = str(call.params.get("StackSetName", ""))
    if name.startswith("arn:"):
        return [name]
    return [f"arn:{P}:cloudformation:{call.region}:{account}:stackset/{name.split(':', 1)[0] or '*'}:*"]


def alarms(call: AwsCall, account: str) -> list[str]:
    names = call.params.get("AlarmNames") or [call.params.get("AlarmName") or "*"]
    return [f"arn:{P}:cloudwatch:{call.region}:{account}:alarm:{name}" for name in names]


# -- Organizations --------------------------------------------------------------------------------------------

def organization_arn(identifier: str, caller: str) -> str:
    """The ARN of an account, OU, root, policy or the organization, by the shape of its id."""
    from sandbox.aws.state import organization_of, policy_type

    org = organization_of(caller)
    if org is None or not identifier:
        return "*"
    base, org_id = f"arn:{P}:organizations::{org.management_account}", org.organization_id
    if identifier.isdigit():
        return f"{base}:account/{org_id}/{identifier}"
    if identifier.startswith("ou-"):
        return f"{base}:ou/{org_id}/{identifier}"
    if identifier.startswith("r-"):
        return f"{base}:root/{org_id}/{identifier}"
    if identifier.startswith("p-"):
        kind = policy_type(org.management_account, identifier).lower()
        if identifier == "p-FullAWSAccess":
            return f"arn:{P}:organizations::aws:policy/{kind}/{identifier}"
        return f"{base}:policy/{org_id}/{kind}/{identifier}"
    return f"{base}:organization/{org_id}"


def organization_ids(*names: str) -> Builder:
    def build(call: AwsCall, account: str) -> list[str]:
        return [organization_arn(str(call.params[n]), account) for n in names if call.params.get(n)] or ["*"]
    return build


def organization_new(kind: str) -> Builder:
    def build(_call: AwsCall, account: str) -> list[str]:
        from sandbox.aws.state import organization_of

        org = organization_of(account)
        if org is None:
            return ["*"]
        return [f"arn:{P}:organizations::{org.management_account}:{kind}/{org.organization_id}/*"]
    return build


def organization_account(call: AwsCall, _account: str) -> list[str]:
    from sandbox.aws.state import organization_of

    member = str(call.params.get("AccountId", ""))
    org = organization_of(member)
    if org is None:
        return ["*"]
    return [f"arn:{P}:organizations::{org.management_account}:account/{org.organization_id}/{member}"]


def organization_parent(call: AwsCall, account: str) -> list[str]:
    from sandbox.aws.state import organization_of

    parent = str(call.params.get("ParentId", ""))
    org = organization_of(account)
    if org is None or not parent:
        return ["*"]
    kind = "root" if parent.startswith("r-") else "ou"
    return [f"arn:{P}:organizations::{org.management_account}:{kind}/{org.organization_id}/{parent}"]
