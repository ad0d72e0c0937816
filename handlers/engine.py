"""The pipeline every guardrail Lambda runs: parse, gate, claim, evaluate, record, notify.

The Lambda handler is a thin adapter around ``process``; every effect goes through objects held by
``Runtime`` (built lazily on the first invocation, never at import time), so tests, the sandbox, the
sweep and replay run exactly this code against whatever clients they pass in.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from handlers import outcome as oc
from handlers import storm
from handlers.audit import (
    CARRIED_ACTIONS,
    CARRIED_RESULT,
    DIGEST,
    FAILED,
    NONE,
    PENDING,
    SENT,
    UNKNOWN,
    AuditLog,
    Claim,
    ClaimStatus,
    InFlight,
    RecordState,
    event_key,
)
from handlers.context import PolicyContext
from handlers.contract import REMEDIATION_ROLE_NAME, TABLE_PARTITION_KEY
from handlers.errors import RuntimeIncomplete, error_code, is_transient
from handlers.events import ApiCallEvent, MalformedEvent, content_key, parse
from handlers.exemptions import account_exempt
from handlers.guardrails.base import Guardrail
from handlers.guardrails.check import check_event
from handlers.logs import configure_lambda_logging, invocation
from handlers.mail_context import template_context
from handlers.notices import not_onboarded_key, region_disabled_key
from handlers.notify import Notifier, clean_subject, fit_body, message_attributes, template_name
from handlers.notify import subject as mail_subject
from handlers.outcome import Action, Result
from handlers.outcome_text import describe
from handlers.registry import guardrail, record_key_suffix
from handlers.runtime import Runtime, RuntimeHolder
from handlers.runtime import runtime_from_environment as build_runtime_from_environment
from handlers.sessions import NotOnboarded, RegionDisabled
from handlers.settings import Settings

log = logging.getLogger("orgguard")


@dataclass
class Processed:
    """What happened to one delivery (returned by the Lambda; printed by replay and the sandbox)."""

    event_id: str
    policy: str | None
    outcome: str
    account: str = ""
    region: str = ""
    resource: str = ""
    actions: list[dict[str, Any]] = field(default_factory=list)
    notified: bool = False
    duplicate: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def log_fields(self) -> dict[str, Any]:
        """The keys of the one structured log line per processed event."""
        return {"event_id": self.event_id, "policy": self.policy, "account": self.account, "region": self.region,
                "outcome": self.outcome, "resource": self.resource, "notified": self.notified,
                "duplicate": self.duplicate, "actions": len(self.actions)}


def own_call(event: ApiCallEvent) -> bool:
    """The loop guard: calls made by OrgGuard's own remediation role are never acted on."""
    marker = f":role/{REMEDIATION_ROLE_NAME}"
    return event.actor.issuer_arn.endswith(marker) or f":assumed-role/{REMEDIATION_ROLE_NAME}/" in event.actor.arn


def gate(event: ApiCallEvent, policy: Guardrail, settings: Settings) -> oc.Outcome | None:
    """Pure: the outcome for an event that must not be evaluated, or None to go on."""
    if event.error_code:
        return oc.skipped("error-code")
    if own_call(event):
        return oc.skipped("own-remediation")
    if event.event_source != policy.event_source or event.event_name not in policy.event_names:
        return oc.skipped("not-governed")
    if settings.policies.mode(policy.id) == "off":
        return oc.skipped("policy-off")
    if account_exempt(event.account, settings.exemptions):
        return oc.EXEMPT
    return None


def _record_fields(event: ApiCallEvent, policy: Guardrail, result: Result | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": event.event_id, "event_name": event.event_name, "event_time": event.event_time,
        "policy": policy.id, "account": event.account, "region": event.region, "actor": event.actor.display,
    }
    if result is not None:
        fields.update({
            "outcome": result.outcome, "resource": result.resource, "summary": result.summary,
            "before": result.before, "after": result.after, "actions": [a.to_dict() for a in result.actions],
        })
        fields.update({k: v for k, v in (("stack_name", result.stack_name), ("iac", result.iac)) if v})
    return fields


def _context(event: ApiCallEvent, policy: Guardrail, rt: Runtime) -> PolicyContext:
    today = dt.datetime.fromtimestamp(rt.clock(), dt.UTC).date()
    return PolicyContext(
        settings=rt.settings, policy_id=policy.id, account=event.account, region=event.region,
        client_factory=lambda service: rt.members.client(event.account, event.region, service), today=today,
        clock=rt.clock, admin_groups=rt.admin_groups,
    )


def _should_notify(result: Result, settings: Settings) -> bool:
    if not result.notify:
        return False
    if result.outcome.kind in (oc.OutcomeKind.COMPLIANT, oc.OutcomeKind.EXEMPT, oc.OutcomeKind.SKIPPED):
        return settings.notifications.notify_compliant and result.outcome.kind is oc.OutcomeKind.COMPLIANT
    return True


def _describe(action: dict[str, Any]) -> str:
    return f"{action.get('action', '?')} {json.dumps(action.get('params', {}), sort_keys=True)[:300]}"


def _merge_carried(result: Result, carried: list[dict[str, Any]]) -> None:
    """Writes an earlier attempt of this event made before it raised are part of what happened: the live
    state the retry found compliant is compliant because of them."""
    result.details = {**result.details, "carried_actions": carried}
    if result.outcome.kind is oc.OutcomeKind.COMPLIANT:
        result.outcome, result.notify = oc.REMEDIATED, True
    done = "\n".join(f"- {_describe(a)}" for a in carried)
    result.summary = (f"{result.summary}\n\nAlready done by an earlier attempt of this event, which then "
                      f"stopped on a transient error:\n{done}").strip()


def _evaluate(event: ApiCallEvent, policy: Guardrail, ctx: PolicyContext,
              carried: list[dict[str, Any]]) -> Result:
    """Run the policy; turn every non-transient failure into an outcome, re-raise transient ones."""
    resource_ids = policy.resource_ids(event.detail)
    if not resource_ids:
        return Result(oc.rejected("no-resource-id"), summary="the event names no resource to check", notify=False)
    try:
        result = check_event(policy, ctx, event, resource_ids)
    except RegionDisabled as error:
        return Result(oc.REGION_DISABLED, resource=", ".join(resource_ids), summary=str(error),
                      details={"reason": error.reason})
    except NotOnboarded as error:
        return Result(oc.NOT_ONBOARDED, resource=", ".join(resource_ids), summary=str(error),
                      details={"reason": error.reason})
    except Exception as error:
        if is_transient(error):
            raise
        log.exception("policy %s failed on event %s", policy.id, event.event_id,
                      extra={"event_id": event.event_id, "policy": policy.id, "account": event.account})
        result = Result(oc.failed(error_code(error)), resource=", ".join(resource_ids),
                        summary=f"OrgGuard could not finish: {error_code(error)}: {str(error)[:300]}")
    # What was actually sent is the record, whatever the policy module reported.
    result.actions = [Action(str(a.get("action", "")), dict(a.get("params", {}))) for a in carried]
    result.actions += ctx.performed
    if carried:
        _merge_carried(result, carried)
    return result


# Notices that say the same thing for every event of an account (and region): at most one a day.
DAILY_NOTICES = {oc.NOT_ONBOARDED: "not-onboarded", oc.REGION_DISABLED: "region-disabled"}
TEMPLATES = {oc.NOT_ONBOARDED: "not-onboarded.txt.j2", oc.REGION_DISABLED: "region-disabled.txt.j2"}


def _daily_notice_key(outcome: oc.Outcome, event: ApiCallEvent, day: str) -> str:
    if outcome.kind is oc.OutcomeKind.REGION_DISABLED:
        return region_disabled_key(event.account, event.region, day)
    return not_onboarded_key(event.account, day)


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
            first = rt.audit.once(_key(event, policy), {**_record_fields(event, policy), "outcome": skip,
                                                               "state": RecordState.DONE}, ttl_seconds=30 * 86400)
            base.duplicate = not first
        return base

    key = _key(event, policy)
    claim: Claim | None = None
    if rt.audit is not None:
        claim = rt.audit.claim(key, _record_fields(event, policy))
        if claim.status is ClaimStatus.DONE:
            base.outcome, base.duplicate = oc.skipped("duplicate"), True
            base.resource = str(claim.item.get("resource", ""))
            return base
        if claim.status is ClaimStatus.IN_FLIGHT:
            raise InFlight(f"event {event.event_id} is being handled by another invocation")
        if claim.status is ClaimStatus.ACTED:
            return _notify_pending(claim.item, key, base, rt)

    if claim is not None and claim.carried_result is not None:
        # An earlier attempt finished the work and only its record failed: record what it found and did.
        record = claim.carried_result
    else:
        record = _decide(event, policy, rt, claim)
    base.outcome, base.resource = str(record["outcome"]), str(record.get("resource", ""))
    base.actions = list(record.get("actions", []))
    _record_and_notify(key, record, base, rt, claim)
    return base


def _decide(event: ApiCallEvent, policy: Guardrail, rt: Runtime, claim: Claim | None) -> dict[str, Any]:
    """Evaluate the event into its final record (fields, and the rendered message when one is due)."""
    ctx = _context(event, policy, rt)
    carried = claim.carried_actions if claim is not None else []
    try:
        result = _evaluate(event, policy, ctx, carried)
    except Exception:
        if rt.audit is not None and claim is not None:
            done = [*carried, *(a.to_dict() for a in ctx.performed)]
            if done:
                _hand_over_quietly(rt.audit, claim, {CARRIED_ACTIONS: done})
            else:
                _release_quietly(rt.audit, claim)
        raise
    record = {**_record_fields(event, policy, result), "severity": oc.severity(result.outcome, policy.severity)}
    wants_notice = _should_notify(result, rt.settings) and rt.notifier is not None
    daily = DAILY_NOTICES.get(result.outcome)
    if daily and wants_notice and rt.audit is not None:
        day = dt.datetime.fromtimestamp(rt.clock(), dt.UTC).date().isoformat()
        wants_notice = rt.audit.once(_daily_notice_key(result.outcome, event, day),
                                     {"account": event.account, "region": event.region, "policy": policy.id})
    if wants_notice:
        subject, body = _render(event, policy, result, rt)
        attributes = message_attributes(event.account, policy.id, result.outcome, record["severity"])
        record.update(subject=clean_subject(subject), body=fit_body(body, attributes), attributes=attributes)
    return record


def _record_and_notify(key: str, record: dict[str, Any], base: Processed, rt: Runtime, claim: Claim | None) -> None:
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
        _hand_over_quietly(rt.audit, claim, {CARRIED_RESULT: record})
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


def _notifier_of(rt: Runtime) -> Notifier:
    if rt.notifier is None:
        raise RuntimeIncomplete("notifier")
    return rt.notifier


def _publish(key: str, subject: str, body: str, attributes: dict[str, Any], base: Processed, rt: Runtime) -> None:
    notifier, audit = _notifier_of(rt), _audit_of(rt)
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


def _render(event: ApiCallEvent, policy: Guardrail, result: Result, rt: Runtime) -> tuple[str, str]:
    """Render the e-mail; a broken (e.g. user-overridden) template must not strand an event that was acted on,
    so it falls back to a plain message that still says what happened and names the template error."""
    notifier = _notifier_of(rt)
    name = TEMPLATES.get(result.outcome, template_name(policy))
    try:
        return notifier.renderer.render(name, template_context(event, policy, result, rt))
    except Exception as error:
        log.exception("template %s failed; sending a plain notification", name,
                      extra={"event_id": event.event_id, "policy": policy.id, "account": event.account})
        subject = mail_subject(rt.settings.notifications.subject_prefix,
                               rt.account_name(event.account) or event.account, event.region,
                               policy.label(result.resource), f"{policy.id} {describe(result.outcome).phrase}")
        body = "\n".join([
            f"Policy:   {policy.id}", f"Outcome:  {result.outcome}", f"Resource: {result.resource}",
            f"Account:  {event.account}", f"Region:   {event.region}", f"Who:      {event.actor.display}",
            f"Call:     {event.event_source} {event.event_name} at {event.event_time}", "", result.summary, "",
            f"(The template {name} failed: {type(error).__name__}: {str(error)[:300]})", ""])
        return subject, body


UNSURE_NOTE = ("an earlier attempt recorded this outcome and stopped before confirming the notification: "
               "it may not have been sent (OrgGuard sends a notification at most once)")


def _notify_pending(item: dict[str, Any], key: str, base: Processed, rt: Runtime) -> Processed:
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


def _release_quietly(audit: AuditLog, claim: Claim) -> None:
    try:
        audit.release(str(claim.item[TABLE_PARTITION_KEY]), claim.claim_id)
    except Exception as error:  # the lease expires on its own; the original error matters more
        log.warning("could not release claim %s: %s", claim.item.get(TABLE_PARTITION_KEY), error)


def _hand_over_quietly(audit: AuditLog, claim: Claim, carried: dict[str, Any]) -> None:
    try:
        audit.hand_over(claim, carried)
    except Exception as error:  # the lease expires on its own; the next attempt evaluates from the live state
        log.error("could not hand over claim %s with %s: %s", claim.item.get(TABLE_PARTITION_KEY),
                  ", ".join(carried), error)


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
