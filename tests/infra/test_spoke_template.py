"""The rendered spoke templates (global: the roles; regional: rules, DLQ, alarm): lint-clean for every config
shape, least privilege, and deployable."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jinja2
import pytest
from moto import mock_aws

from handlers.contract import (
    CANARY_DETAIL_TYPE,
    CANARY_RULE_NAME,
    CANARY_SOURCE,
    FORWARD_DLQ_ALARM_NAME,
    FORWARD_DLQ_NAME,
    HUB_HANDLER_ROLE_NAME,
)
from handlers.registry import (
    CLOUDTRAIL_DETAIL_TYPE,
    FORWARD_RULE_NAME,
    FORWARDER_ROLE_NAME,
    POLICIES,
    REMEDIATION_ROLE_NAME,
    Permission,
    remediation_permissions,
    spoke_forward_pattern,
)
from handlers.settings import Settings, SettingsError, validate
from spoke.lint import lint_template, parse_template
from spoke.render import (
    FORWARDER_ROLE_ARN_SUB,
    GLOBAL_TEMPLATE_NAME,
    HUB_BUS_ARN_SUB,
    HUB_HANDLER_ROLE_ARN_SUB,
    REGIONAL_TEMPLATE_NAME,
    check_permissions,
    environment,
    forwarder_role_arn,
    global_context,
    hub_bus_arn,
    regional_context,
    remediation_trust_policy,
    render_spoke,
    render_spoke_global,
    spoke_global_parameters,
    spoke_parameters,
)
from stacksets.checks import trust_matches
from stacksets.parts import spoke_parts
from tests.support.samples import require_samples

PARTITION = "${AWS::Partition}"
HUB_ACCOUNT = "222222222222"
OPERATOR_ROLES = [
    f"arn:aws:iam::{HUB_ACCOUNT}:role/Platform",
    f"arn:aws:iam::{HUB_ACCOUNT}:role/ops/Security",
]

CONFIGS: dict[str, dict[str, Any]] = {
    "one-region": {"organization": {"regions": ["us-east-1"]}},
    "several-regions": {
        "organization": {"regions": ["us-east-1", "eu-west-1", "ap-southeast-2", "eu-central-1"]},
    },
    "kms-key-set": {"policies": {"s3-encryption": {"kms_key": "alias/org-s3-{account}-{region}"}}},
    "aes256-no-kms-key": {"policies": {"s3-encryption": {"algorithm": "AES256"}}},
    "operator-roles": {"organization": {"operator_roles": OPERATOR_ROLES}},
    "home-region-not-first": {
        "organization": {"hub_region": "us-west-2", "regions": ["eu-west-1", "eu-central-1", "us-west-2"],
                         "home_region": "eu-central-1"},
        "hub": {"bus_name": "guardrails.bus"},
    },
    "hub-outside-governed-regions": {
        "organization": {"hub_region": "ca-central-1", "regions": ["sa-east-1", "ap-northeast-1"]},
    },
    "govcloud": {
        "organization": {"hub_region": "us-gov-west-1", "regions": ["us-gov-west-1", "us-gov-east-1"],
                         "operator_roles": [f"arn:aws-us-gov:iam::{HUB_ACCOUNT}:role/Platform"]},
    },
}


def settings_for(name: str) -> Settings:
    return validate(CONFIGS[name], f"config {name}")


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == resource_type}


def walk_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from walk_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_strings(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def default_settings() -> Settings:
    return validate({}, "defaults")


@pytest.fixture(scope="module")
def template(default_settings: Settings) -> dict[str, Any]:
    """The regional template: rules, dead-letter queue and its alarm."""
    return parse_template(render_spoke(default_settings))


@pytest.fixture(scope="module")
def roles(default_settings: Settings) -> dict[str, Any]:
    """The global template: the two roles."""
    return parse_template(render_spoke_global(default_settings))


# --- every config renders to templates cfn-lint finds nothing in -------------------------------------------


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_rendered_spoke_is_lint_clean_in_every_region_it_deploys_to(name: str) -> None:
    settings = settings_for(name)
    assert lint_template(render_spoke(settings), settings.organization.regions) == []
    assert lint_template(render_spoke_global(settings), [settings.organization.spoke_home_region]) == []


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_parameter_defaults_come_from_the_settings(name: str) -> None:
    settings = settings_for(name)
    org = settings.organization
    regional = parse_template(render_spoke(settings))["Parameters"]
    hub = {"HubAccountId": org.hub_account, "HubRegion": org.hub_region, "HubBusName": settings.hub.bus_name}
    assert {key: p["Default"] for key, p in regional.items()} == hub == spoke_parameters(settings)
    global_ = parse_template(render_spoke_global(settings))["Parameters"]
    assert {key: p["Default"] for key, p in global_.items()} == {
        **hub, "OperatorRoleArns": ",".join(org.operator_roles)} == spoke_global_parameters(settings)


def test_the_roles_go_to_the_configured_home_region_only_and_the_rules_everywhere_home_first() -> None:
    settings = settings_for("home-region-not-first")
    assert settings.organization.regions[0] != "eu-central-1"
    global_part, regional = spoke_parts(settings)
    assert global_part.regions == ("eu-central-1",)
    assert regional.regions == ("eu-central-1", "eu-west-1", "us-west-2")
    assert (global_part.stackset, regional.stackset) == ("orgguard-spoke-global", "orgguard-spoke")


def test_each_template_says_what_it_is(template: dict[str, Any], roles: dict[str, Any]) -> None:
    assert "account-global part" in roles["Description"] and REMEDIATION_ROLE_NAME in roles["Description"]
    assert "home region only" in roles["Description"]
    assert "regional part" in template["Description"] and "orgguard-spoke-global" in template["Description"]


def test_hub_bus_arn_follows_the_partition_of_the_hub_region() -> None:
    assert hub_bus_arn(settings_for("one-region")) == (
        f"arn:aws:events:us-east-1:{HUB_ACCOUNT}:event-bus/orgguard")
    assert hub_bus_arn(settings_for("govcloud")) == (
        f"arn:aws-us-gov:events:us-gov-west-1:{HUB_ACCOUNT}:event-bus/orgguard")


# --- rendering is strict ------------------------------------------------------------------------------


CONTEXTS = {GLOBAL_TEMPLATE_NAME: global_context, REGIONAL_TEMPLATE_NAME: regional_context}


@pytest.mark.parametrize(("name", "missing"), [(name, key) for name, make in sorted(CONTEXTS.items())
                                               for key in sorted(make(validate({}, "defaults")))])
def test_rendering_without_any_context_value_raises(name: str, missing: str) -> None:
    context = CONTEXTS[name](validate({}, "defaults"))
    del context[missing]
    with pytest.raises(jinja2.UndefinedError):
        environment().get_template(name).render(context)


def test_a_template_referencing_an_unknown_name_raises() -> None:
    env = environment(jinja2.DictLoader({"t.j2": "Value: {{ no_such_value | q }}\n"}))
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("t.j2").render({})


def test_operator_role_outside_the_hub_account_is_refused_with_its_key() -> None:
    with pytest.raises(SettingsError) as caught:
        validate({"organization": {"operator_roles": [
            f"arn:aws:iam::{HUB_ACCOUNT}:role/Platform", "arn:aws:iam::333333333333:role/Elsewhere",
            f"arn:aws:iam::{HUB_ACCOUNT}:role/with,comma"]}})
    assert len(caught.value.problems) == 2
    assert caught.value.problems[0].startswith("organization.operator_roles[1] = ")
    assert "333333333333" in caught.value.problems[0] and HUB_ACCOUNT in caught.value.problems[0]
    assert caught.value.problems[1].startswith("organization.operator_roles[2] = ")


def test_registry_permissions_that_are_not_least_privilege_are_refused() -> None:
    bad = [
        Permission("ec2:*", ("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*",)),
        Permission("s3:GetBucketTagging", ("*",)),
        Permission("s3:PutEncryptionConfiguration", ("arn:aws:s3:::*",)),
        Permission("ec2:DescribeVpcs", ("arn:${AWS::Partition}:ec2:*:*:vpc/*",), scopable=False),
    ]
    problems = check_permissions(bad)
    assert len(problems) == len(bad)
    for problem, permission in zip(problems, bad, strict=True):
        assert problem.startswith(f"registry action {permission.action!r}: ")
    assert check_permissions(remediation_permissions()) == []


# --- the remediation role ----------------------------------------------------------------------------------


def test_remediation_role_actions_equal_the_registry_union(roles: dict[str, Any]) -> None:
    role = roles["Resources"]["RemediationRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    actions = [a for s in statements for a in as_list(s["Action"])]
    registry_actions = {action for policy in POLICIES for action in policy.actions}
    assert sorted(actions) == sorted(registry_actions)  # each action once, none missing, none extra
    assert all(s["Effect"] == "Allow" for s in statements)
    assert not any("NotAction" in s or "NotResource" in s for s in statements)


def test_remediation_role_resources_are_the_registry_resources(roles: dict[str, Any]) -> None:
    role = roles["Resources"]["RemediationRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    declared = {perm.action: perm for perm in remediation_permissions()}
    for statement in statements:
        (action,) = as_list(statement["Action"])
        resources = [r if r == "*" else r["Fn::Sub"] for r in as_list(statement["Resource"])]
        assert resources == list(declared[action].resources)
        if "*" in resources:
            assert resources == ["*"] and not declared[action].scopable, action
        else:
            assert all(r.startswith(f"arn:{PARTITION}:") for r in resources), action


@pytest.mark.parametrize("which", ["roles", "template"])
def test_no_wildcard_action_in_any_policy_of_the_templates(which: str, request: pytest.FixtureRequest) -> None:
    for name, resource in request.getfixturevalue(which)["Resources"].items():
        documents = [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
        if resource["Type"] == "AWS::IAM::Role":
            documents.append(resource["Properties"]["AssumeRolePolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                if statement["Effect"] == "Allow":
                    assert all("*" not in a for a in as_list(statement["Action"])), name


@pytest.mark.parametrize("which", ["roles", "template"])
def test_every_arn_in_the_resources_is_partition_neutral(which: str, request: pytest.FixtureRequest) -> None:
    arns = [s for s in walk_strings(request.getfixturevalue(which)["Resources"]) if "arn:" in s]
    assert arns, "the template names no ARN at all"
    assert all(s.startswith(f"arn:{PARTITION}:") for s in arns), [s for s in arns if PARTITION not in s]


def test_remediation_role_trusts_only_named_roles_of_the_hub_account(roles: dict[str, Any]) -> None:
    role = roles["Resources"]["RemediationRole"]["Properties"]
    assert role["RoleName"] == REMEDIATION_ROLE_NAME
    assert role["MaxSessionDuration"] == 3600 and role["Description"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:root"}}
    assert list(statement["Condition"]) == ["ArnEquals"]
    assert list(statement["Condition"]["ArnEquals"]) == ["aws:PrincipalArn"]
    trusted = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    condition, with_operators, hub_only = trusted["Fn::If"]
    assert condition == "HasOperatorRoles"
    assert hub_only == [{"Fn::Sub": HUB_HANDLER_ROLE_ARN_SUB}]
    hub_and_operators = {"Fn::Sub": HUB_HANDLER_ROLE_ARN_SUB + ",${OperatorRoleArns}"}
    assert with_operators == {"Fn::Split": [",", hub_and_operators]}
    assert HUB_HANDLER_ROLE_ARN_SUB.endswith(f":role/{HUB_HANDLER_ROLE_NAME}")


# --- the forwarder role, the rules, the queue ---------------------------------------------------------


def test_forwarder_role_may_only_put_events_on_the_hub_bus(roles: dict[str, Any]) -> None:
    role = roles["Resources"]["ForwarderRole"]["Properties"]
    assert role["RoleName"] == FORWARDER_ROLE_NAME
    assert role["MaxSessionDuration"] == 3600 and role["Description"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert [(s["Effect"], s["Action"], s["Resource"]) for s in statements] == [
        ("Allow", "events:PutEvents", {"Fn::Sub": HUB_BUS_ARN_SUB})]


def test_the_roles_are_the_whole_global_template_and_absent_from_the_regional_one(
        template: dict[str, Any], roles: dict[str, Any]) -> None:
    assert {name: r["Type"] for name, r in roles["Resources"].items()} == {
        "ForwarderRole": "AWS::IAM::Role", "RemediationRole": "AWS::IAM::Role"}
    assert not [name for name, r in template["Resources"].items() if r["Type"].startswith("AWS::IAM::")]
    # Nothing is conditional any more: each template goes where all of it belongs.
    for document in (template, roles):
        assert not any("Condition" in r for r in document["Resources"].values())
        assert not any("Condition" in o for o in document["Outputs"].values())
    assert "HomeRegion" not in template["Parameters"] and "HomeRegion" not in roles["Parameters"]
    assert set(roles["Outputs"]) == {"RemediationRoleArn", "ForwarderRoleArn"}
    assert {"ForwardRuleArn", "CanaryRuleArn", "DlqUrl", "DlqAlarmName"} <= set(template["Outputs"])


def test_the_dead_letter_queue_has_an_alarm_without_actions(template: dict[str, Any]) -> None:
    (alarm,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarm["AlarmName"] == FORWARD_DLQ_ALARM_NAME
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ForwardDeadLetterQueue",
                                                                                "QueueName"]}}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["TreatMissingData"] == "notBreaching"
    # Alarm actions must be in the alarm's account and region: the hub's topic cannot be one (see the template).
    assert "AlarmActions" not in alarm and "OKActions" not in alarm


@pytest.mark.parametrize(("logical_id", "name", "pattern"), [
    ("ForwardRule", FORWARD_RULE_NAME, spoke_forward_pattern()),
    ("CanaryRule", CANARY_RULE_NAME, {"source": [CANARY_SOURCE]}),
])
def test_rules_forward_to_the_hub_bus_with_role_retries_and_dlq(
        template: dict[str, Any], logical_id: str, name: str, pattern: dict[str, Any]) -> None:
    rule = template["Resources"][logical_id]["Properties"]
    assert rule["Name"] == name and rule["State"] == "ENABLED"
    assert rule.get("EventBusName", "default") == "default"
    assert rule["EventPattern"] == pattern
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::Sub": HUB_BUS_ARN_SUB}
    # The role is named by ARN in every region, the home region included: the global StackSet creates it.
    assert target["RoleArn"] == {"Fn::Sub": FORWARDER_ROLE_ARN_SUB}
    assert FORWARDER_ROLE_ARN_SUB.startswith(f"arn:{PARTITION}:iam::${{AWS::AccountId}}:role/")
    assert FORWARDER_ROLE_ARN_SUB.endswith(f":role/{FORWARDER_ROLE_NAME}")
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ForwardDeadLetterQueue", "Arn"]}}


def test_dead_letter_queue_accepts_only_the_spoke_rules(template: dict[str, Any]) -> None:
    queue = template["Resources"]["ForwardDeadLetterQueue"]["Properties"]
    assert queue == {
        "QueueName": FORWARD_DLQ_NAME, "SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 86400}
    policy = template["Resources"]["ForwardDeadLetterQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "ForwardDeadLetterQueue"}]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    allow = statements["OrgGuardRulesOnly"]
    assert allow["Effect"] == "Allow" and allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": [
        {"Fn::GetAtt": ["ForwardRule", "Arn"]}, {"Fn::GetAtt": ["CanaryRule", "Arn"]}]}}
    deny = statements["TlsOnly"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


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
