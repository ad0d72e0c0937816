"""What an event's e-mail template sees (``template_context``): the facts once each, already in words.

Every template renders under StrictUndefined, so every key is always there (``iac`` is None unless the
resource's infrastructure-as-code source is known).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers import outcome as oc
from handlers.actor_text import who
from handlers.drift import first_rendered
from handlers.outcome_text import describe, exemption_hint

if TYPE_CHECKING:
    from handlers.events import ApiCallEvent
    from handlers.guardrails.base import Guardrail
    from handlers.outcome import Result
    from handlers.runtime import Runtime


def account_context(account: str, name: str) -> dict[str, str]:
    """An account as e-mails show it: its name where one is known (Organizations, then the settings'
    ``organization.account_names``), else its id, as ``label``."""
    return {"id": account, "name": name, "label": name or account}


def template_context(event: ApiCallEvent, policy: Guardrail, result: Result, rt: Runtime) -> dict[str, Any]:
    settings = rt.settings
    account = account_context(event.account, rt.account_name(event.account))
    caller = who(event.detail.get("userIdentity"))
    where = f"{account['name']} ({account['id']})" if account["name"] else account["id"]
    label = policy.label(result.resource)
    hint = exemption_hint(settings.exemptions.tag, settings.exemptions.until_tag, policy.id)
    text = describe(result.outcome, label, policy.reasons, policy.next_steps, hint)
    return {
        "policy": {"id": policy.id, "title": policy.title, "mode": settings.policies.mode(policy.id),
                   "notify_only": policy.notify_only},
        "event": {"name": event.event_name, "time": event.event_time, "id": event.event_id,
                  "source": event.event_source, "actor": event.actor.display, "actor_type": event.actor.type,
                  "source_ip": str(event.detail.get("sourceIPAddress", ""))[:64]},
        "who": {"person": caller.person, "role": caller.role, "arn": caller.arn or event.actor.display,
                "root": caller.root, "service": caller.service, "line": caller.line(where)},
        "account": account,
        "region": event.region,
        "outcome": result.outcome,
        "kind": _kind(result.outcome),  # the outcome without its reason
        "text": {"phrase": text.phrase, "sentence": text.sentence, "next_step": text.next_step},
        "resource": result.resource,
        "resource_label": label,
        "summary": result.summary,
        "before": result.before,
        "after": result.after,
        "actions": [a.to_dict() for a in result.actions],
        "details": result.details,
        "stack_name": result.stack_name,
        "iac": first_rendered(result.iac),
        "console_link": policy.console_link(result.resource, event.region),
        # Root use is flagged in every subject, right after the prefix.
        "subject_prefix": settings.notifications.subject_prefix + (" ROOT" if caller.root else ""),
        "exemption": {"tag": settings.exemptions.tag, "until_tag": settings.exemptions.until_tag},
    }


def _kind(outcome: str) -> str:
    kind = oc.kind_of(outcome)
    return kind.value if kind is not None else str(outcome)
