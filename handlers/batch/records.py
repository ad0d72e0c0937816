"""A sweep's results and its audit items: ``SweepFinding`` (one resource), ``TargetResult`` (one account-region),
and the batched audit records written to the hub table."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from handlers import outcome as oc
from handlers.audit import RecordState, attribute_value, iso
from handlers.contract import TABLE_PARTITION_KEY, TABLE_TTL_ATTRIBUTE
from handlers.registry import guardrail

# Targets: one account and region.
DONE = "done"

OUTCOME_GROUPS = ("compliant", "remediated", "reported", "exempt", "gone", "failed")


def outcome_group(outcome: str) -> str:
    return "failed" if oc.is_failure(outcome) else outcome


@dataclass
class SweepFinding:
    """One resource as the sweep found (and perhaps left) it."""

    account: str
    region: str
    policy: str
    resource: str
    outcome: str
    summary: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    stack_name: str = ""
    iac: dict[str, Any] | None = None  # the drift entry of a fixed stack-owned resource (handlers.drift)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SweepFinding:
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})


@dataclass
class TargetResult:
    """One account-region: ``done``, ``exempt``, ``not-onboarded`` or ``failed:<code>``."""

    account: str
    region: str
    status: str = DONE
    findings: list[SweepFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""
    retryable: bool = False
    seconds: float = 0.0
    continuation: dict[str, str] | None = None  # {"policy", "after"}: stopped before the end, resume there

    @property
    def finished(self) -> bool:
        """Nothing left to do for it (a failed target is swept again by a resumed run)."""
        return not oc.is_failure(self.status)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOME_GROUPS, 0)
        for finding in self.findings:
            group = outcome_group(finding.outcome)
            counts[group] = counts.get(group, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        raw = dict(self.__dict__)
        raw["findings"] = [f.to_dict() for f in self.findings]
        return raw

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TargetResult:
        values = {f.name: raw[f.name] for f in fields(cls) if f.name in raw}
        values["findings"] = [SweepFinding.from_dict(f) for f in raw.get("findings", [])]
        return cls(**values)


AUDIT_BATCH = 25  # BatchWriteItem's maximum
AUDIT_ATTEMPTS = 8
AUDITED = (oc.REMEDIATED, oc.REPORTED, oc.EXEMPT)


def audited(finding: SweepFinding) -> bool:
    """Compliant and vanished resources are counted in the summary, not stored one by one."""
    return finding.outcome in AUDITED or oc.is_failure(finding.outcome)


AuditRecord = tuple[str, dict[str, Any]]


def audit_records(result: TargetResult, run: str, source: str, actor: str) -> list[AuditRecord]:
    """(key, fields) for every audited finding, and one for a target that could not be swept."""
    records = []
    base = {"account": result.account, "region": result.region, "source": source, "run": run, "actor": actor,
            "state": RecordState.DONE}
    for finding in result.findings:
        if not audited(finding):
            continue
        spec = guardrail(finding.policy)
        key = f"sweep#{run}#{finding.account}#{finding.region}#{finding.policy}#{finding.resource}"
        records.append((key, {
            **base, "policy": finding.policy, "resource": finding.resource, "outcome": finding.outcome,
            "summary": finding.summary[:1000], "before": finding.before, "after": finding.after,
            "actions": finding.actions, "stack_name": finding.stack_name,
            "iac": [finding.iac] if finding.iac else None,  # as an event's record: a list of drift entries
            "severity": oc.severity(finding.outcome, spec.severity)}))
    if result.status not in (DONE, oc.EXEMPT):
        records.append((f"sweep#{run}#{result.account}#{result.region}#target", {
            **base, "policy": "*", "resource": f"{result.account}/{result.region}", "outcome": result.status,
            "summary": result.error[:1000], "severity": oc.severity(result.status, "medium")}))
    return records


def write_audit(client: Any, table: str, records: list[AuditRecord], retention_days: int,
                clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> int:
    """Put the records with BatchWriteItem (25 a call), retrying unprocessed items with backoff."""
    now = clock()
    expires = int(now) + retention_days * 86400
    requests = [{"PutRequest": {"Item": {k: attribute_value(v) for k, v in {
        TABLE_PARTITION_KEY: key, "time": iso(now), TABLE_TTL_ATTRIBUTE: expires, **fields_}.items()
        if v is not None and v != ""}}} for key, fields_ in records]
    for start in range(0, len(requests), AUDIT_BATCH):
        pending = requests[start:start + AUDIT_BATCH]
        for attempt in range(AUDIT_ATTEMPTS):
            response = client.batch_write_item(RequestItems={table: pending})
            pending = (response.get("UnprocessedItems") or {}).get(table, [])
            if not pending:
                break
            sleep(min(0.05 * 2 ** attempt, 2.0))
        if pending:
            raise RuntimeError(f"DynamoDB left {len(pending)} audit item(s) unprocessed in {table} "
                               f"after {AUDIT_ATTEMPTS} attempts")
    return len(requests)
