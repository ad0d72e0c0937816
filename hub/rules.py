"""The hub's EventBridge rules: one per route, on the hub bus or a schedule, each target with its DLQ."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from hub.logical_id import set_logical_id
from hub.names import dlq_id, function_name, rule_id, rule_name
from hub.queues import DLQ_RETENTION, queue

if TYPE_CHECKING:
    from hub.stack import OrgGuardHubStack

# The rule targets invoke Lambda asynchronously, so EventBridge only retries while it cannot hand the event
# over (throttling, a function being updated); keep trying as long as EventBridge allows (both maxima)
# before giving up to the DLQ. Non-retryable failures (a deleted function, missing permission) skip the
# retries and go straight to the DLQ, whose alarm tells the admins.
TARGET_MAX_EVENT_AGE = Duration.hours(24)
TARGET_RETRY_ATTEMPTS = 185

_PATTERN_FIELDS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}


def rule(hub: OrgGuardHubStack, name: str, function: lambda_.Function, *, pattern: dict[str, Any] | None = None,
         schedule: str | None = None, on_hub_bus: bool = True) -> tuple[events.Rule, sqs.Queue]:
    """The rule ``orgguard-<name>`` invoking ``function``, and the dead-letter queue of its target."""
    dlq = queue(hub, dlq_id(name), f"{function_name(name)}-dlq", retention_period=DLQ_RETENTION)
    created = events.Rule(
        hub, rule_id(name),
        rule_name=rule_name(name),
        description=f"OrgGuard: {name}",
        event_bus=hub.bus_ref if on_hub_bus else None,
        event_pattern=event_pattern(pattern) if pattern is not None else None,
        schedule=events.Schedule.expression(schedule) if schedule else None,
    )
    created.add_target(targets.LambdaFunction(
        function, dead_letter_queue=dlq, max_event_age=TARGET_MAX_EVENT_AGE,
        retry_attempts=TARGET_RETRY_ATTEMPTS))
    set_logical_id(created, rule_id(name))
    return created, dlq


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    unknown = sorted(set(pattern) - set(_PATTERN_FIELDS))
    if unknown:
        raise ValueError(f"event pattern has fields the hub cannot express: {', '.join(unknown)}")
    return events.EventPattern(**{_PATTERN_FIELDS[k]: v for k, v in pattern.items()})
