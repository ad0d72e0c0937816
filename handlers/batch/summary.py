"""The sweep summary e-mail (``templates/sweep-summary.txt.j2``): whether one is worth sending, its context,
its SNS attributes and its rendering, for both the scheduled reconcile and ``orgguard sweep``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from handlers import outcome as oc
from handlers.batch.records import DONE, OUTCOME_GROUPS, SweepFinding, TargetResult, audited, outcome_group
from handlers.mail_context import account_context
from handlers.notify import Renderer, message_attributes
from handlers.organization import Account
from handlers.registry import guardrail
from handlers.settings import Settings

SUMMARY_LISTED = 200  # resources listed in a summary e-mail; the rest are counted


def worth_a_summary(results: Iterable[TargetResult]) -> bool:
    """Something an admin should hear about: a fix, a report, a failure, an account that cannot be reached."""
    for result in results:
        if oc.kind_of(result.status) in (oc.OutcomeKind.FAILED, oc.OutcomeKind.NOT_ONBOARDED):
            return True
        if any(oc.kind_of(f.outcome) in (oc.OutcomeKind.REMEDIATED, oc.OutcomeKind.REPORTED, oc.OutcomeKind.FAILED)
               for f in result.findings):
            return True
    return False


_LISTING_ORDER = {"failed": 0, oc.REPORTED: 1, oc.REMEDIATED: 2, oc.EXEMPT: 3}


def summary_context(settings: Settings, account: Account, results: list[TargetResult], run: str, source: str,
                    when: str, policies: Iterable[str]) -> dict[str, Any]:
    counts = dict.fromkeys(OUTCOME_GROUPS, 0)
    listed: list[SweepFinding] = []
    for result in results:
        for group, number in result.counts().items():
            counts[group] = counts.get(group, 0) + number
        listed.extend(f for f in result.findings if outcome_group(f.outcome) in _LISTING_ORDER)
    listed.sort(key=lambda f: (_LISTING_ORDER[outcome_group(f.outcome)], f.region, f.policy, f.resource))
    return {
        "subject_prefix": settings.notifications.subject_prefix,
        "account": account_context(account.id, settings.account_name(account.id) or account.name),
        "regions": sorted({r.region for r in results}),
        "run": run,
        "source": source,
        "time": when,
        "policies": [{"id": p, "title": guardrail(p).title, "mode": settings.policies.mode(p),
                      "notify_only": guardrail(p).notify_only} for p in policies],
        "exemption": {"tag": settings.exemptions.tag, "until_tag": settings.exemptions.until_tag},
        "counts": counts,
        "checked": sum(counts.values()),
        "problems": [{"region": r.region, "status": r.status, "error": r.error}
                     for r in results if r.status not in (DONE, oc.EXEMPT)],
        "findings": [{"policy": f.policy, "region": f.region, "resource": f.resource, "outcome": f.outcome,
                      "summary": f.summary.replace("\n", "; "), "stack_name": f.stack_name}
                     for f in listed[:SUMMARY_LISTED]],
        "more": max(0, len(listed) - SUMMARY_LISTED),
    }


def summary_attributes(account: str, results: list[TargetResult]) -> dict[str, dict[str, str]]:
    """SNS attributes for filter policies: ``policy`` and ``outcome`` list everything the summary holds."""
    policies = sorted({f.policy for r in results for f in r.findings if audited(f)})
    outcomes = sorted({outcome_group(f.outcome) for r in results for f in r.findings if audited(f)}
                      | {outcome_group(r.status) for r in results if r.status not in (DONE, oc.EXEMPT)})
    severities = [oc.severity(f.outcome, guardrail(f.policy).severity)
                  for r in results for f in r.findings if audited(f)]
    severities += [oc.severity(r.status, "medium") for r in results if r.status not in (DONE, oc.EXEMPT)]
    rank = ["info", "low", "medium", "high"]
    worst = max(severities, key=rank.index, default="info")
    attributes = message_attributes(account, "sweep", outcomes[0] if outcomes else "compliant", worst)
    attributes["policy"] = {"DataType": "String.Array", "StringValue": json.dumps(policies or ["sweep"])}
    attributes["outcome"] = {"DataType": "String.Array", "StringValue": json.dumps(outcomes or ["compliant"])}
    return attributes


def render_summary(renderer: Renderer, context: dict[str, Any]) -> tuple[str, str]:
    return renderer.render("sweep-summary.txt.j2", context)
