"""Decide and act: evaluate one event through its guardrail (read, evaluate, fix), turn every non-transient
failure into an outcome, and render the e-mail that is due."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from handlers import outcome as oc
from handlers.audit import (
    CARRIED_ACTIONS,
    Claim,
)
from handlers.context import PolicyContext
from handlers.errors import error_code, is_transient
from handlers.events import ApiCallEvent
from handlers.guardrails.base import Guardrail
from handlers.guardrails.check import check_event
from handlers.mail_context import template_context
from handlers.notices import DAILY_NOTICES, TEMPLATES, daily_notice_key
from handlers.notify import clean_subject, fit_body, message_attributes, template_name
from handlers.notify import subject as mail_subject
from handlers.outcome import Action, Result
from handlers.outcome_text import describe
from handlers.pipeline.deliver import hand_over_quietly, notifier_of, release_quietly
from handlers.runtime import Runtime
from handlers.sessions import NotOnboarded, RegionDisabled
from handlers.settings import Settings

log = logging.getLogger("orgguard")


def record_fields(event: ApiCallEvent, policy: Guardrail, result: Result | None = None) -> dict[str, Any]:
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


def decide(event: ApiCallEvent, policy: Guardrail, rt: Runtime, claim: Claim | None) -> dict[str, Any]:
    """Evaluate the event into its final record (fields, and the rendered message when one is due)."""
    ctx = _context(event, policy, rt)
    carried = claim.carried_actions if claim is not None else []
    try:
        result = _evaluate(event, policy, ctx, carried)
    except Exception:
        if rt.audit is not None and claim is not None:
            done = [*carried, *(a.to_dict() for a in ctx.performed)]
            if done:
                hand_over_quietly(rt.audit, claim, {CARRIED_ACTIONS: done})
            else:
                release_quietly(rt.audit, claim)
        raise
    record = {**record_fields(event, policy, result), "severity": oc.severity(result.outcome, policy.severity)}
    wants_notice = _should_notify(result, rt.settings) and rt.notifier is not None
    daily = DAILY_NOTICES.get(result.outcome)
    if daily and wants_notice and rt.audit is not None:
        day = dt.datetime.fromtimestamp(rt.clock(), dt.UTC).date().isoformat()
        wants_notice = rt.audit.once(daily_notice_key(result.outcome, event, day),
                                     {"account": event.account, "region": event.region, "policy": policy.id})
    if wants_notice:
        subject, body = render(event, policy, result, rt)
        attributes = message_attributes(event.account, policy.id, result.outcome, record["severity"])
        record.update(subject=clean_subject(subject), body=fit_body(body, attributes), attributes=attributes)
    return record


def render(event: ApiCallEvent, policy: Guardrail, result: Result, rt: Runtime) -> tuple[str, str]:
    """Render the e-mail; a broken (e.g. user-overridden) template must not strand an event that was acted on,
    so it falls back to a plain message that still says what happened and names the template error."""
    notifier = notifier_of(rt)
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
