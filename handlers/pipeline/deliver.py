"""Record and notify: the final record is written before the e-mail, so no retry sends it twice; storm
control may fold the e-mail into the window's digest; a retry after the record never acts again."""

from __future__ import annotations

import json
import logging
from typing import Any

from handlers import storm
from handlers.audit import (
    CARRIED_RESULT,
    DIGEST,
    FAILED,
    NONE,
    PENDING,
    SENT,
    UNKNOWN,
    AuditLog,
    Claim,
)
from handlers.contract import TABLE_PARTITION_KEY
from handlers.errors import RuntimeIncomplete
from handlers.notices import DAILY_NOTICES
from handlers.notify import Notifier, message_attributes
from handlers.pipeline.processed import Processed
from handlers.runtime import Runtime

log = logging.getLogger("orgguard")


def record_and_notify(key: str, record: dict[str, Any], base: Processed, rt: Runtime, claim: Claim | None) -> None:
    """Write the final record before the e-mail, so that no retry can send it twice, then send it."""
    message = record.get("subject")
    if rt.audit is None or claim is None:
        if message and rt.notifier is not None:
            rt.notifier.publish(str(message), str(record["body"]), record["attributes"])
            base.notified = True
        return
    notification = NONE
    try:
        if message:
            notification = _storm_gate(key, record, rt)
        rt.audit.finish(key, record, notification=notification)
    except Exception:
        hand_over_quietly(rt.audit, claim, {CARRIED_RESULT: record})
        raise
    if notification == PENDING:
        _publish(key, str(message), str(record["body"]), record["attributes"], base, rt)
    elif notification == DIGEST:
        base.reason = f"notification folded into the digest of {record.get(storm.STORM_WINDOW_FIELD, '')}"


def _storm_gate(key: str, record: dict[str, Any], rt: Runtime) -> str:
    """Storm control (handlers.storm): ``pending`` to publish now, ``digest`` when folded into the window's
    digest. Daily notices keep their own once-a-day key."""
    if record.get("outcome") in DAILY_NOTICES:
        return PENDING
    decision = storm.gate(_audit_of(rt), rt.settings, record, key, rt.clock())
    return PENDING if decision is storm.Decision.SEND else DIGEST


def _audit_of(rt: Runtime) -> AuditLog:
    if rt.audit is None:
        raise RuntimeIncomplete("audit log")
    return rt.audit


def notifier_of(rt: Runtime) -> Notifier:
    if rt.notifier is None:
        raise RuntimeIncomplete("notifier")
    return rt.notifier


def _publish(key: str, subject: str, body: str, attributes: dict[str, Any], base: Processed, rt: Runtime) -> None:
    notifier, audit = notifier_of(rt), _audit_of(rt)
    try:
        notifier.publish(subject, body, attributes)
    except Exception:
        try:
            audit.set_notification(key, FAILED)
        except Exception as error:  # the record stays "pending": a retry will not resend (at most once)
            log.warning("could not record the failed notification of %s: %s", key, error)
        raise
    base.notified = True
    audit.set_notification(key, SENT)


UNSURE_NOTE = ("an earlier attempt recorded this outcome and stopped before confirming the notification: "
               "it may not have been sent (OrgGuard sends a notification at most once)")


def notify_pending(item: dict[str, Any], key: str, base: Processed, rt: Runtime) -> Processed:
    """A retry after the outcome was recorded: never act again; send the stored notification only when
    its publish is known to have failed."""
    base.outcome = str(item.get("outcome", ""))
    base.resource = str(item.get("resource", ""))
    actions = item.get("actions", "[]")
    base.actions = json.loads(actions) if isinstance(actions, str) else []
    audit = _audit_of(rt)
    if item.get("notification") == PENDING:
        audit.set_notification(key, UNKNOWN, note=UNSURE_NOTE)
        base.reason = UNSURE_NOTE
        return base
    if not item.get("subject"):
        audit.set_notification(key, NONE)
        return base
    if rt.notifier is None:
        raise RuntimeError(f"event {base.event_id} has a notification to resend and this runtime has no topic")
    attributes = item.get("attributes")
    attrs = json.loads(attributes) if isinstance(attributes, str) else message_attributes(
        base.account, str(base.policy), base.outcome, "info")
    _publish(key, str(item["subject"]), str(item.get("body", "")), attrs, base, rt)
    return base


def release_quietly(audit: AuditLog, claim: Claim) -> None:
    try:
        audit.release(str(claim.item[TABLE_PARTITION_KEY]), claim.claim_id)
    except Exception as error:  # the lease expires on its own; the original error matters more
        log.warning("could not release claim %s: %s", claim.item.get(TABLE_PARTITION_KEY), error)


def hand_over_quietly(audit: AuditLog, claim: Claim, carried: dict[str, Any]) -> None:
    try:
        audit.hand_over(claim, carried)
    except Exception as error:  # the lease expires on its own; the next attempt evaluates from the live state
        log.error("could not hand over claim %s with %s: %s", claim.item.get(TABLE_PARTITION_KEY),
                  ", ".join(carried), error)
