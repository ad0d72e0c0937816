"""Outcomes in words: a short phrase for a subject, a sentence for an e-mail's first line, the next step.

Pure and generic: ``failed:too-many-groups`` is never shown raw where people read first. A guardrail may name
its own reasons and outcome kinds (``Guardrail.reasons``: sentence, ``Guardrail.next_steps``: what to change),
keyed by the reason (``too-many-groups``) or by the kind (``reported``); everything else has a generic text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from handlers.outcome import Outcome, OutcomeKind

PHRASES = {
    OutcomeKind.COMPLIANT: "compliant",
    OutcomeKind.REMEDIATED: "fixed",
    OutcomeKind.REPORTED: "reported",
    OutcomeKind.EXEMPT: "exempt",
    OutcomeKind.GONE: "gone",
    OutcomeKind.NOT_ONBOARDED: "account not onboarded",
    OutcomeKind.REGION_DISABLED: "STS not activated",
    OutcomeKind.IGNORED: "ignored",
    OutcomeKind.SKIPPED: "skipped",
    OutcomeKind.FAILED: "could not be fixed",
    OutcomeKind.REJECTED: "event not readable",
}

SENTENCES = {
    OutcomeKind.COMPLIANT: "{noun} meets the organization's standard; OrgGuard changed nothing.",
    OutcomeKind.REMEDIATED: "OrgGuard fixed {noun}: it now meets the organization's standard.",
    OutcomeKind.REPORTED: "{noun} does not meet the organization's standard; OrgGuard changed nothing (report mode).",
    OutcomeKind.EXEMPT: "{noun} is exempt from this guardrail; OrgGuard changed nothing.",
    OutcomeKind.GONE: "{noun} no longer exists; there is nothing to check.",
    OutcomeKind.NOT_ONBOARDED: "OrgGuard cannot act in this account: it cannot assume its role there (not onboarded).",
    OutcomeKind.REGION_DISABLED: "OrgGuard cannot act in this region: STS is not activated there for this account.",
    OutcomeKind.IGNORED: "OrgGuard ignored this event.",
}

# Reasons every guardrail can meet (the engine's and the sweep's); a guardrail's own override these.
GENERIC_REASONS = {
    "error-code": "the call itself failed, so there was nothing to check",
    "own-remediation": "the call was OrgGuard's own remediation",
    "not-governed": "this guardrail does not govern that call",
    "policy-off": "the guardrail is off",
    "duplicate": "this event was already handled",
    "no-resource-id": "the event names no resource",
}
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                           "UnauthorizedAccess", "AuthorizationError"})
ACCESS_DENIED_SENTENCE = ("OrgGuard could not finish: {code} - its role in this account was refused the call "
                          "(a service control policy, a permission boundary or a resource policy may deny it).")
ACCESS_DENIED_STEP = ("Check the service control policies and resource policies that apply to the role "
                      "OrgGuardRemediation in this account, and that the account's spoke stack is current "
                      "(orgguard status).")
FAILED_STEP = ("Correct the cause named above; the next sweep (orgguard sweep --fix, or the scheduled "
               "reconcile) checks the resource again.")
REPORTED_STEP = "Bring {noun} to the standard shown above."


@dataclass(frozen=True)
class OutcomeText:
    phrase: str  # for the subject: "fixed", "could not be fixed", ...
    sentence: str  # the e-mail's first line
    next_step: str = ""  # what to change (failures and reports); "" when there is nothing to do


def exemption_hint(tag: str, until_tag: str, guardrail_id: str) -> str:
    """How to exempt a resource, with the exact tags to set."""
    return (f"If it must stay as it is, request an exemption: tag it {tag} = {guardrail_id} "
            f"(for a limited time, also {until_tag} = YYYY-MM-DD).")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _failed(outcome: Outcome, noun: str, reasons: Mapping[str, str], steps: Mapping[str, str]) -> tuple[str, str]:
    reason = outcome.reason
    if reason in reasons:
        return reasons[reason].format(noun=noun), steps.get(reason, FAILED_STEP).format(noun=noun)
    if reason in ACCESS_DENIED:
        return ACCESS_DENIED_SENTENCE.format(code=reason), ACCESS_DENIED_STEP
    return (f"OrgGuard could not finish: {reason} (an error from AWS); {noun} may not meet the standard.",
            steps.get(reason, FAILED_STEP).format(noun=noun))


def describe(outcome: str, noun: str = "the resource", reasons: Mapping[str, str] | None = None,
             next_steps: Mapping[str, str] | None = None, exemption: str = "") -> OutcomeText:
    """The words for ``outcome`` about ``noun`` ("bucket invoices"); ``exemption`` (from ``exemption_hint``)
    ends the next step of a failure or a report. Text that is no outcome is shown as it is."""
    parsed = Outcome.maybe(str(outcome))
    reasons, steps = dict(reasons or {}), dict(next_steps or {})
    if parsed is None:
        return OutcomeText(str(outcome) or "notice", f"OrgGuard recorded: {outcome}.")
    phrase = PHRASES[parsed.kind]
    key = parsed.kind.value
    if parsed.kind is OutcomeKind.FAILED:
        sentence, step = _failed(parsed, noun, reasons, steps)
        return OutcomeText(phrase, _capital(sentence), " ".join(p for p in (step, exemption) if p))
    if parsed.kind in (OutcomeKind.SKIPPED, OutcomeKind.REJECTED):
        why = reasons.get(parsed.reason) or GENERIC_REASONS.get(parsed.reason) or parsed.reason.replace("-", " ")
        verb = "skipped this event" if parsed.kind is OutcomeKind.SKIPPED else "could not read this event"
        return OutcomeText(phrase, f"OrgGuard {verb}: {why}.")
    sentence = reasons.get(key) or SENTENCES[parsed.kind]
    step = ""
    if parsed.kind is OutcomeKind.REPORTED:
        step = " ".join(p for p in (steps.get(key, REPORTED_STEP).format(noun=noun), exemption) if p)
    elif key in steps:
        step = steps[key].format(noun=noun)
    return OutcomeText(phrase, _capital(sentence.format(noun=noun)), step)


def short(outcome: str) -> str:
    """An outcome in a list line: its phrase, a failure with its reason ("failed (AccessDenied)")."""
    parsed = Outcome.maybe(str(outcome))
    if parsed is None:
        return str(outcome)
    return f"failed ({parsed.reason})" if parsed.kind is OutcomeKind.FAILED else PHRASES[parsed.kind]
