"""``orgguard redrive``'s messages: the event inside each dead-letter message, the policy it goes to, replaying
it through the engine, and the report of what became of every message."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from handlers import outcome as oc
from handlers.audit import DONE, AuditLog, event_key
from handlers.canary import handle_canary
from handlers.contract import CANARY_SOURCE
from handlers.engine import Processed, Runtime, process
from handlers.events import MalformedEvent, parse
from handlers.guardrails.base import Guardrail
from handlers.registry import guardrails, policies_for, record_key_suffix


@dataclass
class Replay:
    """One message and what became of it."""

    queue: str
    message_id: str
    kind: str  # "event", "lambda-failure" (on-failure record), "canary", or "unknown"
    policy: str = ""
    event_id: str = ""
    account: str = ""
    outcome: str = ""
    deleted: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class RedriveReport:
    queues: list[str] = field(default_factory=list)
    replays: list[Replay] = field(default_factory=list)
    dry_run: bool = False
    problems: list[str] = field(default_factory=list)  # queues that could not be read

    @property
    def kept(self) -> list[Replay]:
        return [r for r in self.replays if not r.deleted]

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "queues": self.queues, "messages": [r.to_dict() for r in self.replays],
                "deleted": sum(r.deleted for r in self.replays), "kept": len(self.kept), "problems": self.problems}


# --- messages -> events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unwrapped:
    kind: str
    payload: Any
    function_arn: str = ""


def unwrap(body: str) -> Unwrapped:
    """The event inside a dead-letter message: the body itself, or a Lambda failure record's payload."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return Unwrapped("unknown", body)
    if isinstance(document, dict) and "requestPayload" in document and "requestContext" in document:
        context = document.get("requestContext") or {}
        return Unwrapped("lambda-failure", document["requestPayload"], str(context.get("functionArn", "")))
    if isinstance(document, dict) and document.get("source") == CANARY_SOURCE:
        return Unwrapped("canary", document)
    return Unwrapped("event", document)


HUB_QUEUE_PREFIX = "orgguard-"  # the hub names a guardrail's queues orgguard-<id>-dlq and orgguard-<id>-failures


def queue_owner(queue: str) -> Guardrail | None:
    """The guardrail whose rule or function a hub queue belongs to (None for a spoke's or the canary's)."""
    return next((g for g in guardrails() if queue.startswith(f"{HUB_QUEUE_PREFIX}{g.id}-")), None)


def route(unwrapped: Unwrapped, queue: str = "") -> tuple[Guardrail, ...]:
    """The guardrails the event must still reach. A hub rule's dead letter or a Lambda failure record went to
    one guardrail (its queue, or its function, says which): only that one, the others had their own delivery.
    A spoke's dead letter never reached the hub: every guardrail that names it, as the hub's rules would."""
    function = unwrapped.function_arn.split(":function:", 1)[-1].split(":", 1)[0]
    owner = next((p for p in guardrails() if function and function.endswith(p.id)), None)
    payload = unwrapped.payload
    detail = payload.get("detail", payload) if isinstance(payload, dict) else None
    routed = policies_for(str(detail.get("eventSource", "")), str(detail.get("eventName", ""))) \
        if isinstance(detail, dict) else ()
    if owner is not None and (owner in routed or not routed):
        return (owner,)
    held_by = queue_owner(queue)
    return (held_by,) if held_by is not None and held_by in routed else routed


def claimed_account(unwrapped: Unwrapped) -> str | None:
    """The member account an event says it comes from (None when it cannot be read)."""
    payload = unwrapped.payload
    if unwrapped.kind == "canary":
        detail = payload.get("detail") if isinstance(payload, dict) else None
        return str(detail.get("account", "")) if isinstance(detail, dict) else None
    try:
        return parse(payload).account
    except MalformedEvent:
        return None


# --- replaying ----------------------------------------------------------------------------------------------


def replay_one(unwrapped: Unwrapped, rt: Runtime, audit: AuditLog, dry_run: bool, replay: Replay) -> bool:
    """Replay one event; True when it ended in an outcome (the message may go)."""
    if unwrapped.kind == "canary":
        detail = unwrapped.payload.get("detail")
        replay.account = str(detail.get("account", "")) if isinstance(detail, dict) else ""
        if dry_run:
            replay.outcome, replay.note = "canary", "would check the role again"
        else:
            replay.outcome = str(handle_canary(unwrapped.payload, rt.members, audit,
                                                rt.settings.policies.s3_encryption).get("outcome", ""))
        return True
    policies = route(unwrapped, replay.queue)
    if not policies:
        replay.note = "not an event any guardrail handles (a reconcile work item? run `orgguard sweep`): left"
        return False
    replay.policy = ", ".join(p.id for p in policies)
    if dry_run and all(_already_done(unwrapped.payload, p, audit, replay) for p in policies):
        return True
    processed = [process(unwrapped.payload, policy, rt) for policy in policies]
    _record(processed[0], replay)
    if len(processed) > 1:
        replay.outcome = ", ".join(f"{p.policy}: {p.outcome}" for p in processed)
    return True


def _already_done(payload: Any, policy: Guardrail, audit: AuditLog, replay: Replay) -> bool:
    """In a dry run nothing is claimed, so ask the audit table whether the event was handled already."""
    try:
        event = parse(payload)
    except MalformedEvent:
        return False
    item = audit.get(event_key(event.event_id, record_key_suffix(policy, event.event_source, event.event_name)))
    if item and item.get("state") == DONE:
        replay.event_id, replay.account = event.event_id, event.account
        replay.outcome, replay.note = oc.skipped("duplicate"), f"already handled: {item.get('outcome', '')}"
        return True
    return False


def _record(processed: Processed, replay: Replay) -> None:
    replay.event_id, replay.account, replay.outcome = processed.event_id, processed.account, processed.outcome
    if processed.duplicate:
        replay.note = "already handled"
    elif processed.actions:
        replay.note = ", ".join(str(a.get("action", "")) for a in processed.actions)
