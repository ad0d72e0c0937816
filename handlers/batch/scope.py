"""Sweeping one guardrail in one account-region, and the scope the guardrails share (clients, paging, the
deadline and where to resume). Nothing here knows a guardrail: each lists its resources
(``Guardrail.list_resources``) and checks them through ``handlers.guardrails.check``, the code the event
path runs, so a resource gets the same finding whichever path found it."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from handlers import outcome as oc
from handlers.admin_groups import AdminGroupFinder
from handlers.batch.records import SweepFinding
from handlers.context import PolicyContext
from handlers.errors import NotYetVisible, error_code
from handlers.guardrails.base import Finding, Guardrail, SweepScope
from handlers.guardrails.check import check
from handlers.registry import guardrail
from handlers.sessions import MemberSessions, NotOnboarded
from handlers.settings import Settings

log = logging.getLogger("orgguard")



@dataclass(frozen=True)
class Cursor:
    """Where a sweep of an account-region resumes: after resource ``after`` of ``policy`` ("" = its start)."""

    policy: str
    after: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"policy": self.policy, "after": self.after}


@dataclass
class _Scope:
    clients: MemberSessions  # across regions: one role assumption per account
    settings: Settings
    account: str
    region: str
    today: dt.date
    bucket_workers: int
    notes: list[str] = field(default_factory=list)
    page_size: int = 0  # resources per page; 0: one page
    should_stop: Callable[[float], bool] | None = None  # given the longest page so far (seconds)
    resume: Cursor | None = None
    pages: int = 0
    longest_page: float = 0.0
    stopped: Cursor | None = None
    admin_groups: AdminGroupFinder = field(default_factory=AdminGroupFinder)  # shared by the targets of a run

    def remaining(self, policy_id: str, resources: list[str]) -> list[str]:
        """Sorted resources still to sweep in this call (after the cursor when resuming this policy)."""
        ordered = sorted(resources)
        if self.resume is not None and self.resume.policy == policy_id and self.resume.after:
            return [r for r in ordered if r > self.resume.after]
        return ordered

    def pages_of(self, policy_id: str, resources: list[str], largest: int) -> Iterator[list[str]]:
        """The resources in pages; stops (recording where) when the caller's deadline says so."""
        size = min(self.page_size or largest, largest)
        last = self.resume.after if self.resume is not None and self.resume.policy == policy_id else ""
        for page in _chunks(resources, size):
            if not self.may_continue(Cursor(policy_id, last)):
                return
            started = time.monotonic()
            yield page
            self.pages += 1
            self.longest_page = max(self.longest_page, time.monotonic() - started)
            last = page[-1]

    def may_continue(self, here: Cursor) -> bool:
        """At least one page per call (progress); after that, the deadline decides."""
        if self.stopped is not None:
            return False
        if self.pages > 0 and self.should_stop is not None and self.should_stop(self.longest_page):
            self.stopped = here
            return False
        return True

    def client(self, service: str) -> Any:
        return self.clients.client(self.account, self.region, service)

    def context(self, policy_id: str) -> PolicyContext:
        return PolicyContext(settings=self.settings, policy_id=policy_id, account=self.account,
                             region=self.region, client_factory=self.client, today=self.today,
                             admin_groups=self.admin_groups)

    def finding(self, policy_id: str, found: Finding) -> SweepFinding:
        return SweepFinding(self.account, self.region, policy_id, found.resource, found.outcome, found.summary,
                            found.before, found.after, [a.to_dict() for a in found.done], found.stack_name,
                            found.iac)

    def failure(self, policy_id: str, resource: str, error: Exception) -> SweepFinding:
        code = error_code(error)
        log.warning("sweep %s %s %s %s: %s", self.account, self.region, policy_id, resource, error)
        return SweepFinding(self.account, self.region, policy_id, resource, oc.failed(code),
                            f"OrgGuard could not finish: {code}: {str(error)[:300]}")

    def later(self, policy_id: str, resources: list[str], error: NotYetVisible) -> list[SweepFinding]:
        return [SweepFinding(self.account, self.region, policy_id, resource, oc.skipped("launching"),
                             f"not checked now: {error}; the next sweep checks it (its creating event is handled "
                             "meanwhile)") for resource in resources]


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _check_batch(scope: _Scope, entry: Guardrail, batch: list[str], known: dict[str, Any]) -> list[SweepFinding]:
    """One check call; an error ends in findings for these resources (not onboarded ends the whole target)."""
    ctx = scope.context(entry.id)
    try:
        found = check(entry, ctx, batch, known={r: known[r] for r in batch})
    except NotOnboarded:
        raise
    except NotYetVisible as error:
        return scope.later(entry.id, batch, error)
    except Exception as error:
        return [scope.failure(entry.id, resource, error) for resource in batch]
    return [scope.finding(entry.id, f) for f in found]


def sweep_guardrail(scope: _Scope, guardrail_id: str) -> list[SweepFinding]:
    """Every resource the guardrail lists, in pages, in a stable order; one by one side by side when the
    guardrail checks one resource per call, in batches otherwise."""
    entry = guardrail(guardrail_id)
    known = entry.list_resources(SweepScope(scope.account, scope.region, scope.client, scope.notes))
    resources = scope.remaining(entry.id, list(known))
    if not resources:
        return []
    findings: list[SweepFinding] = []
    if entry.batch_size > 1:
        for page in scope.pages_of(entry.id, resources, entry.batch_size):
            findings.extend(_check_batch(scope, entry, page, known))
        return findings
    workers = max(1, min(scope.bucket_workers, len(resources)))
    if workers == 1:
        for page in scope.pages_of(entry.id, resources, len(resources)):
            for resource in page:
                findings.extend(_check_batch(scope, entry, [resource], known))
        return findings
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="orgguard-sweep") as pool:
        for page in scope.pages_of(entry.id, resources, len(resources)):
            for batch in pool.map(lambda resource: _check_batch(scope, entry, [resource], known), page):
                findings.extend(batch)
    return findings
