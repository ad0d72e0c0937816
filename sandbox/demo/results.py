"""What the demo found: each story as it happened, the run's result, and the checks that OrgGuard's own roles were
never refused and that the remediation role holds nothing the demo did not need."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.contract import HUB_HANDLER_ROLE_NAME
from handlers.registry import FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from sandbox.aws.iam.enforcer import IamReport
from sandbox.aws.iam.necessity import Need
from sandbox.demo import stories as st
from sandbox.world.mailbox import Email
from sandbox.world.organization import (
    SandboxOrganization,
)


@dataclass(frozen=True)
class Played:
    """A story as it happened: the CloudTrail record of the user's call and the resource it concerns."""

    story: st.Story
    record: dict[str, Any]
    resource: str


@dataclass
class EventResult:
    story: st.Story
    event: dict[str, Any]  # the CloudTrail record the user's call produced
    resource: str
    policy: str
    outcome: str
    changed: str
    state: st.StateCheck
    email: Email | None
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"event_name": self.story.event_name, "account": self.story.account, "region": self.story.region,
                "policy": self.policy, "outcome": self.outcome, "verified": self.verified}


@dataclass
class DemoResult:
    organization: SandboxOrganization
    events: list[EventResult] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)
    eml_files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # a step that did not do what it must
    iam: IamReport | None = None  # what the IAM checks did (None with --no-iam)
    needs: list[Need] = field(default_factory=list)  # OrgGuardRemediation's actions and the call each was needed for
    reconcile: dict[str, Any] = field(default_factory=dict)  # the nightly sweep: accounts, regions, counts
    report_file: Path | None = None  # the HTML report of the hub's audit table (REPORT_FILE in the out dir)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.events) and all(e.verified for e in self.events)

    def to_json(self) -> dict[str, Any]:
        org = self.organization
        return {"ok": self.ok, "accounts": {"hub": org.hub_account, "members": list(org.members)},
                "events": [e.to_json() for e in self.events], "emails": [m.to_dict() for m in self.emails],
                "reconcile": self.reconcile,
                "iam": {**self.iam.to_dict(), "needed": {n.action: n.refused.operation if n.refused else None
                                                         for n in self.needs}} if self.iam else None}


def refused_orgguard(report: IamReport) -> list[str]:
    """Every call of OrgGuard's own roles that IAM refused: in the demo, none may be (the templates grant them)."""
    own = (HUB_HANDLER_ROLE_NAME, REMEDIATION_ROLE_NAME, FORWARDER_ROLE_NAME)
    return [f"IAM refused OrgGuard's {d.operation}: {d.message}" for d in report.denials
            if any(f"/{role}/" in d.principal for role in own)]


def unneeded(needs: list[Need]) -> list[str]:
    """Actions the remediation role holds that the demo never needed: the demo shows least privilege or fails."""
    return [f"{REMEDIATION_ROLE_NAME} grants {n.action} but no call of the demo needed it" for n in needs
            if not n.needed]


def changed_text(item: dict[str, Any] | None, emailed: bool) -> str:
    actions = json.loads(item.get("actions", "[]")) if item and isinstance(item.get("actions"), str) else []
    counts = Counter(str(a.get("action", "?")) for a in actions)
    text = ", ".join(f"{name} x{n}" if n > 1 else name for name, n in counts.items()) or "nothing"
    return text + (" + e-mail" if emailed else "")


def email_about(emails: list[Email], resource: str) -> Email | None:
    first = resource.split(",")[0].strip()
    return next((e for e in emails if first and (first in e.subject or first in e.body)), None)
