"""The hub's scheduled reconcile: a start Lambda queues one message per account and region; a bounded
number of worker Lambdas take them from the reconcile queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs

from handlers import contract
from hub.functions import environment, function
from hub.logical_id import set_logical_id
from hub.names import LOGICAL_IDS, NAME_PREFIX, RECONCILE_START, RECONCILE_WORKER, dlq_id, function_name
from hub.permissions import reconcile_start_role
from hub.queues import DLQ_RETENTION, queue
from hub.route import Route
from hub.rules import rule

if TYPE_CHECKING:
    from hub.stack import OrgGuardHubStack

# One reconcile worker sweeps one account and region: give it Lambda's full 15 minutes; the start Lambda
# pages through the organization's accounts, which takes long only for very large organizations.
RECONCILE_TIMEOUT = Duration.minutes(15)
RECONCILE_MAX_RECEIVE_COUNT = 3
# AWS recommends a visibility timeout of six times the consuming function's timeout.
RECONCILE_VISIBILITY_TIMEOUT = Duration.minutes(15 * 6)


def reconcile(hub: OrgGuardHubStack) -> tuple[iam.Role, sqs.Queue]:
    """The reconcile queue, its worker and start routes (in ``hub.routes``); returns the start role and queue."""
    worker_dlq = queue(hub, dlq_id(RECONCILE_WORKER), f"{function_name(RECONCILE_WORKER)}-dlq",
                       retention_period=DLQ_RETENTION)
    work = queue(
        hub, LOGICAL_IDS["reconcile_queue"], f"{NAME_PREFIX}reconcile", alarmed=False,
        visibility_timeout=RECONCILE_VISIBILITY_TIMEOUT,
        retention_period=Duration.days(1),
        dead_letter_queue=sqs.DeadLetterQueue(queue=worker_dlq,
                                              max_receive_count=RECONCILE_MAX_RECEIVE_COUNT),
    )
    start_role = reconcile_start_role(hub, work)
    _worker(hub, work, worker_dlq)

    start, start_failures = function(
        hub, RECONCILE_START, "handlers.adapters.reconcile.start_handler",
        environment(hub, **{contract.ENV_RECONCILE_QUEUE_URL: work.queue_url}),
        role=start_role, timeout=RECONCILE_TIMEOUT)
    start_rule = dlq = None
    if hub.settings.hub.reconcile_schedule:
        start_rule, dlq = rule(hub, RECONCILE_START, start, schedule=hub.settings.hub.reconcile_schedule,
                               on_hub_bus=False)
    hub.routes[RECONCILE_START] = Route(RECONCILE_START, start, start_failures, start_rule, dlq)
    return start_role, work


def _worker(hub: OrgGuardHubStack, work: sqs.Queue, worker_dlq: sqs.Queue) -> None:
    # The worker queues a continuation of an account-region it could not finish in its time.
    worker, _ = function(hub, RECONCILE_WORKER, "handlers.adapters.reconcile.worker_handler",
                         environment(hub, **{contract.ENV_RECONCILE_QUEUE_URL: work.queue_url}),
                         role=hub.handler_role, timeout=RECONCILE_TIMEOUT, asynchronous=False)
    work.grant_send_messages(hub.handler_role)
    # A bounded number of workers at once, so a large organization's fan-out cannot use up the account's
    # Lambda concurrency the guardrails need.
    source = event_sources.SqsEventSource(work, batch_size=1,
                                          max_concurrency=hub.settings.hub.reconcile_max_concurrency)
    worker.add_event_source(source)
    mapping = next(c for c in worker.node.children if isinstance(c, lambda_.EventSourceMapping))
    set_logical_id(mapping, LOGICAL_IDS["reconcile_worker_event_source"])
    hub.routes[RECONCILE_WORKER] = Route(RECONCILE_WORKER, worker, None, None, worker_dlq)
