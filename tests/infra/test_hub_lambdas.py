"""The synthesized hub's Lambda functions and queues: validated settings and hub resources in every
function's environment, JSON logs with the configured retention, bounded reconcile workers, retries then a failure
queue, every dead-letter queue alarmed, queues encrypted (one shared synth, see conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import contract
from handlers.registry import POLICIES
from handlers.settings import Settings, validate
from hub.functions import log_retention_days
from hub.names import (
    CANARY,
    DIGEST,
    LOGICAL_IDS,
    RECONCILE_START,
    RECONCILE_WORKER,
    dlq_output,
    function_id,
)
from tests.support.hub_template import as_list, getatt_target, joined, of_type, statements_of_role

# Every test here reads the one shared synth: keep them on one xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("hub-template")


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
