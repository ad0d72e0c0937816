"""The hub's Lambdas: their environment (settings, table, topic), log group, and on-failure queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from handlers import contract
from handlers.settings import Settings
from hub.logical_id import set_logical_id
from hub.names import failures_id, function_id, function_name, pascal
from hub.queues import DLQ_RETENTION, queue

if TYPE_CHECKING:
    from hub.stack import OrgGuardHubStack

# Lambda's own retries of a failed invocation before the on-failure destination (the maximum, 2).
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(6)
# Lambda allows 4 KB of environment in total; leave room for the table name, topic ARN and queue URL.
MAX_SETTINGS_JSON_BYTES = 3072

# The retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_CHOICES = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                         2557, 2922, 3288, 3653)


def log_retention_days(days: int) -> int:
    """The shortest retention CloudWatch Logs accepts that keeps logs at least ``days`` days."""
    return next((d for d in LOG_RETENTION_CHOICES if d >= days), LOG_RETENTION_CHOICES[-1])


def check_settings_size(settings: Settings) -> None:
    size = len(settings.to_json().encode())
    if size > MAX_SETTINGS_JSON_BYTES:
        raise ValueError(
            f"the settings are {size} bytes as JSON; the Lambdas receive them in their environment, "
            f"which allows about {MAX_SETTINGS_JSON_BYTES} bytes for them: shorten "
            "organization.account_names or other long lists")


def environment(hub: OrgGuardHubStack, policy_id: str | None = None, **extra: str) -> dict[str, str]:
    variables = {
        contract.ENV_SETTINGS: hub.settings.to_json(),
        contract.ENV_AUDIT_TABLE: hub.table.table_name,
        contract.ENV_TOPIC_ARN: hub.topic.topic_arn,
    }
    if policy_id is not None:
        variables[contract.ENV_POLICY] = policy_id
    variables.update(extra)
    return variables


def function(hub: OrgGuardHubStack, name: str, handler: str, variables: dict[str, str], *, role: iam.Role,
             timeout: Duration | None = None,
             asynchronous: bool = True) -> tuple[lambda_.Function, sqs.Queue | None]:
    """The Lambda ``orgguard-<name>`` with its log group and, when invoked asynchronously, its on-failure
    queue (returned with it)."""
    log_group = logs.LogGroup(
        hub, f"LogGroup{pascal(name)}",
        log_group_name=f"/aws/lambda/{function_name(name)}",
        removal_policy=RemovalPolicy.DESTROY,
    )
    set_logical_id(log_group, f"LogGroup{pascal(name)}").add_property_override(
        "RetentionInDays", log_retention_days(hub.settings.hub.log_retention_days))
    failures = None
    if asynchronous:
        failures = queue(hub, failures_id(name), f"{function_name(name)}-failures",
                         retention_period=DLQ_RETENTION)
    created = lambda_.Function(
        hub, function_id(name),
        function_name=function_name(name),
        handler=handler,
        runtime=lambda_.Runtime.PYTHON_3_12,
        code=hub.code,
        role=role,
        environment=variables,
        memory_size=hub.settings.hub.lambda_memory_mb,
        timeout=timeout or Duration.seconds(hub.settings.hub.lambda_timeout_seconds),
        log_group=log_group,
        # Structured logs at INFO: Lambda's default application level would drop the handlers' INFO lines.
        logging_format=lambda_.LoggingFormat.JSON,
        application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
        on_failure=destinations.SqsDestination(failures) if failures is not None else None,
        retry_attempts=ASYNC_RETRY_ATTEMPTS if failures is not None else None,
        max_event_age=ASYNC_MAX_EVENT_AGE if failures is not None else None,
    )
    set_logical_id(created, function_id(name))
    log_group.grant_write(role)
    return created, failures
