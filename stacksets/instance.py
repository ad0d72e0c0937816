"""``Instance``: one stack instance of a StackSet as ListStackInstances describes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Instance:
    account: str
    region: str
    status: str  # CURRENT | OUTDATED | INOPERABLE
    detailed: str  # PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | INOPERABLE | SKIPPED_SUSPENDED_ACCOUNT
    reason: str
    drift: str
    ou: str

    @property
    def failed(self) -> bool:
        """Out of date after an operation that ended: what ``update_stack_instances`` can retry.

        INOPERABLE instances (a failed delete) cannot be updated; they are reported, not retried.
        """
        return self.status == "OUTDATED" and self.detailed not in (
            "PENDING",
            "RUNNING",
            "SKIPPED_SUSPENDED_ACCOUNT",
        )

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Instance:
        return cls(
            account=summary["Account"],
            region=summary["Region"],
            status=summary.get("Status", ""),
            detailed=summary.get("StackInstanceStatus", {}).get("DetailedStatus", ""),
            reason=summary.get("StatusReason", ""),
            drift=summary.get("DriftStatus", "NOT_CHECKED"),
            ou=summary.get("OrganizationalUnitId", ""),
        )
