"""What a guardrail did with one event: the outcome vocabulary and the result record."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class OutcomeKind(enum.Enum):
    """What kind of end an event came to; ``reasoned`` kinds carry a reason after a ``:``."""

    COMPLIANT = "compliant"
    REMEDIATED = "remediated"
    REPORTED = "reported"
    EXEMPT = "exempt"
    GONE = "gone"
    NOT_ONBOARDED = "not-onboarded"
    REGION_DISABLED = "region-disabled"  # STS is not activated in the event's region for the member account
    IGNORED = "ignored"
    SKIPPED = "skipped"
    FAILED = "failed"
    REJECTED = "rejected"

    @property
    def reasoned(self) -> bool:
        return self in _REASONED


_REASONED = frozenset({OutcomeKind.SKIPPED, OutcomeKind.FAILED, OutcomeKind.REJECTED})


class InvalidOutcome(ValueError):
    """Text that is not an outcome (an unknown kind, a reason on a kind without one, or none where needed)."""


class Outcome(str):
    """An outcome: a kind plus, for ``skipped``/``failed``/``rejected``, a reason.

    It *is* its text (``remediated``, ``failed:InvalidInstanceID.NotFound``), a ``str`` subclass, so audit
    records, message attributes and JSON stay byte-identical to the plain strings they replaced; code asks
    ``.kind`` and ``.reason`` instead of parsing the text. ``Outcome.parse(str(o)) == o`` for every outcome,
    including reasons that contain ``:`` (only the first ``:`` separates kind and reason).
    """

    __slots__ = ("kind", "reason")
    kind: OutcomeKind
    reason: str

    def __new__(cls, kind: OutcomeKind, reason: str = "") -> Outcome:
        if kind.reasoned != bool(reason):
            raise InvalidOutcome(f"{kind.value} {'needs' if kind.reasoned else 'takes no'} reason (got {reason!r})")
        self = super().__new__(cls, f"{kind.value}:{reason}" if kind.reasoned else kind.value)
        self.kind = kind
        self.reason = reason
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Outcome, (self.kind, self.reason))

    @classmethod
    def parse(cls, text: str) -> Outcome:
        """The outcome ``text`` spells (e.g. read back from the audit table); ``InvalidOutcome`` if none."""
        if isinstance(text, Outcome):
            return text
        name, sep, reason = text.partition(":")
        try:
            kind = OutcomeKind(name)
        except ValueError:
            raise InvalidOutcome(f"not an outcome: {text!r}") from None
        if kind.reasoned and not sep:
            raise InvalidOutcome(f"not an outcome: {text!r} ({name} needs a reason)")
        return cls(kind, reason) if sep else cls(kind)

    @classmethod
    def maybe(cls, text: str) -> Outcome | None:
        """``parse``, or ``None`` for text that is not an outcome (a sweep target's ``done``, an empty field)."""
        try:
            return cls.parse(text)
        except InvalidOutcome:
            return None


def kind_of(text: str) -> OutcomeKind | None:
    """The kind of an outcome given as text, ``None`` when the text is not an outcome."""
    parsed = Outcome.maybe(text)
    return parsed.kind if parsed is not None else None


def is_failure(text: str) -> bool:
    return kind_of(text) is OutcomeKind.FAILED


COMPLIANT = Outcome(OutcomeKind.COMPLIANT)
REMEDIATED = Outcome(OutcomeKind.REMEDIATED)
REPORTED = Outcome(OutcomeKind.REPORTED)
EXEMPT = Outcome(OutcomeKind.EXEMPT)
GONE = Outcome(OutcomeKind.GONE)
NOT_ONBOARDED = Outcome(OutcomeKind.NOT_ONBOARDED)
REGION_DISABLED = Outcome(OutcomeKind.REGION_DISABLED)
IGNORED = Outcome(OutcomeKind.IGNORED)


def skipped(why: str) -> Outcome:
    return Outcome(OutcomeKind.SKIPPED, why)


def failed(why: str) -> Outcome:
    return Outcome(OutcomeKind.FAILED, why)


def rejected(why: str) -> Outcome:
    return Outcome(OutcomeKind.REJECTED, why)


SEVERITY_BY_KIND = {
    OutcomeKind.REMEDIATED: "medium",
    OutcomeKind.REPORTED: "medium",
    OutcomeKind.NOT_ONBOARDED: "high",
    OutcomeKind.REGION_DISABLED: "high",
    OutcomeKind.GONE: "low",
    OutcomeKind.COMPLIANT: "info",
    OutcomeKind.EXEMPT: "info",
    OutcomeKind.FAILED: "high",
    OutcomeKind.SKIPPED: "info",
    OutcomeKind.REJECTED: "info",
}


def severity(outcome: str, policy_severity: str) -> str:
    """Failures page someone; acting follows the policy's own severity; text that is no outcome is info."""
    kind = kind_of(outcome)
    if kind in (OutcomeKind.REMEDIATED, OutcomeKind.REPORTED):
        return policy_severity
    return SEVERITY_BY_KIND.get(kind, "info") if kind is not None else "info"


@dataclass
class Action:
    """One write call, as ``service:Operation`` with its parameters (exactly what was or would be sent)."""

    action: str
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "params": self.params}


@dataclass
class Result:
    outcome: Outcome
    resource: str = ""
    summary: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    stack_name: str = ""
    notify: bool = True
    iac: list[dict[str, Any]] = field(default_factory=list)  # drift entries of fixed stack-owned resources

    @property
    def acted(self) -> bool:
        return self.outcome.kind is OutcomeKind.REMEDIATED
