"""The scheduled reconcile, run once on the embedded AWS as the deployed hub runs it.

moto runs no schedule and would run a queue's Lambda in Docker: the schedule's start function is invoked here with
the template's handler, environment and execution role (``LambdaRunner``), and the template's SQS event source
mapping is played by ``deliver_queue`` with the mapping's own batch size (moto's mapping is switched off first, so
that it does not try). The start function reads the organization as the hub, a delegated reader of Organizations
(``sandbox/aws/organizations_delegation.py``); every worker assumes ``OrgGuardRemediation`` like the guardrails.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sandbox.world.hub import DeployedHub
from sandbox.world.lambda_runner import FunctionSpec, LambdaRunner
from sandbox.world.template import referenced_logical_id

START_HANDLER = "handlers.adapters.reconcile.start_handler"
WORKER_HANDLER = "handlers.adapters.reconcile.worker_handler"


@dataclass(frozen=True)
class ReconcileRun:
    started: dict[str, Any]  # what the start function returned: run id, accounts, regions, queued
    results: list[dict[str, Any]]  # one per account-region part the workers finished


def function(runner: LambdaRunner, handler: str) -> FunctionSpec:
    return next(spec for spec in runner.functions.values() if spec.handler == handler)


def switch_off_moto_mappings(hub: DeployedHub) -> None:
    functions = hub.client("lambda")
    for page in functions.get_paginator("list_event_source_mappings").paginate():
        for mapping in page["EventSourceMappings"]:
            functions.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)


def scheduled_event(hub: DeployedHub, time: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": hub.account, "time": time, "region": hub.region, "resources": [], "detail": {}}


def deliver_queue(hub: DeployedHub, runner: LambdaRunner) -> list[dict[str, Any]]:
    """The template's SQS event source mapping: each batch of the queue to its function, deleted on success."""
    resolver = hub.resolver
    [mapping] = [resolver.properties(logical_id) for logical_id, _ in
                 resolver.of_type("AWS::Lambda::EventSourceMapping")]
    function_id = referenced_logical_id(mapping["FunctionName"])
    if function_id is None:
        raise LookupError("the event source mapping names no function of the template")
    spec = runner.functions[function_id]
    queue_name = str(resolver.resolve(mapping["EventSourceArn"])).rsplit(":", 1)[-1]
    sqs = hub.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    results: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=int(mapping.get("BatchSize", 10)),
                                    AttributeNames=["All"]).get("Messages", [])
        if not batch:
            return results
        event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                              "attributes": m.get("Attributes", {}), "messageAttributes": {},
                              "eventSource": "aws:sqs", "awsRegion": hub.region} for m in batch]}
        results.extend(runner.invoke(spec, event)["results"])
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def reconcile_once(hub: DeployedHub, runner: LambdaRunner, time: str) -> ReconcileRun:
    """The schedule fires at ``time``: the start function queues one message per account and region, the workers
    sweep them."""
    started = runner.invoke(function(runner, START_HANDLER), scheduled_event(hub, time))
    return ReconcileRun(started, deliver_queue(hub, runner))
