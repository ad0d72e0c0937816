"""The hub's SQS queues: every queue that holds lost work is alarmed (to the alerts topic) and listed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sqs as sqs

from hub.logical_id import set_logical_id

if TYPE_CHECKING:
    from hub.stack import OrgGuardHubStack

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time to fix the cause and redrive
ALARM_PERIOD = Duration.minutes(5)


def queue(hub: OrgGuardHubStack, logical_id: str, queue_name: str, *, alarmed: bool = True,
          **kwargs: Any) -> sqs.Queue:
    """An encrypted, TLS-only queue; unless ``alarmed=False``, a dead-letter queue in
    ``hub.dead_letter_queues`` whose alarm tells the admins when anything waits in it."""
    created = sqs.Queue(
        hub, logical_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **kwargs,
    )
    set_logical_id(created, logical_id)
    if alarmed:
        hub.dead_letter_queues[logical_id] = created
        alarm = cloudwatch.Alarm(
            hub, f"Alarm{logical_id}",
            alarm_name=f"{queue_name}-not-empty",
            alarm_description=f"OrgGuard: messages are waiting in {queue_name}; something was not "
                              "handled. Fix the cause, then `orgguard redrive`.",
            metric=created.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD,
                                                                         statistic="Maximum"),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(hub.topic))
    return created
