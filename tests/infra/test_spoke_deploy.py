"""The spoke templates deployed as plain stacks (the management account's case) into moto: the roles once
in the home region and the rules in every region, and the deployed rules deliver to the hub bus of another
account."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.contract import (
    CANARY_DETAIL_TYPE,
    CANARY_RULE_NAME,
    CANARY_SOURCE,
    FORWARD_DLQ_NAME,
    HUB_HANDLER_ROLE_NAME,
)
from handlers.registry import (
    CLOUDTRAIL_DETAIL_TYPE,
    FORWARD_RULE_NAME,
    FORWARDER_ROLE_NAME,
    REMEDIATION_ROLE_NAME,
    remediation_permissions,
    spoke_forward_pattern,
)
from handlers.settings import Settings, validate
from spoke.render import (
    forwarder_role_arn,
    hub_bus_arn,
    remediation_trust_policy,
    render_spoke,
    render_spoke_global,
)
from stacksets.checks import trust_matches
from tests.support.samples import require_samples
from tests.support.spoke_templates import (
    HUB_ACCOUNT,
    OPERATOR_ROLES,
    PARTITION,
)

# --- deployed as a plain stack (the management account's case) into moto ------------------------------


# moto's CloudFormation skips AWS::SQS::QueuePolicy and AWS::CloudWatch::Alarm and says so; both are tested on
# the template.
def SKIPPED_BY_MOTO(test: Any) -> Any:
    for kind in ("SQS..QueuePolicy", "CloudWatch..Alarm"):
        test = pytest.mark.filterwarnings(f"ignore:Tried to parse AWS..{kind}:UserWarning")(test)
    return test


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


def deploy(settings: Settings, region: str, roles: bool = False) -> dict[str, str]:
    """The regional stack, or with ``roles`` the global one, as a plain stack in ``region``."""
    cloudformation = boto3.client("cloudformation", region_name=region)
    name = settings.rollout.management_global_stack_name if roles else settings.rollout.management_stack_name
    body = render_spoke_global(settings) if roles else render_spoke(settings)
    cloudformation.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def inline_policy(role_name: str) -> dict[str, Any]:
    iam = boto3.client("iam")
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    # moto stores a CloudFormation role's inline policy as the repr of a dict, which botocore cannot decode
    parsed = document if isinstance(document, dict) else ast.literal_eval(document)
    assert isinstance(parsed, dict)
    return parsed


def role_exists(name: str) -> bool:
    try:
        boto3.client("iam").get_role(RoleName=name)
    except boto3.client("iam").exceptions.NoSuchEntityException:
        return False
    return True


@SKIPPED_BY_MOTO
@pytest.mark.usefixtures("aws")
def test_plain_stacks_create_the_roles_once_and_the_rules_in_every_region() -> None:
    settings = validate({"organization": {"regions": ["us-east-1", "eu-west-1"],
                                          "operator_roles": OPERATOR_ROLES}})
    home, other = settings.organization.spoke_home_region, "eu-west-1"
    assert home == "us-east-1"
    account = boto3.client("sts").get_caller_identity()["Account"]

    outputs_other = deploy(settings, other)  # the regional stack creates no IAM at all
    outputs_home = deploy(settings, home)
    assert not role_exists(FORWARDER_ROLE_NAME) and not role_exists(REMEDIATION_ROLE_NAME)
    outputs_roles = deploy(settings, home, roles=True)
    assert outputs_roles["RemediationRoleArn"] == f"arn:aws:iam::{account}:role/{REMEDIATION_ROLE_NAME}"
    assert outputs_roles["ForwarderRoleArn"] == f"arn:aws:iam::{account}:role/{FORWARDER_ROLE_NAME}"
    assert forwarder_role_arn(settings, account) == outputs_roles["ForwarderRoleArn"]

    for region, outputs in ((other, outputs_other), (home, outputs_home)):
        events = boto3.client("events", region_name=region)
        queue_arn = f"arn:aws:sqs:{region}:{account}:{FORWARD_DLQ_NAME}"
        for rule_name, pattern in ((FORWARD_RULE_NAME, spoke_forward_pattern()),
                                   (CANARY_RULE_NAME, {"source": [CANARY_SOURCE]})):
            rule = events.describe_rule(Name=rule_name)
            assert rule["EventBusName"] == "default" and rule["State"] == "ENABLED"
            assert json.loads(rule["EventPattern"]) == pattern
            (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
            assert target["Arn"] == hub_bus_arn(settings)
            assert target["RoleArn"] == outputs_roles["ForwarderRoleArn"]
            assert target["DeadLetterConfig"] == {"Arn": queue_arn}
            assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
        assert outputs["ForwardRuleArn"] == f"arn:aws:events:{region}:{account}:rule/{FORWARD_RULE_NAME}"
        sqs = boto3.client("sqs", region_name=region)
        attributes = sqs.get_queue_attributes(
            QueueUrl=outputs["DlqUrl"], AttributeNames=["All"])["Attributes"]
        assert attributes["QueueArn"] == queue_arn
        assert attributes["SqsManagedSseEnabled"] == "true"
        assert attributes["MessageRetentionPeriod"] == str(14 * 86400)

    iam = boto3.client("iam")
    remediation = iam.get_role(RoleName=REMEDIATION_ROLE_NAME)["Role"]
    assert remediation["MaxSessionDuration"] == 3600
    # What `orgguard status` compares a member's trust with is what the template deploys.
    assert trust_matches(remediation["AssumeRolePolicyDocument"], remediation_trust_policy(settings))
    (trust,) = remediation["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{HUB_ACCOUNT}:root"}
    assert trust["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
        f"arn:aws:iam::{HUB_ACCOUNT}:role/{HUB_HANDLER_ROLE_NAME}", *OPERATOR_ROLES]
    document = inline_policy(REMEDIATION_ROLE_NAME)
    granted = {s["Action"]: s["Resource"] for s in document["Statement"]}
    assert granted == {p.action: [r.replace(PARTITION, "aws").replace("${AWS::Region}", home)
                                  .replace("${AWS::AccountId}", account) for r in p.resources]
                       for p in remediation_permissions()}

    document = inline_policy(FORWARDER_ROLE_NAME)
    granted_forwarder = [(s["Action"], s["Resource"]) for s in document["Statement"]]
    assert granted_forwarder == [("events:PutEvents", hub_bus_arn(settings))]


SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "cloudtrail-samples" / "records"


@SKIPPED_BY_MOTO
@pytest.mark.usefixtures("aws")
def test_deployed_rules_deliver_to_the_hub_bus_of_another_account() -> None:
    """End to end in moto: what the spoke forwards from a non-home region reaches the hub account's bus."""
    require_samples(SAMPLES)
    settings = validate({})
    hub_credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{HUB_ACCOUNT}:role/HubAdmin", RoleSessionName="spoke-test")["Credentials"]
    hub = boto3.Session(aws_access_key_id=hub_credentials["AccessKeyId"],
                        aws_secret_access_key=hub_credentials["SecretAccessKey"],
                        aws_session_token=hub_credentials["SessionToken"],
                        region_name=settings.organization.hub_region)
    hub.client("events").create_event_bus(Name=settings.hub.bus_name)
    seen_url = hub.client("sqs").create_queue(QueueName="seen-by-hub")["QueueUrl"]
    seen_arn = hub.client("sqs").get_queue_attributes(
        QueueUrl=seen_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    hub.client("events").put_rule(Name="everything", EventBusName=settings.hub.bus_name,
                                  EventPattern=json.dumps({"detail-type": [{"prefix": ""}]}))
    hub.client("events").put_targets(Rule="everything", EventBusName=settings.hub.bus_name,
                                     Targets=[{"Id": "seen", "Arn": seen_arn}])

    deploy(settings, "eu-west-1")
    succeeded = json.loads((SAMPLES / "spotlight__CreateVpc__1.json").read_text())
    failed = json.loads((SAMPLES / "panther__CreateVpc__2.json").read_text())
    unrelated = json.loads((SAMPLES / "stratus__ConsoleLogin__1.json").read_text())
    entries = [{"Source": "aws.ec2", "DetailType": CLOUDTRAIL_DETAIL_TYPE, "Detail": json.dumps(record)}
               for record in (succeeded, failed, unrelated)]
    entries.append({"Source": CANARY_SOURCE, "DetailType": CANARY_DETAIL_TYPE,
                    "Detail": json.dumps({"probe": "p-1"})})
    result = boto3.client("events", region_name="eu-west-1").put_events(Entries=entries)
    assert result["FailedEntryCount"] == 0

    messages = hub.client("sqs").receive_message(QueueUrl=seen_url, MaxNumberOfMessages=10)["Messages"]
    delivered = [json.loads(m["Body"]) for m in messages]
    assert sorted(e["detail"].get("eventID", e["detail"].get("probe")) for e in delivered) == sorted(
        [succeeded["eventID"], "p-1"])
