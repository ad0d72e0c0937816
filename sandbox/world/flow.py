"""Events reaching the hub's Lambdas: rule targets tapped into SQS, and a pump that plays asynchronous Lambda.

moto's EventBridge raises on a Lambda target. ``tap_lambda_targets`` points every hub rule's Lambda target
at an SQS "tap" queue instead (same rule, pattern and target id; the delivered document is the event
envelope a Lambda target receives). ``EventFlow.pump`` drains the taps and invokes each event's function
through the ``LambdaRunner`` as asynchronous invocation does: a failed invocation is retried (the
function's ``MaximumRetryAttempts``, 2 by default) and then sent to its on-failure destination, in the
record format Lambda uses. Retries happen at once here; Lambda waits about one and then two minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3

from sandbox.world.lambda_runner import FunctionSpec, LambdaRunner
from sandbox.world.template import TemplateResolver

TAP_PREFIX = "sandbox-tap-"
# The envelope a Lambda target receives (moto's default SQS rendering leaves out ``account``).
ENVELOPE_PATHS = {name: f"$.{name}" for name in
                  ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")}
ENVELOPE_TEMPLATE = ('{"version": "<version>", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
                     '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
                     '"detail": <detail>}')


@dataclass(frozen=True)
class Tap:
    rule: str
    bus: str
    function: FunctionSpec
    queue_url: str


@dataclass
class Delivery:
    """One event handed to one function, with every attempt's outcome."""

    function: str
    event: dict[str, Any]
    attempts: int = 0
    result: Any = None
    error: str = ""
    dead_lettered: bool = False

    @property
    def succeeded(self) -> bool:
        return not self.error


def _queue_arn(sqs: Any, queue_url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def tap_lambda_targets(hub: boto3.Session, resolver: TemplateResolver, runner: LambdaRunner) -> list[Tap]:
    """Replace each rule's Lambda target with an SQS tap queue (one per function); returns the taps."""
    events = hub.client("events", region_name=resolver.region)
    sqs = hub.client("sqs", region_name=resolver.region)
    taps: list[Tap] = []
    queues: dict[str, str] = {}
    for logical_id, _ in resolver.of_type("AWS::Events::Rule"):
        properties = resolver.properties(logical_id)
        bus = str(resolver.resolve(properties.get("EventBusName", "default")))
        rule = resolver.ref(logical_id)
        for target in properties.get("Targets", []):
            arn = str(resolver.resolve(target["Arn"]))
            if ":lambda:" not in arn:
                continue
            function = runner.by_arn(arn)
            if function.name not in queues:
                queues[function.name] = sqs.create_queue(QueueName=TAP_PREFIX + function.name)["QueueUrl"]
            tapped = {k: v for k, v in resolver.resolve(target).items() if k not in ("Arn", "Input", "InputPath")}
            tapped.update({"Arn": _queue_arn(sqs, queues[function.name]),
                           "InputTransformer": {"InputPathsMap": ENVELOPE_PATHS, "InputTemplate": ENVELOPE_TEMPLATE}})
            events.put_targets(Rule=rule, EventBusName=bus, Targets=[tapped])
            taps.append(Tap(rule, bus, function, queues[function.name]))
    return taps


def failure_record(function: FunctionSpec, event: dict[str, Any], attempts: int,
                   error: BaseException) -> dict[str, Any]:
    """What Lambda sends to an on-failure destination after the last failed asynchronous attempt."""
    return {
        "version": "1.0",
        "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": f"{function.arn}:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": attempts},
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__,
                            "stackTrace": traceback.format_tb(error.__traceback__)},
    }


@dataclass
class EventFlow:
    hub: boto3.Session
    region: str
    taps: list[Tap]
    runner: LambdaRunner
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sqs = self.hub.client("sqs", region_name=self.region)

    def _queues(self) -> dict[str, FunctionSpec]:
        return {tap.queue_url: tap.function for tap in self.taps}

    def sleep(self, _seconds: float) -> None:
        """Stands in for ``time.sleep`` in a loop that waits for an effect of the events: the time the
        caller would wait is the time the events need to flow, so deliver them instead."""
        self.pump()

    def pump(self) -> int:
        """Deliver everything waiting in the taps (and what those deliveries cause); returns how many."""
        handled = 0
        while True:
            round_handled = 0
            for queue_url, function in self._queues().items():
                messages = self._sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                     WaitTimeSeconds=0).get("Messages", [])
                for message in messages:
                    self.deliveries.append(self._deliver(function, json.loads(message["Body"])))
                    self._sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    round_handled += 1
            if not round_handled:
                return handled
            handled += round_handled

    def _deliver(self, function: FunctionSpec, event: dict[str, Any]) -> Delivery:
        delivery = Delivery(function.name, event)
        last_error: Exception | None = None
        while delivery.attempts <= function.retry_attempts:
            delivery.attempts += 1
            try:
                delivery.result = self.runner.invoke(function, event)
            except Exception as error:
                last_error = error
                delivery.error = f"{type(error).__name__}: {error}"
                continue
            delivery.error = ""
            return delivery
        if function.on_failure_arn and last_error is not None:
            record = failure_record(function, event, delivery.attempts, last_error)
            self._send_to_destination(function, record)
            delivery.dead_lettered = True
        return delivery

    def _send_to_destination(self, function: FunctionSpec, record: dict[str, Any]) -> None:
        """Lambda sends the record with the function's execution role (which needs sqs:SendMessage on it)."""
        _, _, _, _, account, name = function.on_failure_arn.split(":", 5)
        sqs = self.runner.execution_session(function).client("sqs", region_name=self.region)
        url = f"https://sqs.{self.region}.amazonaws.com/{account}/{name}"
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record, default=str))
