"""Sweep one account and region: every existing resource through the guardrails' own decision code.

Shared by ``deploy.py sweep`` (many account-regions from a thread pool) and the scheduled reconcile (one
account-region per worker Lambda). Decisions are never re-implemented here: buckets go through
``s3_encryption.check_bucket`` and instances through ``ec2_compliance.check_instances``; this module only
lists what exists and feeds the checks what the listing already knows, so the calls stay at the minimum:

- one ``AssumeRole`` per account (``OrgGuardRemediation`` is account-global; its credentials serve every
  region), made in the hub region;
- s3-encryption, per account-region: ``ListBuckets`` with ``BucketRegion`` (paged by 10,000), one paged
  ``tag:GetResources`` for the tags of every tagged bucket (exemptions and the CloudFormation drift hint;
  up to 100 buckets a page), then per bucket one ``GetBucketEncryption`` and, only when it must be fixed,
  one ``PutBucketEncryption``. Without ``tag:GetResources`` (a spoke from before the permission) the check
  falls back to ``GetBucketTagging`` for each non-compliant bucket, and the sweep says so;
- ec2-compliance, per account-region: ``DescribeInstances`` (live states, paged by 1,000), one
  ``DescribeSecurityGroups`` per VPC, one ``CreateTags`` per distinct set of missing tags per chunk of
  instances, one ``ModifyInstanceAttribute`` per instance lacking the admin group.

The tagging API is eventually consistent: a tag added in the minutes before a sweep may not be seen yet.

A caller with a deadline (the reconcile worker, inside the Lambda timeout) passes ``page_size`` and
``should_stop``: resources are checked in pages, in a stable order (names, instance ids), and before each page
after the first ``should_stop`` may end the sweep; the result's ``continuation`` (policy and last resource
done) is where another call resumes, so every resource is swept once across the calls.

The second half of the module records a sweep: audit items in the hub table (batched) and one summary
e-mail per account (``templates/sweep-summary.txt.j2``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.admin_groups import AdminGroupFinder
from handlers.audit import RecordState, attribute_value, iso
from handlers.context import PolicyContext
from handlers.contract import TABLE_PARTITION_KEY, TABLE_TTL_ATTRIBUTE
from handlers.errors import NotYetVisible, error_code, is_transient
from handlers.exemptions import account_exempt, tags_to_dict
from handlers.modes import report_only
from handlers.notify import Renderer, message_attributes
from handlers.outcome import Result
from handlers.policies.ec2_compliance import check_instances, parse_instance
from handlers.policies.s3_encryption import check_bucket
from handlers.registry import POLICIES_BY_ID
from handlers.sessions import ACCESS_DENIED_CODES, MemberSessions, NotOnboarded
from handlers.settings import Settings

log = logging.getLogger("orgguard")

S3_ENCRYPTION, EC2_COMPLIANCE = "s3-encryption", "ec2-compliance"
SWEEPABLE = (S3_ENCRYPTION, EC2_COMPLIANCE)  # vpc-created is about the creation event, not existing VPCs

# Targets: one account and region.
DONE = "done"

SWEEP_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=5, read_timeout=30,
                      max_pool_connections=32)
LIVE_INSTANCE_STATES = ("pending", "running", "stopping", "stopped")
INSTANCE_CHUNK = 500  # CreateTags takes at most 1,000 resource ids
LIST_BUCKETS_PAGE = 10_000  # a paged ListBuckets (the only kind AWS serves past 10,000 buckets)
TAGGING_PAGE = 100  # GetResources' maximum
DEFAULT_BUCKET_WORKERS = 4  # bucket checks in flight per account-region (latency-bound on AWS)
SUMMARY_LISTED = 200  # resources listed in a summary e-mail; the rest are counted

OUTCOME_GROUPS = ("compliant", "remediated", "reported", "exempt", "gone", "failed")


def outcome_group(outcome: str) -> str:
    return "failed" if oc.is_failure(outcome) else outcome


@dataclass
class Finding:
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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Finding:
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})


@dataclass
class TargetResult:
    """One account-region: ``done``, ``exempt``, ``not-onboarded`` or ``failed:<code>``."""

    account: str
    region: str
    status: str = DONE
    findings: list[Finding] = field(default_factory=list)
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
        values["findings"] = [Finding.from_dict(f) for f in raw.get("findings", [])]
        return cls(**values)


# --- the organization ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: str
    name: str


def _active(raw: dict[str, Any]) -> bool:
    return str(raw.get("State") or raw.get("Status") or "") == "ACTIVE"


def _units_under(org: Any, roots: Iterable[str]) -> list[str]:
    found: list[str] = []
    pending = list(roots)
    while pending:
        parent = pending.pop()
        if parent in found:
            continue
        found.append(parent)
        pages = org.get_paginator("list_children").paginate(ParentId=parent, ChildType="ORGANIZATIONAL_UNIT")
        for page in pages:
            pending.extend(child["Id"] for child in page.get("Children", []))
    return found


def governed_accounts(org: Any, settings: Settings) -> list[Account]:
    """ACTIVE accounts under the target OUs (all the organization's when none is set), the management
    account only when it is covered; exempt accounts stay in (the sweep reports them as exempt)."""
    organization = settings.organization
    raw_accounts: list[dict[str, Any]] = []
    if organization.target_ous:
        for unit in _units_under(org, organization.target_ous):
            for page in org.get_paginator("list_accounts_for_parent").paginate(ParentId=unit):
                raw_accounts.extend(page.get("Accounts", []))
    else:
        for page in org.get_paginator("list_accounts").paginate():
            raw_accounts.extend(page.get("Accounts", []))
    accounts = {a["Id"]: Account(a["Id"], a.get("Name", "")) for a in raw_accounts if _active(a)}
    management = organization.management_account
    if organization.include_management_account and management not in accounts:
        accounts[management] = Account(management, organization.account_names.get(management, ""))
    if not organization.include_management_account:
        accounts.pop(management, None)
    return sorted(accounts.values(), key=lambda a: a.id)


# --- member clients -----------------------------------------------------------------------------------


class AccountClients:
    """Clients in member accounts through one role assumption per account, reused in every region.

    ``OrgGuardRemediation`` is an IAM role (global), and credentials from any STS endpoint are valid in
    every region, so the role is assumed once per account, in ``anchor_region`` (the hub's region, which the
    caller's account certainly has enabled). A refusal is remembered for the account: the other regions
    report it without asking STS again. Thread-safe.
    """

    def __init__(self, members: MemberSessions, anchor_region: str, config: Config = SWEEP_CONFIG,
                 admin_groups: AdminGroupFinder | None = None) -> None:
        self._members = members
        self.admin_groups = admin_groups or AdminGroupFinder()  # VPC admin groups, shared by every target
        self._anchor = anchor_region
        self._config = config
        self._clients: dict[tuple[str, str, str], tuple[boto3.Session, Any]] = {}
        self._refused: dict[str, str] = {}
        self._lock = threading.Lock()

    def client(self, account: str, region: str, service: str) -> Any:
        with self._lock:
            refused = self._refused.get(account)
        if refused is not None:
            raise NotOnboarded(account, region, refused)
        try:
            session = self._members.session(account, self._anchor)
        except NotOnboarded as error:
            with self._lock:
                self._refused[account] = error.reason
            raise NotOnboarded(account, region, error.reason) from error
        key = (account, region, service)
        with self._lock:
            cached = self._clients.get(key)
            if cached is None or cached[0] is not session:  # new credentials after a refresh: new client
                cached = (session, session.client(service, region_name=region, config=self._config))
                self._clients[key] = cached
            return cached[1]


# --- one account-region --------------------------------------------------------------------------------


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


def list_bucket_names(s3: Any, region: str) -> list[str]:
    names: list[str] = []
    pages = s3.get_paginator("list_buckets").paginate(BucketRegion=region,
                                                      PaginationConfig={"PageSize": LIST_BUCKETS_PAGE})
    for page in pages:
        names.extend(b["Name"] for b in page.get("Buckets", []) if b.get("BucketRegion", region) == region)
    return sorted(set(names))


def bucket_tags(tagging: Any) -> dict[str, dict[str, str]] | None:
    """Tags of every tagged bucket the tagging API knows in this region; None when it may not be asked."""
    found: dict[str, dict[str, str]] = {}
    try:
        pages = tagging.get_paginator("get_resources").paginate(ResourceTypeFilters=["s3:bucket"],
                                                                ResourcesPerPage=TAGGING_PAGE)
        for page in pages:
            for mapping in page.get("ResourceTagMappingList", []):
                name = str(mapping.get("ResourceARN", "")).rpartition(":")[2]
                if name:
                    found[name] = tags_to_dict(mapping.get("Tags"))
    except ClientError as error:
        if error_code(error) in ACCESS_DENIED_CODES:
            return None
        raise
    return found


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


def sweep_target(clients: AccountClients, settings: Settings, account: str, region: str,
                 policies: Iterable[str] = SWEEPABLE, *, fix: bool, today: dt.date | None = None,
                 bucket_workers: int = DEFAULT_BUCKET_WORKERS, page_size: int = 0,
                 should_stop: Callable[[float], bool] | None = None,
                 resume: Cursor | None = None) -> TargetResult:
    """Evaluate every resource of ``policies`` in one account-region; with ``fix``, remediate as each policy's
    mode says (``report`` never writes). Never raises for AWS errors: they end in the result. With
    ``should_stop``, it may stop between pages: ``continuation`` then says where to resume."""
    started = time.monotonic()
    result = TargetResult(account, region)
    if account_exempt(account, settings.exemptions):
        result.status = oc.EXEMPT
        result.notes.append("the account is exempt (exemptions.accounts)")
        return result
    effective = settings if fix else report_only(settings)
    today = today or dt.datetime.now(dt.UTC).date()
    scope = _Scope(clients, effective, account, region, today, bucket_workers, page_size=page_size,
                   should_stop=should_stop, resume=resume)
    policies = list(policies)
    if resume is not None and resume.policy not in policies:
        raise ValueError(f"cannot resume at policy {resume.policy!r}: not among {', '.join(policies)}")
    for policy_id in policies[policies.index(resume.policy) if resume is not None else 0:]:
        if policy_id not in SWEEPERS:
            raise ValueError(f"policy {policy_id!r} cannot be swept (sweepable: {', '.join(SWEEPABLE)})")
        if effective.policies.mode(policy_id) == "off":
            result.notes.append(f"{policy_id} is off")
            continue
        if not scope.may_continue(Cursor(policy_id, scope.resume.after if scope.resume is not None
                                         and scope.resume.policy == policy_id else "")):
            break
        try:
            result.findings.extend(SWEEPERS[policy_id](scope))
        except NotOnboarded as error:
            result.status, result.error = oc.NOT_ONBOARDED, error.reason
            break
        except Exception as error:
            code = error_code(error)
            log.warning("sweep %s %s %s failed: %s", account, region, policy_id, error)
            result.status = oc.failed(code)
            result.error = f"{policy_id}: {code}: {str(error)[:300]}"
            result.retryable = result.retryable or is_transient(error)
        if scope.stopped is not None:
            break
    if scope.stopped is not None:
        result.continuation = scope.stopped.to_dict()
    result.notes.extend(scope.notes)
    result.seconds = round(time.monotonic() - started, 3)
    return result


# --- records: audit items and the summary e-mail -------------------------------------------------------

AUDIT_BATCH = 25  # BatchWriteItem's maximum
AUDIT_ATTEMPTS = 8
AUDITED = (oc.REMEDIATED, oc.REPORTED, oc.EXEMPT)


def audited(finding: Finding) -> bool:
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
        spec = POLICIES_BY_ID[finding.policy]
        key = f"sweep#{run}#{finding.account}#{finding.region}#{finding.policy}#{finding.resource}"
        records.append((key, {
            **base, "policy": finding.policy, "resource": finding.resource, "outcome": finding.outcome,
            "summary": finding.summary[:1000], "before": finding.before, "after": finding.after,
            "actions": finding.actions, "stack_name": finding.stack_name,
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
    listed: list[Finding] = []
    for result in results:
        for group, number in result.counts().items():
            counts[group] = counts.get(group, 0) + number
        listed.extend(f for f in result.findings if outcome_group(f.outcome) in _LISTING_ORDER)
    listed.sort(key=lambda f: (_LISTING_ORDER[outcome_group(f.outcome)], f.region, f.policy, f.resource))
    return {
        "subject_prefix": settings.notifications.subject_prefix,
        "account": {"id": account.id, "name": settings.account_name(account.id) or account.name},
        "regions": sorted({r.region for r in results}),
        "run": run,
        "source": source,
        "time": when,
        "policies": [{"id": p, "title": POLICIES_BY_ID[p].title, "mode": settings.policies.mode(p)}
                     for p in policies],
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
    severities = [oc.severity(f.outcome, POLICIES_BY_ID[f.policy].severity)
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
