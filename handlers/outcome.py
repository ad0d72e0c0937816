"""What a guardrail did with one event: the outcome vocabulary and the result record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMPLIANT = "compliant"
REMEDIATED = "remediated"
REPORTED = "reported"
EXEMPT = "exempt"
GONE = "gone"
NOT_ONBOARDED = "not-onboarded"
REGION_DISABLED = "region-disabled"  # STS is not activated in the event's region for the member account
IGNORED = "ignored"


def skipped(why: str) -> str:
    return f"skipped:{why}"


def failed(why: str) -> str:
    return f"failed:{why}"


def rejected(why: str) -> str:
    return f"rejected:{why}"


SEVERITY_BY_OUTCOME = {
    REMEDIATED: "medium",
    REPORTED: "medium",
    NOT_ONBOARDED: "high",
    REGION_DISABLED: "high",
    GONE: "low",
    COMPLIANT: "info",
    EXEMPT: "info",
}


def severity(outcome: str, policy_severity: str) -> str:
    if outcome.startswith("failed:"):
        return "high"
    if outcome.startswith(("skipped:", "rejected:")):
        return "info"
    if outcome in (REMEDIATED, REPORTED):
        return policy_severity
    return SEVERITY_BY_OUTCOME.get(outcome, "info")


@dataclass
class Action:
    """One write call, as ``service:Operation`` with its parameters (exactly what was or would be sent)."""

    action: str
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "params": self.params}


@dataclass
class Result:
    outcome: str
    resource: str = ""
    summary: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    stack_name: str = ""
    notify: bool = True

    @property
    def acted(self) -> bool:
        return self.outcome == REMEDIATED
