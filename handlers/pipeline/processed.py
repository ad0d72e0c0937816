"""What happened to one delivery: returned by the Lambda, printed by replay and the sandbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("orgguard")


@dataclass
class Processed:
    """What happened to one delivery (returned by the Lambda; printed by replay and the sandbox)."""

    event_id: str
    policy: str | None
    outcome: str
    account: str = ""
    region: str = ""
    resource: str = ""
    actions: list[dict[str, Any]] = field(default_factory=list)
    notified: bool = False
    duplicate: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def log_fields(self) -> dict[str, Any]:
        """The keys of the one structured log line per processed event."""
        return {"event_id": self.event_id, "policy": self.policy, "account": self.account, "region": self.region,
                "outcome": self.outcome, "resource": self.resource, "notified": self.notified,
                "duplicate": self.duplicate, "actions": len(self.actions)}
