"""The pipeline every guardrail Lambda runs for one delivery: parse, gate, claim, decide, record, notify
(each stage in ``handlers.pipeline``).

The Lambda handler is a thin adapter around ``process``; every effect goes through objects held by
``Runtime`` (built lazily on the first invocation, never at import time), so tests, the sandbox, the
sweep and replay run exactly this code against whatever clients they pass in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from handlers import outcome as oc
from handlers.audit import (
    Claim,
    ClaimStatus,
    InFlight,
    RecordState,
    event_key,
)
from handlers.events import ApiCallEvent, MalformedEvent, content_key, parse
from handlers.guardrails.base import Guardrail
from handlers.logs import configure_lambda_logging, invocation
from handlers.pipeline.decide import decide, record_fields
from handlers.pipeline.deliver import notify_pending, record_and_notify
from handlers.pipeline.gate import gate
from handlers.pipeline.processed import Processed
from handlers.registry import guardrail, record_key_suffix
from handlers.runtime import Runtime, RuntimeHolder
from handlers.runtime import runtime_from_environment as build_runtime_from_environment

log = logging.getLogger("orgguard")


def _key(event: ApiCallEvent, policy: Guardrail) -> str:
    """One record per event and guardrail: a CreateBucket reaches s3-encryption and s3-public-access."""
    return event_key(event.event_id, record_key_suffix(policy, event.event_source, event.event_name))


def process(payload: Any, policy: Guardrail, rt: Runtime) -> Processed:
    """Handle one delivery of one event for one policy. Raises only for transient errors."""
    try:
        event = parse(payload)
    except MalformedEvent as error:
        key = f"rejected#{content_key(payload)}"
        outcome = oc.rejected(error.reason)
        log.warning("rejected event for %s: %s", policy.id, error,
                    extra={"event_id": key, "policy": policy.id, "outcome": outcome})
        if rt.audit is not None:
            rt.audit.once(key, {"policy": policy.id, "outcome": outcome, "summary": str(error)[:500],
                                "payload": _excerpt(payload)}, ttl_seconds=30 * 86400)
        return Processed(key, policy.id, outcome, reason=str(error))

    base = Processed(event.event_id, policy.id, "", account=event.account, region=event.region)
    skip = gate(event, policy, rt.settings)
    if skip is not None:
        base.outcome = skip
        if rt.audit is not None:
            first = rt.audit.once(_key(event, policy), {**record_fields(event, policy), "outcome": skip,
                                                               "state": RecordState.DONE}, ttl_seconds=30 * 86400)
            base.duplicate = not first
        return base

    key = _key(event, policy)
    claim: Claim | None = None
    if rt.audit is not None:
        claim = rt.audit.claim(key, record_fields(event, policy))
        if claim.status is ClaimStatus.DONE:
            base.outcome, base.duplicate = oc.skipped("duplicate"), True
            base.resource = str(claim.item.get("resource", ""))
            return base
        if claim.status is ClaimStatus.IN_FLIGHT:
            raise InFlight(f"event {event.event_id} is being handled by another invocation")
        if claim.status is ClaimStatus.ACTED:
            return notify_pending(claim.item, key, base, rt)

    if claim is not None and claim.carried_result is not None:
        # An earlier attempt finished the work and only its record failed: record what it found and did.
        record = claim.carried_result
    else:
        record = decide(event, policy, rt, claim)
    base.outcome, base.resource = str(record["outcome"]), str(record.get("resource", ""))
    base.actions = list(record.get("actions", []))
    record_and_notify(key, record, base, rt, claim)
    return base


def _excerpt(payload: Any, limit: int = 2000) -> str:
    try:
        text = json.dumps(payload, default=str)
    except (TypeError, ValueError):
        text = repr(payload)
    return text[:limit]


# --- Lambda adapter -------------------------------------------------------------------------------

def runtime_from_environment() -> Runtime:
    """The guardrail functions' runtime (with account names from Organizations for the e-mails)."""
    return build_runtime_from_environment(account_names=True)


def _cold_start() -> Runtime:
    configure_lambda_logging()
    return runtime_from_environment()


RUNTIME: RuntimeHolder[Runtime] = RuntimeHolder(_cold_start)


def make_handler(policy_id: str) -> Callable[[Any, Any], dict[str, Any]]:
    policy = guardrail(policy_id)

    def handler(event: Any, context: Any = None) -> dict[str, Any]:
        runtime = RUNTIME.get()
        with invocation(context):
            processed = process(event, policy, runtime)
            log.info("%s %s %s", processed.policy, processed.outcome, processed.resource or processed.event_id,
                     extra=processed.log_fields())
        return processed.to_dict()

    return handler


__all__ = ["Processed", "Runtime", "make_handler", "process", "runtime_from_environment"]
