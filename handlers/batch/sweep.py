"""Sweep one account and region: every existing resource through the guardrails' own decision code.

Shared by ``orgguard sweep`` (many account-regions from a thread pool) and the scheduled reconcile (one
account-region per worker Lambda). Decisions are never re-implemented here: each sweepable guardrail lists
what exists (``Guardrail.list_resources``) and its resources go through ``handlers.guardrails.check``, the
code the events run, fed what the listing already knows, so the calls stay at the minimum:

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

The module is split by concern: ``handlers.organization`` (the governed accounts, shared with the rollout),
``scope`` (one guardrail's sweep and the scope they share), ``records`` (findings, target results and audit
items) and ``summary`` (the summary e-mail); per-account clients are
``MemberSessions.across_regions`` (one role assumption per account). This module runs one account-region and
re-exports the names its callers use.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable

from handlers import outcome as oc
from handlers.admin_groups import AdminGroupFinder
from handlers.batch.records import (
    AUDIT_ATTEMPTS,
    AUDIT_BATCH,
    AUDITED,
    DONE,
    OUTCOME_GROUPS,
    AuditRecord,
    SweepFinding,
    TargetResult,
    audit_records,
    audited,
    outcome_group,
    write_audit,
)
from handlers.batch.scope import Cursor, _Scope, sweep_guardrail
from handlers.batch.summary import (
    SUMMARY_LISTED,
    render_summary,
    summary_attributes,
    summary_context,
    worth_a_summary,
)
from handlers.errors import error_code, is_transient
from handlers.exemptions import account_exempt
from handlers.modes import report_only
from handlers.organization import Account, governed_accounts
from handlers.registry import sweepable_ids
from handlers.sessions import SWEEP_CONFIG, MemberSessions, NotOnboarded
from handlers.settings import Settings

__all__ = [
    "AUDITED",
    "AUDIT_ATTEMPTS",
    "AUDIT_BATCH",
    "DEFAULT_BUCKET_WORKERS",
    "DONE",
    "OUTCOME_GROUPS",
    "SUMMARY_LISTED",
    "SWEEP_CONFIG",
    "Account",
    "AuditRecord",
    "Cursor",
    "SweepFinding",
    "TargetResult",
    "audit_records",
    "audited",
    "governed_accounts",
    "outcome_group",
    "render_summary",
    "report_only",
    "summary_attributes",
    "summary_context",
    "sweep_target",
    "sweepable_ids",
    "worth_a_summary",
    "write_audit",
]

log = logging.getLogger("orgguard")

DEFAULT_BUCKET_WORKERS = 4  # bucket checks in flight per account-region (latency-bound on AWS)


def sweep_target(clients: MemberSessions, settings: Settings, account: str, region: str,
                 policies: Iterable[str] | None = None, *, fix: bool, today: dt.date | None = None,
                 bucket_workers: int = DEFAULT_BUCKET_WORKERS, page_size: int = 0,
                 should_stop: Callable[[float], bool] | None = None,
                 resume: Cursor | None = None, admin_groups: AdminGroupFinder | None = None) -> TargetResult:
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
                   should_stop=should_stop, resume=resume, admin_groups=admin_groups or AdminGroupFinder())
    policies = list(sweepable_ids() if policies is None else policies)
    if resume is not None and resume.policy not in policies:
        raise ValueError(f"cannot resume at policy {resume.policy!r}: not among {', '.join(policies)}")
    for policy_id in policies[policies.index(resume.policy) if resume is not None else 0:]:
        if policy_id not in sweepable_ids():
            raise ValueError(f"policy {policy_id!r} cannot be swept (sweepable: {', '.join(sweepable_ids())})")
        if effective.policies.mode(policy_id) == "off":
            result.notes.append(f"{policy_id} is off")
            continue
        if not scope.may_continue(Cursor(policy_id, scope.resume.after if scope.resume is not None
                                         and scope.resume.policy == policy_id else "")):
            break
        try:
            result.findings.extend(sweep_guardrail(scope, policy_id))
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
