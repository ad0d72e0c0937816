"""The gate (pure): an event that must not be evaluated ends here with its outcome."""

from __future__ import annotations

import logging

from handlers import outcome as oc
from handlers.contract import REMEDIATION_ROLE_NAME
from handlers.events import ApiCallEvent
from handlers.exemptions import account_exempt
from handlers.guardrails.base import Guardrail
from handlers.settings import Settings

log = logging.getLogger("orgguard")


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
