"""The synthesized hub template, property by property (one shared synth, see conftest.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from handlers import contract
from handlers.registry import POLICIES, REMEDIATION_ROLE_NAME, hub_rule_pattern
from handlers.settings import Settings, validate
from hub.digest import DIGEST_SCHEDULE
from hub.functions import log_retention_days
from hub.names import (
    CANARY,
    DIGEST,
    LOGICAL_IDS,
    ORGANIZATION_ID_PATTERN,
    RECONCILE_START,
    RECONCILE_WORKER,
    dlq_id,
    dlq_output,
    failures_id,
    function_id,
    rule_id,
)

# Every test here reads the one shared synth: keep them on one xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("hub-template")

ORGANIZATION_REF = {"Ref": "OrganizationId"}


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def getatt_target(value: Any) -> str:
    """The logical id an ``Fn::GetAtt`` or ``Ref`` points at."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    raise AssertionError(f"not a reference: {value!r}")


def joined(value: Any) -> str:
    """An ``Fn::Join`` of strings and pseudo-parameter refs, as an ``Fn::Sub``-style string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(joined(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    raise AssertionError(f"cannot join {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_of_role(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    statements = []
    for policy in of_type(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    role = template["Resources"][role_id]["Properties"]
    for inline in role.get("Policies", []):
        statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def test_bus_accepts_put_events_only_from_the_organization(hub_template: dict[str, Any],
                                                           hub_settings: Settings) -> None:
    template = Template.from_json(hub_template)
    template.has_resource_properties("AWS::Events::EventBus", {"Name": hub_settings.hub.bus_name})
    template.resource_count_is("AWS::Events::EventBusPolicy", 1)
    template.has_resource_properties("AWS::Events::EventBusPolicy", {
        "EventBusName": {"Fn::GetAtt": [LOGICAL_IDS["bus"], "Name"]},
        "Statement": {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "events:PutEvents",
            "Resource": {"Fn::GetAtt": [LOGICAL_IDS["bus"], "Arn"]},
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION_REF}},
        },
    })
    parameter = hub_template["Parameters"]["OrganizationId"]
    assert parameter["Default"] == hub_settings.organization.organization_id
    assert parameter["AllowedPattern"] == ORGANIZATION_ID_PATTERN
    assert re.match(parameter["AllowedPattern"], "o-a1b2c3d4e5")
    for bad in ("", "o-short", "O-A1B2C3D4E5", "r-a1b2", "o-a1b2c3d4e5 "):
        assert not re.match(parameter["AllowedPattern"], bad), bad


def test_one_rule_per_policy_with_the_registry_pattern_and_its_lambda(hub_template: dict[str, Any]) -> None:
    template = Template.from_json(hub_template)
    resources = hub_template["Resources"]
    for policy in POLICIES:
        template.has_resource_properties("AWS::Events::Rule", {
            "Name": f"orgguard-{policy.id}",
            "EventBusName": {"Fn::GetAtt": [LOGICAL_IDS["bus"], "Name"]},
            "EventPattern": hub_rule_pattern(policy),
            "Targets": [Match.object_like({
                "Arn": {"Fn::GetAtt": [function_id(policy.id), "Arn"]},
                "RetryPolicy": Match.object_like({"MaximumRetryAttempts": Match.any_value()}),
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
            })],
        })
        rule = resources[rule_id(policy.id)]["Properties"]
        assert rule["EventPattern"] == hub_rule_pattern(policy)
        function = resources[function_id(policy.id)]["Properties"]
        assert function["Handler"] == policy.lambda_handler
        assert function["Environment"]["Variables"][contract.ENV_POLICY] == policy.id
    rules = of_type(hub_template, "AWS::Events::Rule").values()
    patterns = [r["Properties"].get("EventPattern") for r in rules]
    assert sum(1 for p in patterns if p and "detail-type" in p) == len(POLICIES)


def test_every_rule_target_retries_and_has_a_dead_letter_queue_events_may_write(
        hub_template: dict[str, Any]) -> None:
    resources = hub_template["Resources"]
    queue_policies = of_type(hub_template, "AWS::SQS::QueuePolicy").values()
    rules = of_type(hub_template, "AWS::Events::Rule")
    assert {rule_id(CANARY), rule_id(RECONCILE_START)} <= set(rules)
    for logical_id, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            retry = target["RetryPolicy"]
            assert retry["MaximumRetryAttempts"] > 0 and retry["MaximumEventAgeInSeconds"] >= 3600, logical_id
            dlq = getatt_target(target["DeadLetterConfig"]["Arn"])
            assert resources[dlq]["Type"] == "AWS::SQS::Queue", logical_id
            allowed = [s for p in queue_policies if {"Ref": dlq} in p["Properties"]["Queues"]
                       for s in p["Properties"]["PolicyDocument"]["Statement"]
                       if s["Effect"] == "Allow"
                       and s.get("Principal") == {"Service": "events.amazonaws.com"}]
            assert [s["Condition"] for s in allowed] == [
                {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [logical_id, "Arn"]}}}], logical_id


def test_canary_rule_routes_canary_events_to_the_canary_lambda(hub_template: dict[str, Any]) -> None:
    resources = hub_template["Resources"]
    rule = resources[rule_id(CANARY)]["Properties"]
    assert rule["EventPattern"] == {"source": [contract.CANARY_SOURCE]}
    assert rule["EventBusName"] == {"Fn::GetAtt": [LOGICAL_IDS["bus"], "Name"]}
    assert getatt_target(rule["Targets"][0]["Arn"]) == function_id(CANARY)
    assert resources[function_id(CANARY)]["Properties"]["Handler"] == "handlers.adapters.canary.handler"
    assert hub_template["Outputs"]["CanaryFunctionName"]["Value"] == {"Ref": function_id(CANARY)}


def test_every_lambda_runs_with_the_validated_settings_and_hub_resources(hub_template: dict[str, Any],
                                                                        hub_settings: Settings) -> None:
    functions = of_type(hub_template, "AWS::Lambda::Function")
    expected = {function_id(p.id) for p in POLICIES} | {function_id(n) for n in (CANARY, RECONCILE_START,
                                                                                RECONCILE_WORKER, DIGEST)}
    assert set(functions) == expected
    for logical_id, function in functions.items():
        properties = function["Properties"]
        variables = properties["Environment"]["Variables"]
        settings = validate(json.loads(variables[contract.ENV_SETTINGS]), logical_id, with_defaults=False)
        assert settings == hub_settings, logical_id
        assert variables[contract.ENV_AUDIT_TABLE] == {"Ref": LOGICAL_IDS["table"]}
        assert variables[contract.ENV_TOPIC_ARN] == {"Ref": LOGICAL_IDS["topic"]}
        assert properties["Runtime"] == "python3.12"
        assert properties["MemorySize"] == hub_settings.hub.lambda_memory_mb
        assert getatt_target(properties["Role"]) in (LOGICAL_IDS["handler_role"],
                                                     LOGICAL_IDS["reconcile_start_role"], LOGICAL_IDS["digest_role"])
        size = sum(len(k) + len(v) for k, v in variables.items() if isinstance(v, str))
        assert size < 4096, f"{logical_id}: Lambda allows 4 KB of environment"
    for policy in POLICIES:
        timeout = functions[function_id(policy.id)]["Properties"]["Timeout"]
        assert timeout == hub_settings.hub.lambda_timeout_seconds
    start = functions[function_id(RECONCILE_START)]["Properties"]
    assert start["Environment"]["Variables"][contract.ENV_RECONCILE_QUEUE_URL] == {
        "Ref": LOGICAL_IDS["reconcile_queue"]}


def test_every_lambda_logs_to_its_own_group_with_the_configured_retention(hub_template: dict[str, Any],
                                                                          hub_settings: Settings) -> None:
    groups = of_type(hub_template, "AWS::Logs::LogGroup")
    for logical_id, function in of_type(hub_template, "AWS::Lambda::Function").items():
        group_id = getatt_target(function["Properties"]["LoggingConfig"]["LogGroup"])
        group = groups[group_id]["Properties"]
        assert group["RetentionInDays"] == log_retention_days(hub_settings.hub.log_retention_days) == 30
        assert group["LogGroupName"] == f"/aws/lambda/{function['Properties']['FunctionName']}", logical_id


def test_every_lambda_logs_json_at_info(hub_template: dict[str, Any]) -> None:
    for logical_id, function in of_type(hub_template, "AWS::Lambda::Function").items():
        config = function["Properties"]["LoggingConfig"]
        assert (config["LogFormat"], config["ApplicationLogLevel"]) == ("JSON", "INFO"), logical_id


def test_the_reconcile_workers_are_bounded_and_may_queue_a_continuation(hub_template: dict[str, Any],
                                                                        hub_settings: Settings) -> None:
    mapping = hub_template["Resources"][LOGICAL_IDS["reconcile_worker_event_source"]]["Properties"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": hub_settings.hub.reconcile_max_concurrency} == {
        "MaximumConcurrency": 7}
    worker = hub_template["Resources"][function_id(RECONCILE_WORKER)]["Properties"]
    assert worker["Environment"]["Variables"][contract.ENV_RECONCILE_QUEUE_URL] == {
        "Ref": LOGICAL_IDS["reconcile_queue"]}
    sends = [s for s in statements_of_role(hub_template, LOGICAL_IDS["handler_role"])
             if "sqs:SendMessage" in as_list(s["Action"])]
    assert f"${{{LOGICAL_IDS['reconcile_queue']}.Arn}}" in {joined(r) for s in sends for r in as_list(s["Resource"])}


def test_log_retention_rounds_up_to_a_period_cloudwatch_accepts() -> None:
    assert log_retention_days(1) == 1
    assert log_retention_days(90) == 90
    assert log_retention_days(100) == 120
    assert log_retention_days(3653) == 3653
    assert log_retention_days(5000) == 3653


def test_asynchronous_lambdas_retry_twice_then_go_to_a_failure_queue(hub_template: dict[str, Any]) -> None:
    resources = hub_template["Resources"]
    configs = {getatt_target(c["Properties"]["FunctionName"]): c["Properties"]
               for c in of_type(hub_template, "AWS::Lambda::EventInvokeConfig").values()}
    asynchronous = set(of_type(hub_template, "AWS::Lambda::Function")) - {function_id(RECONCILE_WORKER)}
    assert set(configs) == asynchronous
    for function, config in configs.items():
        assert config["MaximumRetryAttempts"] == 2, function
        destination = getatt_target(config["DestinationConfig"]["OnFailure"]["Destination"])
        assert resources[destination]["Type"] == "AWS::SQS::Queue", function


def test_every_dead_letter_queue_is_alarmed_to_the_topic_and_has_an_output(
        hub_template: dict[str, Any]) -> None:
    queues = set(of_type(hub_template, "AWS::SQS::Queue")) - {LOGICAL_IDS["reconcile_queue"]}
    alarmed = {}
    for alarm in of_type(hub_template, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        queue = getatt_target(properties["Dimensions"][0]["Value"])
        alarmed[queue] = properties
    assert set(alarmed) == queues
    for queue, alarm in alarmed.items():
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0
        assert alarm["AlarmActions"] == [{"Ref": LOGICAL_IDS["topic"]}], queue
        assert hub_template["Outputs"][dlq_output(queue)]["Value"] == {"Ref": queue}


def test_queues_are_encrypted_and_refuse_plain_http(hub_template: dict[str, Any]) -> None:
    policies = of_type(hub_template, "AWS::SQS::QueuePolicy").values()
    for logical_id, queue in of_type(hub_template, "AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, logical_id
        denies = [s for p in policies if {"Ref": logical_id} in p["Properties"]["Queues"]
                  for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Action"] == "sqs:*"
                   for s in denies), logical_id


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


def test_scheduled_reconcile_fans_out_through_a_queue(hub_template: dict[str, Any],
                                                      hub_settings: Settings) -> None:
    resources = hub_template["Resources"]
    schedule = resources[rule_id(RECONCILE_START)]["Properties"]
    assert schedule["ScheduleExpression"] == hub_settings.hub.reconcile_schedule
    assert "EventBusName" not in schedule  # schedules run on the default bus
    assert getatt_target(schedule["Targets"][0]["Arn"]) == function_id(RECONCILE_START)
    start = resources[function_id(RECONCILE_START)]["Properties"]
    assert start["Handler"] == "handlers.adapters.reconcile.start_handler"
    worker = resources[function_id(RECONCILE_WORKER)]["Properties"]
    assert worker["Handler"] == "handlers.adapters.reconcile.worker_handler"
    mapping = resources[LOGICAL_IDS["reconcile_worker_event_source"]]["Properties"]
    assert mapping["BatchSize"] == 1
    assert getatt_target(mapping["EventSourceArn"]) == LOGICAL_IDS["reconcile_queue"]
    assert mapping["FunctionName"] == {"Ref": function_id(RECONCILE_WORKER)}
    queue = resources[LOGICAL_IDS["reconcile_queue"]]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    assert getatt_target(queue["RedrivePolicy"]["deadLetterTargetArn"]) == dlq_id(RECONCILE_WORKER)
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]


def test_outputs_name_what_the_cli_and_sandbox_look_up(hub_template: dict[str, Any]) -> None:
    outputs = {k: v["Value"] for k, v in hub_template["Outputs"].items()}
    assert outputs["BusArn"] == {"Fn::GetAtt": [LOGICAL_IDS["bus"], "Arn"]}
    assert outputs["BusName"] == {"Fn::GetAtt": [LOGICAL_IDS["bus"], "Name"]}
    assert outputs["TopicArn"] == {"Ref": LOGICAL_IDS["topic"]}
    assert outputs["TableName"] == {"Ref": LOGICAL_IDS["table"]}
    assert outputs["HandlerRoleArn"] == {"Fn::GetAtt": [LOGICAL_IDS["handler_role"], "Arn"]}
    assert outputs["ReconcileQueueUrl"] == {"Ref": LOGICAL_IDS["reconcile_queue"]}
    for name in [p.id for p in POLICIES] + [CANARY, RECONCILE_START, DIGEST]:
        assert outputs[dlq_output(dlq_id(name))] == {"Ref": dlq_id(name)}
        assert outputs[dlq_output(failures_id(name))] == {"Ref": failures_id(name)}
    assert outputs[dlq_output(dlq_id(RECONCILE_WORKER))] == {"Ref": dlq_id(RECONCILE_WORKER)}


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
