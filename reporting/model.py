"""Audit items -> a ``Report``: per account x guardrail outcome counts over a period, worst accounts first,
and the trend per day. Pure: no AWS, the clock is a parameter.

Outcomes fall into the categories a person reads: ``compliant``, ``fixed`` (remediated), ``reported`` (left
as found, the admins told), ``exempt``, ``failed`` (OrgGuard could not finish) and ``other`` (skipped,
ignored, gone, not onboarded, ...). An account is worse than another when it has more failed, then more
reported, then more fixed items; ties go by account id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers import outcome as oc
from handlers.batch.records import DONE, TargetResult

CATEGORIES = ("compliant", "fixed", "reported", "exempt", "failed", "other")
_BY_KIND = {oc.OutcomeKind.COMPLIANT: "compliant", oc.OutcomeKind.REMEDIATED: "fixed",
            oc.OutcomeKind.REPORTED: "reported", oc.OutcomeKind.EXEMPT: "exempt",
            oc.OutcomeKind.FAILED: "failed"}
WHOLE_ACCOUNT = "*"  # the guardrail of a record about a whole account-region (a sweep that could not run)
DEFAULT_DAYS = 7


def category(outcome: str) -> str:
    """The report's category of an outcome's text (``failed:AccessDenied`` -> ``failed``)."""
    kind = oc.kind_of(outcome)
    return _BY_KIND.get(kind, "other") if kind is not None else "other"


@dataclass
class Counts:
    """How many items ended in each category."""

    compliant: int = 0
    fixed: int = 0
    reported: int = 0
    exempt: int = 0
    failed: int = 0
    other: int = 0

    def add(self, name: str, n: int = 1) -> None:
        setattr(self, name, getattr(self, name) + n)

    def merge(self, other: Counts) -> None:
        for name in CATEGORIES:
            self.add(name, getattr(other, name))

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in CATEGORIES)

    def severity_key(self) -> tuple[int, int, int]:
        """Larger is worse: failed, then reported, then fixed."""
        return (self.failed, self.reported, self.fixed)

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in CATEGORIES} | {"total": self.total}


@dataclass
class GuardrailCounts:
    policy: str
    counts: Counts


@dataclass
class AccountReport:
    account: str
    name: str
    counts: Counts
    guardrails: list[GuardrailCounts]

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "name": self.name, "counts": self.counts.to_dict(),
                "guardrails": {g.policy: g.counts.to_dict() for g in self.guardrails}}


@dataclass
class DayCounts:
    day: dt.date
    counts: Counts


@dataclass
class Report:
    generated: dt.datetime
    first_day: dt.date
    last_day: dt.date
    accounts: list[AccountReport]  # worst first
    trend: list[DayCounts]  # one per day of the period, oldest first, days without items included
    totals: Counts
    sources: list[str] = field(default_factory=list)  # where the items came from, for the reader
    outside: int = 0  # items read but outside the period or without a time

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def guardrails(self) -> list[str]:
        return sorted({g.policy for a in self.accounts for g in a.guardrails})

    def to_json(self) -> dict[str, Any]:
        return {"generated": self.generated.strftime("%Y-%m-%dT%H:%M:%SZ"), "days": self.days,
                "first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(),
                "sources": self.sources, "categories": list(CATEGORIES), "totals": self.totals.to_dict(),
                "accounts": [a.to_dict() for a in self.accounts],
                "trend": [{"day": d.day.isoformat(), **d.counts.to_dict()} for d in self.trend],
                "outside_period": self.outside}


def item_day(item: Mapping[str, Any]) -> dt.date | None:
    """The UTC day of an item's ``time`` (ISO-8601), ``None`` when it has none that parses."""
    text = str(item.get("time", ""))
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


def is_outcome_record(item: Mapping[str, Any]) -> bool:
    """An outcome record of an account (not an idempotency marker or a claim still in flight)."""
    return bool(item.get("outcome")) and bool(item.get("account"))


def build_report(items: Iterable[Mapping[str, Any]], now: dt.datetime, days: int = DEFAULT_DAYS,
                 names: Mapping[str, str] | None = None, sources: Iterable[str] = ()) -> Report:
    """The report of ``items`` (plain audit items) over the ``days`` UTC days that end with ``now``'s."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    names = names or {}
    last = now.astimezone(dt.UTC).date()
    first = last - dt.timedelta(days=days - 1)
    cells: dict[str, dict[str, Counts]] = {}
    trend = {first + dt.timedelta(days=n): Counts() for n in range(days)}
    outside = 0
    for item in items:
        if not is_outcome_record(item):
            continue
        day = item_day(item)
        if day is None or day not in trend:
            outside += 1
            continue
        name = category(str(item["outcome"]))
        policy = str(item.get("policy") or WHOLE_ACCOUNT)
        cells.setdefault(str(item["account"]), {}).setdefault(policy, Counts()).add(name)
        trend[day].add(name)
    accounts = [_account(account, names.get(account, ""), by_policy) for account, by_policy in cells.items()]
    accounts.sort(key=lambda a: (tuple(-n for n in a.counts.severity_key()), a.account))
    totals = Counts()
    for account in accounts:
        totals.merge(account.counts)
    return Report(now.astimezone(dt.UTC), first, last, accounts, [DayCounts(d, c) for d, c in trend.items()],
                  totals, list(sources), outside)


def _account(account: str, name: str, by_policy: dict[str, Counts]) -> AccountReport:
    counts = Counts()
    for cell in by_policy.values():
        counts.merge(cell)
    rows = [GuardrailCounts(policy, cell) for policy, cell in by_policy.items()]
    rows.sort(key=lambda g: (tuple(-n for n in g.counts.severity_key()), g.policy))
    return AccountReport(account, name, counts, rows)


def sweep_items(results: Iterable[TargetResult], now: dt.datetime) -> list[dict[str, Any]]:
    """A sweep's results as audit-like items dated ``now``: every finding (compliant ones too), and one for
    an account-region that could not be swept."""
    time = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    items: list[dict[str, Any]] = []
    for result in results:
        base = {"account": result.account, "region": result.region, "time": time, "source": "sweep"}
        items += [{**base, "policy": f.policy, "resource": f.resource, "outcome": f.outcome}
                  for f in result.findings]
        if result.status not in (DONE, oc.EXEMPT):
            items.append({**base, "policy": WHOLE_ACCOUNT, "resource": f"{result.account}/{result.region}",
                          "outcome": result.status})
    return items
