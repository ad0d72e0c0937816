"""The scheduled reconcile's Lambda entry points: the start function (on the schedule) and the worker (on the
reconcile queue), thin adapters around ``handlers.batch.reconcile``."""

from __future__ import annotations

import os
from typing import Any

import boto3

from handlers.batch.reconcile import PAGE_SIZE, SESSION_NAME, WorkerRuntime, start, work
from handlers.contract import ENV_RECONCILE_QUEUE_URL
from handlers.logs import configure_lambda_logging, invocation
from handlers.runtime import RuntimeHolder
from handlers.runtime import runtime_from_environment as build_runtime_from_environment
from handlers.sessions import RETRY_CONFIG, SWEEP_CONFIG
from handlers.settings import from_environment


def start_handler(event: Any, context: Any = None) -> dict[str, Any]:
    configure_lambda_logging()
    settings = from_environment()
    queue_url = os.environ[ENV_RECONCILE_QUEUE_URL]
    session = boto3.Session()
    region = session.region_name or settings.organization.hub_region
    org = session.client("organizations", region_name=region, config=RETRY_CONFIG)
    sqs = session.client("sqs", region_name=region, config=RETRY_CONFIG)
    return start(event, settings, org, sqs, queue_url)


def runtime_from_environment() -> WorkerRuntime:
    """The worker's runtime: the table's client retries as the sweep's do; no account-name lookups."""
    session = boto3.Session()
    core = build_runtime_from_environment(session_name=SESSION_NAME, table_config=SWEEP_CONFIG, session=session)
    queue_url = os.environ.get(ENV_RECONCILE_QUEUE_URL, "")
    sqs = session.client("sqs", region_name=core.region, config=RETRY_CONFIG) if queue_url else None
    return WorkerRuntime.from_runtime(core, sqs, queue_url, PAGE_SIZE)


def _cold_start() -> WorkerRuntime:
    configure_lambda_logging()
    return runtime_from_environment()


RUNTIME: RuntimeHolder[WorkerRuntime] = RuntimeHolder(_cold_start)


def worker_handler(event: Any, context: Any = None) -> dict[str, Any]:
    runtime = RUNTIME.get()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    records = event.get("Records") if isinstance(event, dict) else None
    with invocation(context):
        if not isinstance(records, list):
            return {"results": [work(event, runtime, remaining)]}
        return {"results": [work(record.get("body"), runtime, remaining) for record in records]}
