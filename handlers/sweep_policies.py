"""The per-policy sweepers of one account-region and the scope they share (clients, paging, the deadline and
where to resume). Decisions are the guardrails' own: ``check_bucket`` and ``check_instances``."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from handlers import outcome as oc
from handlers.audit import iso
from handlers.context import PolicyContext
from handlers.errors import NotYetVisible, error_code
from handlers.outcome import Result
from handlers.policies.ec2_compliance import check_instances, parse_instance
from handlers.policies.s3_encryption import check_bucket
from handlers.sessions import AccountClients, NotOnboarded
from handlers.settings import Settings
from handlers.sweep_listing import bucket_tags, list_bucket_names
from handlers.sweep_records import Finding

log = logging.getLogger("orgguard")

S3_ENCRYPTION, EC2_COMPLIANCE = "s3-encryption", "ec2-compliance"
SWEEPABLE = (S3_ENCRYPTION, EC2_COMPLIANCE)  # vpc-created is about the creation event, not existing VPCs

LIVE_INSTANCE_STATES = ("pending", "running", "stopping", "stopped")
INSTANCE_CHUNK = 500  # CreateTags takes at most 1,000 resource ids


@dataclass(frozen=True)
class Cursor:
    """Where a sweep of an account-region resumes: after resource ``after`` of ``policy`` ("" = its start)."""

    policy: str
    after: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"policy": self.policy, "after": self.after}


@dataclass
class _Scope:
    clients: AccountClients
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
                             admin_groups=self.clients.admin_groups)

    def finding(self, policy_id: str, result: Result, actions: list[dict[str, Any]]) -> Finding:
        return Finding(self.account, self.region, policy_id, result.resource, result.outcome, result.summary,
                       result.before, result.after, actions, result.stack_name)

    def failure(self, policy_id: str, resource: str, error: Exception) -> Finding:
        code = error_code(error)
        log.warning("sweep %s %s %s %s: %s", self.account, self.region, policy_id, resource, error)
        return Finding(self.account, self.region, policy_id, resource, oc.failed(code),
                       f"OrgGuard could not finish: {code}: {str(error)[:300]}")


def _sweep_buckets(scope: _Scope) -> list[Finding]:
    names = scope.remaining(S3_ENCRYPTION, list_bucket_names(scope.client("s3"), scope.region))
    if not names:
        return []
    known_tags = bucket_tags(scope.client("resourcegroupstaggingapi"))
    if known_tags is None:
        scope.notes.append("tag:GetResources is not allowed to OrgGuardRemediation (a spoke older than the "
                           "sweep): tags were read per non-compliant bucket instead")

    def check(bucket: str) -> Finding:
        ctx = scope.context(S3_ENCRYPTION)
        try:
            tags = None if known_tags is None else known_tags.get(bucket, {})
            # listed by BucketRegion: the bucket is in this region, so a {region} key needs no HeadBucket
            result = check_bucket(ctx, bucket, tags=tags, bucket_region=scope.region)
        except NotOnboarded:
            raise
        except Exception as error:
            return scope.failure(S3_ENCRYPTION, bucket, error)
        return scope.finding(S3_ENCRYPTION, result, [a.to_dict() for a in ctx.performed])

    workers = max(1, min(scope.bucket_workers, len(names)))
    findings: list[Finding] = []
    if workers == 1:
        for page in scope.pages_of(S3_ENCRYPTION, names, len(names)):
            findings.extend(check(name) for name in page)
        return findings
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="orgguard-bucket") as pool:
        for page in scope.pages_of(S3_ENCRYPTION, names, len(names)):
            findings.extend(pool.map(check, page))
    return findings


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _instance_lines(summary: str) -> dict[str, str]:
    """check_instances' summary has one ``<id>: <what>`` line per instance."""
    lines = {}
    for line in summary.splitlines():
        instance_id, _, text = line.partition(": ")
        lines[instance_id] = text
    return lines


def _touches(action: dict[str, Any], instance_id: str, interfaces: set[str]) -> bool:
    params = action.get("params", {})
    return (instance_id in params.get("Resources", []) or params.get("InstanceId") == instance_id
            or params.get("NetworkInterfaceId") in interfaces)


def _sweep_instances(scope: _Scope) -> list[Finding]:
    ec2 = scope.client("ec2")
    instances = {}
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": list(LIVE_INSTANCE_STATES)}],
        PaginationConfig={"PageSize": 1000})
    launched: dict[str, str] = {}
    for page in pages:
        for reservation in page.get("Reservations", []):
            for raw in reservation.get("Instances", []):
                instance = parse_instance(raw)
                instances[instance.instance_id] = instance
                if isinstance(raw.get("LaunchTime"), dt.datetime):
                    launched[instance.instance_id] = iso(raw["LaunchTime"].timestamp())
    findings: list[Finding] = []
    for chunk in scope.pages_of(EC2_COMPLIANCE, scope.remaining(EC2_COMPLIANCE, list(instances)), INSTANCE_CHUNK):
        ctx = scope.context(EC2_COMPLIANCE)
        try:
            # The newest launch of the page: EC2 refusing a write to a just-launched instance is then its
            # eventual consistency (NotYetVisible), not an instance gone.
            result = check_instances(ctx, chunk, known={i: instances[i] for i in chunk},
                                     launched=max((launched.get(i, "") for i in chunk), default=""))
        except NotOnboarded:
            raise
        except NotYetVisible as error:
            findings.extend(Finding(scope.account, scope.region, EC2_COMPLIANCE, instance_id,
                                    oc.skipped("launching"), f"not checked now: {error}; the next sweep checks it "
                                    "(its RunInstances event is handled meanwhile)") for instance_id in chunk)
            continue
        except Exception as error:
            findings.extend(scope.failure(EC2_COMPLIANCE, instance_id, error) for instance_id in chunk)
            continue
        performed = [a.to_dict() for a in ctx.performed]
        lines = _instance_lines(result.summary)
        for plan in result.details.get("instances", []):
            instance_id = plan["instance_id"]
            status = oc.Outcome.parse(plan["status"])
            if status.kind is oc.OutcomeKind.REMEDIATED and not ctx.enforcing:
                status = oc.REPORTED
            interfaces = {i.eni_id for i in instances[instance_id].interfaces}
            actions = [a for a in performed if _touches(a, instance_id, interfaces)]
            findings.append(Finding(
                scope.account, scope.region, EC2_COMPLIANCE, instance_id, status,
                lines.get(instance_id, status), result.before.get(instance_id, {}),
                result.after.get(instance_id, {}), actions, plan.get("stack_name", "")))
    return findings


SWEEPERS: dict[str, Callable[[_Scope], list[Finding]]] = {
    S3_ENCRYPTION: _sweep_buckets,
    EC2_COMPLIANCE: _sweep_instances,
}
