"""The synthesized hub's least privilege and stored data: what the handler, reconcile and digest roles may
do, the SSL-only topic and its subscriptions, the audit table's keys, TTL and point-in-time recovery (one shared
synth, see conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from handlers import contract
from handlers.registry import REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from hub.digest import DIGEST_SCHEDULE
from hub.names import (
    DIGEST,
    LOGICAL_IDS,
    dlq_id,
    failures_id,
    function_id,
    rule_id,
)
from tests.support.hub_template import ORGANIZATION_REF, as_list, getatt_target, joined, of_type, statements_of_role

# Every test here reads the one shared synth: keep them on one xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("hub-template")


def test_handler_role_may_assume_only_the_remediation_role_inside_the_organization(
        hub_template: dict[str, Any]) -> None:
    role_id = LOGICAL_IDS["handler_role"]
    template = Template.from_json(hub_template)
    template.has_resource_properties("AWS::IAM::Role", {
        "RoleName": contract.HUB_HANDLER_ROLE_NAME,
        "AssumeRolePolicyDocument": Match.object_like({"Statement": [Match.object_like({
            "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}})]}),
    })
    template.has_resource_properties("AWS::IAM::Policy", {
        "Roles": [{"Ref": role_id}],
        "PolicyDocument": Match.object_like({"Statement": Match.array_with([Match.object_like({
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION_REF}},
        })])}),
    })
    statements = statements_of_role(hub_template, role_id)
    assuming = [s for s in statements if any(a.startswith("sts:") for a in as_list(s["Action"]))]
    assert len(assuming) == 1
    assume = assuming[0]
    assert as_list(assume["Action"]) == ["sts:AssumeRole"]
    assert [joined(r) for r in as_list(assume["Resource"])] == [
        f"arn:${{AWS::Partition}}:iam::*:role/{REMEDIATION_ROLE_NAME}"]
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION_REF}}
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not any(a.startswith("iam:") for a in actions)
    assert {a for a in actions if a.startswith("organizations:")} == {"organizations:DescribeAccount"}
    assert "ManagedPolicyArns" not in hub_template["Resources"][role_id]["Properties"]


def test_handler_role_reaches_the_table_index_topic_and_only_its_own_queues(
        hub_template: dict[str, Any], hub_settings: Settings) -> None:
    statements = statements_of_role(hub_template, LOGICAL_IDS["handler_role"])
    by_action: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            by_action.setdefault(action, set()).update(joined(r) for r in as_list(statement["Resource"]))
    table = "${AuditTable.Arn}"
    assert by_action["dynamodb:PutItem"] == {table, f"{table}/index/{contract.TABLE_ACCOUNT_INDEX}"}
    assert by_action["dynamodb:Query"] == {table, f"{table}/index/{contract.TABLE_ACCOUNT_INDEX}"}
    assert by_action["sns:Publish"] == {"${AlertsTopic}"}
    management = hub_settings.organization.management_account
    assert by_action["organizations:DescribeAccount"] == {
        f"arn:${{AWS::Partition}}:organizations::{management}:account/${{OrganizationId}}/*"}
    own_queues = {f"${{{q}.Arn}}" for q in of_type(hub_template, "AWS::SQS::Queue")}
    for action, resources in by_action.items():
        if action.startswith("sqs:"):
            assert resources <= own_queues, action
        assert "*" not in action, action


def test_reconcile_start_reads_the_organization_narrowly(hub_template: dict[str, Any],
                                                        hub_settings: Settings) -> None:
    statements = statements_of_role(hub_template, LOGICAL_IDS["reconcile_start_role"])
    star = [s for s in statements if s["Resource"] == "*"]
    assert [s["Action"] for s in star] == ["organizations:ListAccounts"]
    management = hub_settings.organization.management_account
    for statement in statements:
        if statement["Resource"] == "*":
            continue
        for resource in as_list(statement["Resource"]):
            arn = joined(resource)
            if arn.startswith("arn:${AWS::Partition}:organizations"):
                assert arn.startswith(f"arn:${{AWS::Partition}}:organizations::{management}:"), arn
                assert "/${OrganizationId}/" in arn, arn
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert "sts:AssumeRole" not in actions


def test_topic_is_ssl_only_and_mails_every_configured_address(hub_template: dict[str, Any],
                                                               hub_settings: Settings) -> None:
    template = Template.from_json(hub_template)
    template.has_resource_properties("AWS::SNS::Topic", {"TopicName": hub_settings.hub.topic_name})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {
        "Topics": [{"Ref": LOGICAL_IDS["topic"]}],
        "PolicyDocument": Match.object_like({"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })])}),
    })
    subscriptions = {(s["Properties"]["Protocol"], s["Properties"]["Endpoint"])
                     for s in of_type(hub_template, "AWS::SNS::Subscription").values()
                     if s["Properties"]["TopicArn"] == {"Ref": LOGICAL_IDS["topic"]}}
    assert subscriptions == {("email", e) for e in hub_settings.notifications.emails}


def test_audit_table_has_the_contract_keys_ttl_and_point_in_time_recovery(hub_template: dict[str, Any],
                                                                         hub_settings: Settings) -> None:
    table = hub_template["Resources"][LOGICAL_IDS["table"]]
    properties = table["Properties"]
    assert properties["TableName"] == hub_settings.hub.table_name
    assert properties["KeySchema"] == [{"AttributeName": contract.TABLE_PARTITION_KEY, "KeyType": "HASH"}]
    types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    assert types == {contract.TABLE_PARTITION_KEY: "S", contract.TABLE_ACCOUNT_INDEX_PARTITION: "S",
                     contract.TABLE_ACCOUNT_INDEX_SORT: "S"}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": contract.TABLE_TTL_ATTRIBUTE,
                                                      "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    [index] = properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == contract.TABLE_ACCOUNT_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": contract.TABLE_ACCOUNT_INDEX_PARTITION, "KeyType": "HASH"},
        {"AttributeName": contract.TABLE_ACCOUNT_INDEX_SORT, "KeyType": "RANGE"},
    ]
    assert table["DeletionPolicy"] == "Retain"


def test_storm_digests_run_on_a_schedule_with_a_least_privilege_role(hub_template: dict[str, Any]) -> None:
    resources = hub_template["Resources"]
    schedule = resources[rule_id(DIGEST)]["Properties"]
    assert schedule["ScheduleExpression"] == DIGEST_SCHEDULE == "rate(5 minutes)"
    assert "EventBusName" not in schedule, "a schedule runs on the default bus"
    assert getatt_target(schedule["Targets"][0]["Arn"]) == function_id(DIGEST)
    assert getatt_target(schedule["Targets"][0]["DeadLetterConfig"]["Arn"]) == dlq_id(DIGEST)
    function = resources[function_id(DIGEST)]["Properties"]
    assert function["Handler"] == "handlers.digest.handler"
    assert getatt_target(function["Role"]) == LOGICAL_IDS["digest_role"]

    statements = statements_of_role(hub_template, LOGICAL_IDS["digest_role"])
    by_action: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            by_action.setdefault(action, set()).update(joined(r) for r in as_list(statement["Resource"]))
    table, topic = f"${{{LOGICAL_IDS['table']}.Arn}}", f"${{{LOGICAL_IDS['topic']}}}"
    assert {a: r for a, r in by_action.items() if not a.startswith(("logs:", "sqs:"))} == {
        "dynamodb:GetItem": {table}, "dynamodb:BatchGetItem": {table}, "dynamodb:UpdateItem": {table},
        "sns:Publish": {topic}}
    failures = f"${{{failures_id(DIGEST)}.Arn}}"
    assert all(r == {failures} for a, r in by_action.items() if a.startswith("sqs:")), "only its failure queue"
    assert all("*" not in r or r.startswith("${LogGroup") for rs in by_action.values() for r in rs)
