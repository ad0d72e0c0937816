"""The rendered spoke templates' least privilege: the remediation role's actions and resources are the
registry's, no wildcard action, partition-neutral ARNs, trust only in named hub roles; the forwarder role may only
put events on the hub bus; the rules forward with retries and a dead-letter queue that accepts only them and is
alarmed. The rendered templates are fixtures in conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.contract import (
    CANARY_RULE_NAME,
    CANARY_SOURCE,
    FORWARD_DLQ_ALARM_NAME,
    FORWARD_DLQ_NAME,
    HUB_HANDLER_ROLE_NAME,
)
from handlers.registry import (
    FORWARD_RULE_NAME,
    FORWARDER_ROLE_NAME,
    POLICIES,
    REMEDIATION_ROLE_NAME,
    remediation_permissions,
    spoke_forward_pattern,
)
from spoke.render import (
    FORWARDER_ROLE_ARN_SUB,
    HUB_BUS_ARN_SUB,
    HUB_HANDLER_ROLE_ARN_SUB,
)
from tests.support.spoke_templates import (
    PARTITION,
    as_list,
    walk_strings,
)

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
