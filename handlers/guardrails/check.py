"""Read, evaluate, fix: the one way a guardrail checks resources, for an event and for the sweep alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers import outcome as oc
from handlers.drift import drift_entry
from handlers.guardrails.base import Finding, Guardrail, Subject

if TYPE_CHECKING:
    from handlers.context import PolicyContext
    from handlers.events import ApiCallEvent
    from handlers.outcome import Result


def subject_of(guardrail: Guardrail, ctx: PolicyContext) -> Subject:
    settings = ctx.settings
    return Subject(guardrail.id, ctx.account, ctx.region, ctx.today, settings.policies.section(guardrail.id),
                   settings.exemptions, ctx.enforcing)


def evaluate_all(guardrail: Guardrail, states: dict[str, Any], resource_ids: list[str],
                 subject: Subject) -> list[Finding]:
    """Pure: the findings for resources in the given states (a resource missing from ``states`` is gone)."""
    return [guardrail.evaluate(resource, states.get(resource), subject) for resource in resource_ids]


def check(guardrail: Guardrail, ctx: PolicyContext, resource_ids: list[str], known: dict[str, Any] | None = None,
          event: ApiCallEvent | None = None) -> list[Finding]:
    """Read the live state, evaluate each resource, and in enforce mode send the fixes."""
    states = guardrail.read(ctx, resource_ids, known, event)
    findings = evaluate_all(guardrail, states, resource_ids, subject_of(guardrail, ctx))
    if ctx.enforcing:
        findings = guardrail.fix(findings, ctx)
        add_iac_fixes(guardrail, findings, ctx.settings.policies.section(guardrail.id))
    return findings


def add_iac_fixes(guardrail: Guardrail, findings: list[Finding], standard: Any) -> None:
    """Pure: a fixed resource that a stack owns gets the fix its template needs (``Finding.iac``)."""
    for finding in findings:
        if finding.outcome.kind is not oc.OutcomeKind.REMEDIATED or not (finding.stack_name and finding.logical_id):
            continue
        fix = guardrail.iac_fix(finding, standard)
        if fix is not None:
            finding.iac = drift_entry(finding.resource, finding.stack_name, finding.logical_id, fix)


def check_event(guardrail: Guardrail, ctx: PolicyContext, event: ApiCallEvent, resource_ids: list[str]) -> Result:
    """The event's result: its resources checked, then summed up the guardrail's way."""
    findings = check(guardrail, ctx, resource_ids, event=event)
    result = guardrail.result(findings, ctx.enforcing)
    result.iac = [f.iac for f in findings if f.iac]
    return result
