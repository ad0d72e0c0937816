"""The synthesized hub's event routing: the bus takes PutEvents only from the organization, one rule per
policy (and the canary's) with retries and a dead-letter queue, the scheduled reconcile fans out through a
queue, and the outputs name what the CLI and the sandbox look up (one shared synth, see conftest.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from handlers import contract
from handlers.registry import POLICIES, hub_rule_pattern
from handlers.settings import Settings
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
from tests.support.hub_template import ORGANIZATION_REF, getatt_target, of_type

# Every test here reads the one shared synth: keep them on one xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("hub-template")


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
