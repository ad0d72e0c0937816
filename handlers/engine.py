"""The pipeline every guardrail Lambda runs: parse, gate, claim, evaluate, record, notify.

The Lambda handler is a thin adapter around ``process``; every effect goes through objects held by
``Runtime`` (built lazily on the first invocation, never at import time), so tests, the sandbox, the
sweep and replay run exactly this code against whatever clients they pass in.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3

from handlers import outcome as oc
from handlers.audit import AuditLog, InFlight, event_key
from handlers.context import PolicyContext
from handlers.contract import ENV_AUDIT_TABLE, ENV_TOPIC_ARN
from handlers.errors import error_code, is_transient
from handlers.events import ApiCallEvent, MalformedEvent, content_key, parse
from handlers.exemptions import account_exempt
from handlers.notify import Notifier, console_link, message_attributes
from handlers.outcome import Result
from handlers.registry import POLICIES_BY_ID, REMEDIATION_ROLE_NAME, PolicySpec
from handlers.sessions import MemberSessions, NotOnboarded
from handlers.settings import Settings, from_environment

log = logging.getLogger("orgguard")


class Evaluator(Protocol):
    def __call__(self, event: ApiCallEvent, ctx: PolicyContext, resource_ids: list[str]) -> Result: ...


@dataclass
class Runtime:
    settings: Settings
    members: MemberSessions
    audit: AuditLog | None
    notifier: Notifier | None
    clock: Callable[[], float] = time.time
    account_name_lookup: Callable[[str], str] | None = None
    _names: dict[str, str] = field(default_factory=dict)

    def account_name(self, account: str) -> str:
        if account not in self._names:
            name = self.settings.account_name(account)
            if not name and self.account_name_lookup is not None:
                try:
                    name = self.account_name_lookup(account)
                except Exception as error:  # the name is a courtesy; never fail an event for it
                    log.info("account name lookup failed for %s: %s", account, error)
                    name = ""
            self._names[account] = name
        return self._names[account]


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


def own_call(event: ApiCallEvent) -> bool:
    """The loop guard: calls made by OrgGuard's own remediation role are never acted on."""
    marker = f":role/{REMEDIATION_ROLE_NAME}"
    return event.actor.issuer_arn.endswith(marker) or f":assumed-role/{REMEDIATION_ROLE_NAME}/" in event.actor.arn


def gate(event: ApiCallEvent, policy: PolicySpec, settings: Settings) -> str | None:
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


def _evaluator(policy: PolicySpec) -> Evaluator:
    module = importlib.import_module(policy.module)
    return module.evaluate  # type: ignore[no-any-return]


def _record_fields(event: ApiCallEvent, policy: PolicySpec, result: Result | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": event.event_id, "event_name": event.event_name, "event_time": event.event_time,
        "policy": policy.id, "account": event.account, "region": event.region, "actor": event.actor.display,
    }
    if result is not None:
        fields.update({
            "outcome": result.outcome, "resource": result.resource, "summary": result.summary,
            "before": result.before, "after": result.after, "actions": [a.to_dict() for a in result.actions],
        })
    return fields


def _context(event: ApiCallEvent, policy: PolicySpec, rt: Runtime) -> PolicyContext:
    today = dt.datetime.fromtimestamp(rt.clock(), dt.UTC).date()
    return PolicyContext(
        settings=rt.settings, policy_id=policy.id, account=event.account, region=event.region,
        client_factory=lambda service: rt.members.client(event.account, event.region, service), today=today,
    )


def template_context(event: ApiCallEvent, policy: PolicySpec, result: Result, rt: Runtime) -> dict[str, Any]:
    return {
        "policy": {"id": policy.id, "title": policy.title, "mode": rt.settings.policies.mode(policy.id)},
        "event": {"name": event.event_name, "time": event.event_time, "id": event.event_id,
                  "source": event.event_source, "actor": event.actor.display, "actor_type": event.actor.type,
                  "source_ip": str(event.detail.get("sourceIPAddress", ""))[:64]},
        "account": {"id": event.account, "name": rt.account_name(event.account)},
        "region": event.region,
        "outcome": result.outcome,
        "resource": result.resource,
        "summary": result.summary,
        "before": result.before,
        "after": result.after,
        "actions": [a.to_dict() for a in result.actions],
        "details": result.details,
        "stack_name": result.stack_name,
        "console_link": console_link(policy.resource_type, result.resource, event.region),
        "subject_prefix": rt.settings.notifications.subject_prefix,
    }


def _should_notify(result: Result, settings: Settings) -> bool:
    if not result.notify:
        return False
    if result.outcome in (oc.COMPLIANT, oc.EXEMPT) or result.outcome.startswith("skipped:"):
        return settings.notifications.notify_compliant and result.outcome == oc.COMPLIANT
    return True


def _evaluate(event: ApiCallEvent, policy: PolicySpec, rt: Runtime) -> Result:
    """Run the policy; turn every non-transient failure into an outcome, re-raise transient ones."""
    resource_ids = policy.resource_ids(event.detail)
    if not resource_ids:
        return Result(oc.rejected("no-resource-id"), summary="the event names no resource to check", notify=False)
    ctx = _context(event, policy, rt)
    try:
        result = _evaluator(policy)(event, ctx, resource_ids)
    except NotOnboarded as error:
        return Result(oc.NOT_ONBOARDED, resource=", ".join(resource_ids), summary=str(error),
                      details={"reason": error.reason})
    except Exception as error:
        if is_transient(error):
            raise
        log.exception("policy %s failed on event %s", policy.id, event.event_id)
        result = Result(oc.failed(error_code(error)), resource=", ".join(resource_ids),
                        summary=f"OrgGuard could not finish: {error_code(error)}: {str(error)[:300]}")
    # What was actually sent is the record, whatever the policy module reported.
    result.actions = list(ctx.performed)
    return result


def process(payload: Any, policy: PolicySpec, rt: Runtime) -> Processed:
    """Handle one delivery of one event for one policy. Raises only for transient errors."""
    try:
        event = parse(payload)
    except MalformedEvent as error:
        key = f"rejected#{content_key(payload)}"
        outcome = oc.rejected(error.reason)
        log.warning("rejected event for %s: %s", policy.id, error)
        if rt.audit is not None:
            rt.audit.once(key, {"policy": policy.id, "outcome": outcome, "summary": str(error)[:500],
                                "payload": _excerpt(payload)}, ttl_seconds=30 * 86400)
        return Processed(key, policy.id, outcome, reason=str(error))

    base = Processed(event.event_id, policy.id, "", account=event.account, region=event.region)
    skip = gate(event, policy, rt.settings)
    if skip is not None:
        base.outcome = skip
        if rt.audit is not None:
            first = rt.audit.once(event_key(event.event_id), {**_record_fields(event, policy), "outcome": skip,
                                                               "state": "done"}, ttl_seconds=30 * 86400)
            base.duplicate = not first
        return base

    key = event_key(event.event_id)
    if rt.audit is not None:
        claim = rt.audit.claim(key, _record_fields(event, policy))
        if claim.status == "done":
            base.outcome, base.duplicate = oc.skipped("duplicate"), True
            base.resource = str(claim.item.get("resource", ""))
            return base
        if claim.status == "in-flight":
            raise InFlight(f"event {event.event_id} is being handled by another invocation")
        if claim.status == "acted":
            return _notify_pending(claim.item, key, base, rt)

    try:
        result = _evaluate(event, policy, rt)
    except Exception:
        if rt.audit is not None:
            _release_quietly(rt.audit, key)
        raise
    base.outcome, base.resource = result.outcome, result.resource
    base.actions = [a.to_dict() for a in result.actions]

    subject = body = ""
    wants_notice = _should_notify(result, rt.settings) and rt.notifier is not None
    if result.outcome == oc.NOT_ONBOARDED and rt.audit is not None:
        day = dt.datetime.fromtimestamp(rt.clock(), dt.UTC).date().isoformat()
        wants_notice = wants_notice and rt.audit.once(f"notice#not-onboarded#{event.account}#{day}",
                                                      {"account": event.account, "policy": policy.id})
    if wants_notice:
        subject, body = _render(event, policy, result, rt)
    fields = {**_record_fields(event, policy, result), "severity": oc.severity(result.outcome, policy.severity)}
    if wants_notice:
        assert rt.notifier is not None
        attributes = message_attributes(event.account, policy.id, result.outcome, fields["severity"])
        try:
            rt.notifier.publish(subject, body, attributes)
        except Exception:
            if rt.audit is not None:
                rt.audit.finish(key, {**fields, "subject": subject, "body": body, "attributes": attributes},
                                notified=False)
            raise
        base.notified = True
    if rt.audit is not None:
        rt.audit.finish(key, fields, notified=True)
    return base


def _render(event: ApiCallEvent, policy: PolicySpec, result: Result, rt: Runtime) -> tuple[str, str]:
    """Render the e-mail; a broken (e.g. user-overridden) template must not strand an event that was acted on,
    so it falls back to a plain message that still says what happened and names the template error."""
    assert rt.notifier is not None
    name = "not-onboarded.txt.j2" if result.outcome == oc.NOT_ONBOARDED else f"{policy.id}.txt.j2"
    try:
        return rt.notifier.renderer.render(name, template_context(event, policy, result, rt))
    except Exception as error:
        log.exception("template %s failed; sending a plain notification", name)
        subject = f"{rt.settings.notifications.subject_prefix} {policy.id} {result.outcome} {result.resource}"
        body = "\n".join([
            f"Policy:   {policy.id}", f"Outcome:  {result.outcome}", f"Resource: {result.resource}",
            f"Account:  {event.account}", f"Region:   {event.region}", f"Who:      {event.actor.display}",
            f"Call:     {event.event_source} {event.event_name} at {event.event_time}", "", result.summary, "",
            f"(The template {name} failed: {type(error).__name__}: {str(error)[:300]})", ""])
        return subject, body


def _notify_pending(item: dict[str, Any], key: str, base: Processed, rt: Runtime) -> Processed:
    """A retry after SNS failed: the action is done and recorded; send the stored notification only."""
    base.outcome = str(item.get("outcome", ""))
    base.resource = str(item.get("resource", ""))
    actions = item.get("actions", "[]")
    base.actions = json.loads(actions) if isinstance(actions, str) else []
    if rt.notifier is not None and item.get("subject"):
        attributes = item.get("attributes")
        attrs = json.loads(attributes) if isinstance(attributes, str) else message_attributes(
            base.account, str(base.policy), base.outcome, "info")
        rt.notifier.publish(str(item["subject"]), str(item.get("body", "")), attrs)
        base.notified = True
    assert rt.audit is not None
    rt.audit.mark_notified(key)
    return base


def _release_quietly(audit: AuditLog, key: str) -> None:
    try:
        audit.release(key)
    except Exception as error:  # the lease expires on its own; the original error matters more
        log.warning("could not release claim %s: %s", key, error)


def _excerpt(payload: Any, limit: int = 2000) -> str:
    try:
        text = json.dumps(payload, default=str)
    except (TypeError, ValueError):
        text = repr(payload)
    return text[:limit]


# --- Lambda adapter -------------------------------------------------------------------------------

_RUNTIME: Runtime | None = None


def runtime_from_environment() -> Runtime:
    settings = from_environment()
    session = boto3.Session()
    region = session.region_name or settings.organization.hub_region
    from handlers.sessions import RETRY_CONFIG

    table = os.environ.get(ENV_AUDIT_TABLE, settings.hub.table_name)
    topic = os.environ.get(ENV_TOPIC_ARN, "")
    audit = AuditLog(session.client("dynamodb", region_name=region, config=RETRY_CONFIG), table,
                     settings.hub.audit_retention_days)
    notifier = Notifier(session.client("sns", region_name=region, config=RETRY_CONFIG), topic) if topic else None
    orgs = session.client("organizations", region_name=region, config=RETRY_CONFIG)

    def lookup(account: str) -> str:
        return str(orgs.describe_account(AccountId=account)["Account"].get("Name", ""))

    return Runtime(settings, MemberSessions(session), audit, notifier, account_name_lookup=lookup)


def make_handler(policy_id: str) -> Callable[[Any, Any], dict[str, Any]]:
    policy = POLICIES_BY_ID[policy_id]

    def handler(event: Any, context: Any = None) -> dict[str, Any]:
        global _RUNTIME
        if _RUNTIME is None:
            _RUNTIME = runtime_from_environment()
        processed = process(event, policy, _RUNTIME)
        log.info("orgguard %s", json.dumps(processed.to_dict(), default=str))
        return processed.to_dict()

    return handler
