"""The scheduled reconcile: the safety net for missed events, fanned out one account-region per Lambda.

- ``start_handler`` (EventBridge schedule) lists the governed accounts in AWS Organizations and queues one
  SQS message per account and region (SendMessageBatch, 10 a call), so the work scales with the
  organization instead of one Lambda's 15 minutes. Organizations answers only the management account or
  a delegated administrator: on AWS the hub account must be registered as a delegated administrator.
- ``worker_handler`` (SQS, batch size 1) sweeps its account-region with the same code as
  ``orgguard sweep --fix`` (``handlers.batch.sweep``: fixes as each policy's mode says), records every finding in
  the audit table and sends one summary e-mail when something was fixed, reported or failed.
- A worker that cannot finish its account-region within the function's time (the context's remaining
  time) stops between pages, records and mails what it did, and queues a continuation message (the
  same run, account and region, ``resume`` = the policy and the last resource done, ``part`` + 1), so every
  resource is swept once across the parts.

A start that fails half way is retried by EventBridge with the same event id, hence the same run id: the
messages it sends again only make workers find their resources compliant and overwrite the same items.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from handlers import outcome as oc
from handlers.admin_groups import AdminGroupFinder
from handlers.audit import AuditLog
from handlers.batch.records import TargetResult, audit_records, write_audit
from handlers.batch.scope import Cursor
from handlers.batch.summary import render_summary, summary_attributes, summary_context, worth_a_summary
from handlers.batch.sweep import sweep_target
from handlers.events import content_key
from handlers.exemptions import account_exempt
from handlers.notices import not_onboarded_key
from handlers.notify import Notifier
from handlers.organization import Account, governed_accounts
from handlers.registry import sweepable_ids
from handlers.runtime import Runtime
from handlers.sessions import MemberSessions
from handlers.settings import Settings

log = logging.getLogger("orgguard")

MESSAGE_KIND = "orgguard.reconcile"
SOURCE = "scheduled reconcile"
ACTOR = "OrgGuard scheduled reconcile"
SEND_BATCH = 10  # SendMessageBatch's maximum
SEND_ATTEMPTS = 5
SESSION_NAME = "orgguard-reconcile"
PAGE_SIZE = 200  # resources a worker checks between two looks at its remaining time
# A worker stops when less than this, plus twice its longest page, is left of its time: enough to write the
# audit items, mail the summary and queue the continuation.
STOP_MARGIN_SECONDS = 60
MAX_PARTS = 10_000
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_RUN_RE = re.compile(r"^[A-Za-z0-9:._-]{1,100}$")


class RetryLater(Exception):
    """A transient failure outlived botocore's retries: SQS delivers the message again (then its DLQ)."""


class BadMessage(ValueError):
    """A queue message the worker cannot act on; it is recorded and dropped, never retried."""


def active_policies(settings: Settings) -> list[str]:
    return [p for p in sweepable_ids() if settings.policies.mode(p) != "off"]


def run_id(event: Any, now: float) -> str:
    """Stable for one scheduled event (its id), readable (its time), sortable."""
    stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    event_id = str(event.get("id", "")) if isinstance(event, dict) else ""
    suffix = re.sub(r"[^A-Za-z0-9]", "", event_id)[:8] or content_key(event)[7:15]
    when = event.get("time") if isinstance(event, dict) else None
    if isinstance(when, str) and re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", when):
        stamp = when[:19].replace("-", "").replace(":", "") + "Z"
    return f"reconcile-{stamp}-{suffix}"


# --- start ---------------------------------------------------------------------------------------------


def plan_messages(accounts: list[Account], regions: tuple[str, ...], run: str,
                  policies: list[str]) -> list[dict[str, Any]]:
    return [{"kind": MESSAGE_KIND, "run": run, "account": a.id, "name": a.name, "region": region,
             "policies": policies} for a in accounts for region in regions]


def continuation_message(message: dict[str, Any], cursor: dict[str, str]) -> dict[str, Any]:
    """The next part of an account-region's sweep: the same work, resumed at ``cursor``."""
    return {"kind": MESSAGE_KIND, "run": message["run"], "account": message["account"], "name": message["name"],
            "region": message["region"], "policies": message["policies"], "resume": dict(cursor),
            "part": message["part"] + 1}


def queue_messages(sqs: Any, queue_url: str, messages: list[dict[str, Any]],
                   sleep: Callable[[float], None] = time.sleep) -> int:
    """SendMessageBatch, 10 a call; entries SQS reports as failed are sent again with backoff."""
    for start in range(0, len(messages), SEND_BATCH):
        entries = [{"Id": str(i), "MessageBody": json.dumps(m, sort_keys=True)}
                   for i, m in enumerate(messages[start:start + SEND_BATCH])]
        for attempt in range(SEND_ATTEMPTS):
            failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed") or []
            if not failed:
                break
            refused = [f for f in failed if f.get("SenderFault")]
            if refused:
                raise RuntimeError(f"SQS refused reconcile messages: {refused[0].get('Code')}: "
                                   f"{refused[0].get('Message', '')}")
            again = {f["Id"] for f in failed}
            entries = [e for e in entries if e["Id"] in again]
            sleep(min(0.2 * 2 ** attempt, 5.0))
        else:
            raise RuntimeError(f"SQS did not accept {len(entries)} reconcile message(s) "
                               f"after {SEND_ATTEMPTS} tries")
    return len(messages)


def start(event: Any, settings: Settings, org: Any, sqs: Any, queue_url: str,
          clock: Callable[[], float] = time.time) -> dict[str, Any]:
    run = run_id(event, clock())
    policies = active_policies(settings)
    accounts = [a for a in governed_accounts(org, settings) if not account_exempt(a.id, settings.exemptions)]
    messages = plan_messages(accounts, settings.organization.regions, run, policies) if policies else []
    queued = queue_messages(sqs, queue_url, messages)
    log.info("reconcile %s: %d account(s) x %d region(s) queued", run, len(accounts),
             len(settings.organization.regions), extra={"run": run, "queued": queued})
    return {"run": run, "accounts": len(accounts), "regions": list(settings.organization.regions),
            "policies": policies, "queued": queued}


# --- worker --------------------------------------------------------------------------------------------


@dataclass
class WorkerRuntime:
    settings: Settings
    members: MemberSessions
    anchor_region: str
    dynamodb: Any
    table: str
    notifier: Notifier | None
    clock: Callable[[], float] = time.time
    sqs: Any = None  # with queue_url: where a continuation goes
    queue_url: str = ""
    page_size: int = PAGE_SIZE
    _audit: AuditLog | None = field(default=None, repr=False)
    admin_groups: AdminGroupFinder = field(default_factory=AdminGroupFinder)

    @classmethod
    def from_runtime(cls, rt: Runtime, sqs: Any = None, queue_url: str = "",
                     page_size: int = PAGE_SIZE) -> WorkerRuntime:
        """The worker's view of a runtime from ``build_runtime``, with where continuations go."""
        return cls(rt.settings, rt.members, rt.region, rt.dynamodb,
                   rt.audit.table_name if rt.audit is not None else rt.settings.hub.table_name, rt.notifier,
                   rt.clock, sqs=sqs, queue_url=queue_url, page_size=page_size, _audit=rt.audit,
                   admin_groups=rt.admin_groups)

    @property
    def audit(self) -> AuditLog:
        if self._audit is None:
            retention = self.settings.hub.audit_retention_days
            self._audit = AuditLog(self.dynamodb, self.table, retention, self.clock)
        return self._audit


def parse_message(body: Any) -> dict[str, Any]:
    try:
        message = json.loads(body) if isinstance(body, str) else body
    except json.JSONDecodeError as error:
        raise BadMessage(f"not JSON: {error}") from error
    if not isinstance(message, dict) or message.get("kind") != MESSAGE_KIND:
        raise BadMessage(f"not a {MESSAGE_KIND} message")
    account, region, run = (str(message.get(k, "")) for k in ("account", "region", "run"))
    if not _ACCOUNT_RE.match(account) or not _REGION_RE.match(region) or not _RUN_RE.match(run):
        raise BadMessage("account, region or run is missing or malformed")
    policies = message.get("policies")
    if not isinstance(policies, list) or not policies or any(p not in sweepable_ids() for p in policies):
        raise BadMessage(f"policies must be a non-empty list of {', '.join(sweepable_ids())}")
    part = message.get("part", 1)
    if isinstance(part, bool) or not isinstance(part, int) or not 1 <= part <= MAX_PARTS:
        raise BadMessage(f"part must be an integer from 1 to {MAX_PARTS}")
    resume = message.get("resume")
    cursor = None
    if resume is not None:
        if (not isinstance(resume, dict) or resume.get("policy") not in policies
                or not isinstance(resume.get("after", ""), str) or len(resume.get("after", "")) > 1024):
            raise BadMessage("resume must be {policy: one of the message's policies, after: a resource id}")
        cursor = {"policy": str(resume["policy"]), "after": str(resume.get("after", ""))}
    return {"account": account, "region": region, "run": run, "name": str(message.get("name", ""))[:128],
            "policies": [str(p) for p in policies], "resume": cursor, "part": part}


def _notify(rt: WorkerRuntime, account: Account, result: TargetResult, run: str, policies: list[str],
            part: int = 1) -> bool:
    if rt.notifier is None or not worth_a_summary([result]):
        return False
    only_unreachable = oc.kind_of(result.status) is oc.OutcomeKind.NOT_ONBOARDED
    if only_unreachable:
        day = dt.datetime.fromtimestamp(rt.clock(), dt.UTC).date().isoformat()
        # The same daily key as the event handlers: one not-onboarded notice per account per day, in all.
        key = not_onboarded_key(account.id, day)
        if not rt.audit.once(key, {"account": account.id, "policy": "*"}):
            return False
    marker = f"notice#sweep#{run}#{account.id}#{result.region}" + (f"#part-{part}" if part > 1 else "")
    fixed = any(oc.kind_of(f.outcome) is oc.OutcomeKind.REMEDIATED for f in result.findings)
    if not fixed and rt.audit.get(marker) is not None:
        return False  # a redelivery: what it reports went out already; a fix is always told
    when = dt.datetime.fromtimestamp(rt.clock(), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    context = summary_context(rt.settings, account, [result], run, SOURCE, when, policies)
    subject, body = render_summary(rt.notifier.renderer, context)
    rt.notifier.publish(subject, body, summary_attributes(account.id, [result]))
    rt.audit.once(marker, {"account": account.id, "region": result.region, "kind": "sweep-summary"})
    return True


def work(body: Any, rt: WorkerRuntime, remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    """Sweep one queued account-region (or the part a message names). Raises ``RetryLater`` for transient
    failures (after recording). With ``remaining_ms`` (the Lambda context's) and a queue, it stops in time and
    queues the rest."""
    try:
        message = parse_message(body)
    except BadMessage as error:
        key = f"rejected#{content_key(body)}"
        log.warning("reconcile: dropped a message: %s", error)
        rt.audit.once(key, {"policy": "*", "outcome": oc.rejected("bad-message"), "summary": str(error)[:500],
                            "source": "reconcile", "payload": str(body)[:2000]}, ttl_seconds=30 * 86400)
        return {"outcome": oc.rejected("bad-message"), "reason": str(error)}
    account = Account(message["account"], message["name"])
    # Per message: a refusal to assume the role is not remembered beyond this account-region.
    clients = rt.members.across_regions(rt.anchor_region)
    should_stop = None
    if remaining_ms is not None and rt.sqs is not None and rt.queue_url:
        def should_stop(longest_page: float) -> bool:
            return remaining_ms() / 1000 < STOP_MARGIN_SECONDS + 2 * longest_page
    resume = Cursor(**message["resume"]) if message["resume"] else None
    result = sweep_target(clients, rt.settings, account.id, message["region"], message["policies"], fix=True,
                          today=dt.datetime.fromtimestamp(rt.clock(), dt.UTC).date(), page_size=rt.page_size,
                          should_stop=should_stop, resume=resume, admin_groups=rt.admin_groups)
    records = audit_records(result, message["run"], "reconcile", ACTOR)
    written = write_audit(rt.dynamodb, rt.table, records, rt.settings.hub.audit_retention_days, rt.clock)
    notified = _notify(rt, account, result, message["run"], message["policies"], message["part"])
    summary = {"run": message["run"], "account": account.id, "region": result.region, "status": result.status,
               "part": message["part"], "resumed_at": message["resume"], "continued_at": result.continuation,
               "counts": result.counts(), "audited": written, "notified": notified, "notes": result.notes,
               "seconds": result.seconds}
    log.info("reconciled %s %s part %d: %s", account.id, result.region, message["part"], result.status,
             extra={"run": message["run"], "account": account.id, "region": result.region,
                    "outcome": result.status, "counts": result.counts(), "continued_at": result.continuation})
    if result.retryable:
        # The redelivered message sweeps this part again from its own start (idempotent), continuation included.
        raise RetryLater(f"{account.id} {result.region}: {result.error}")
    if result.continuation is not None:
        queue_messages(rt.sqs, rt.queue_url, [continuation_message(message, result.continuation)])
    return summary
