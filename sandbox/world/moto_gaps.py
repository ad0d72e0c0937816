"""What moto's CloudFormation accepts but does not create, created from the *same* template.

moto 5.2 skips (with a warning) ``AWS::Events::EventBusPolicy``, ``AWS::SNS::TopicPolicy``,
``AWS::SNS::Subscription``, ``AWS::SQS::QueuePolicy``, ``AWS::CloudWatch::Alarm`` and
``AWS::Lambda::EventInvokeConfig``. ``create_what_moto_skips`` finds the template's resources the stack
did not create and creates each through its API with the properties the template gives it (intrinsic
functions resolved). A skipped type it does not know is an error, never silently ignored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import boto3

from sandbox.world.clients import Clients
from sandbox.world.template import TemplateResolver


class UnknownGapError(RuntimeError):
    """moto skipped a resource type the sandbox does not know how to create."""


@contextlib.contextmanager
def moto_skips_quietly() -> Iterator[None]:
    """moto logs and warns about each resource type its CloudFormation skips; ``create_what_moto_skips``
    creates exactly those, so the notices are noise here."""
    logger = logging.getLogger("moto")
    level = logger.level
    logger.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Tried to parse .* but it's not supported", module=r"moto\.")
        try:
            yield
        finally:
            logger.setLevel(level)


def _event_bus_policy(clients: Clients, properties: dict[str, Any]) -> None:
    statement = {"Sid": properties["StatementId"], **properties["Statement"]}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    clients("events").put_permission(EventBusName=properties["EventBusName"], Policy=json.dumps(policy))


def _topic_policy(clients: Clients, properties: dict[str, Any]) -> None:
    for topic in properties["Topics"]:
        clients("sns").set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                                            AttributeValue=json.dumps(properties["PolicyDocument"]))


def _subscription(clients: Clients, properties: dict[str, Any]) -> None:
    extra = {"Attributes": {"FilterPolicy": json.dumps(properties["FilterPolicy"])}} \
        if "FilterPolicy" in properties else {}
    clients("sns").subscribe(TopicArn=properties["TopicArn"], Protocol=properties["Protocol"],
                             Endpoint=properties["Endpoint"], **extra)


def _queue_policy(clients: Clients, properties: dict[str, Any]) -> None:
    for queue_url in properties["Queues"]:
        clients("sqs").set_queue_attributes(QueueUrl=queue_url,
                                            Attributes={"Policy": json.dumps(properties["PolicyDocument"])})


def _alarm(clients: Clients, properties: dict[str, Any]) -> None:
    clients("cloudwatch").put_metric_alarm(**{k: v for k, v in properties.items() if k != "Tags"})


def _event_invoke_config(clients: Clients, properties: dict[str, Any]) -> None:
    clients("lambda").put_function_event_invoke_config(**properties)


SKIPPED_BY_MOTO: dict[str, Callable[[Clients, dict[str, Any]], None]] = {
    "AWS::Events::EventBusPolicy": _event_bus_policy,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::SNS::Subscription": _subscription,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::Lambda::EventInvokeConfig": _event_invoke_config,
}


def create_what_moto_skips(hub: boto3.Session, resolver: TemplateResolver) -> dict[str, str]:
    """Create the template's resources moto's CloudFormation did not; returns logical id -> type."""
    created: dict[str, str] = {}
    skipped = [(logical_id, resource) for logical_id, resource in resolver.resources.items()
               if logical_id not in resolver.physical_ids]
    unknown = sorted({r["Type"] for _, r in skipped if r["Type"] not in SKIPPED_BY_MOTO})
    if unknown:
        raise UnknownGapError(f"moto's CloudFormation skipped resource types the sandbox cannot create: "
                             f"{', '.join(unknown)}")
    clients = Clients(hub, resolver.region)
    for logical_id, resource in skipped:
        SKIPPED_BY_MOTO[resource["Type"]](clients, resolver.resolve(resource.get("Properties", {})))
        created[logical_id] = resource["Type"]
    return created
