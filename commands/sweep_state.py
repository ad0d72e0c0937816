"""``orgguard sweep``'s running parts: the resumable state file, progress on stderr, the operator's runtime,
and the hub records (audit items and summary e-mails) of a ``--fix`` run."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from handlers import outcome as oc
from handlers.batch.records import DONE, TargetResult, audit_records, outcome_group, write_audit
from handlers.batch.summary import render_summary, summary_attributes, summary_context, worth_a_summary
from handlers.errors import RuntimeIncomplete, error_code
from handlers.notices import not_onboarded_key
from handlers.organization import Account
from handlers.runtime import Runtime, build_runtime
from handlers.sessions import SWEEP_CONFIG, partition_of
from handlers.settings import Settings
from stacksets.progress import eta

SESSION_NAME = "orgguard-sweep"
SOURCE = "sweep (orgguard sweep --fix)"
STATE_VERSION = 1


def target_key(account: str, region: str) -> str:
    return f"{account}/{region}"


@dataclass
class SweepState:
    """What a run has done so far, saved after every account-region (atomically) so a rerun can resume."""

    path: Path
    run: str
    started: str
    results: dict[str, TargetResult] = field(default_factory=dict)
    notified: set[str] = field(default_factory=set)  # target keys already in a summary e-mail
    resumed: bool = False

    @classmethod
    def open(cls, directory: Path, key: str, restart: bool) -> SweepState:
        path = directory / f"sweep-{key}.json"
        if path.exists() and not restart:
            try:
                raw = json.loads(path.read_text())
                if raw.get("version") == STATE_VERSION:
                    return cls(path, raw["run"], raw["started"],
                               {k: TargetResult.from_dict(v) for k, v in raw.get("results", {}).items()},
                               set(raw.get("notified", [])), resumed=True)
            except (OSError, ValueError, KeyError, TypeError) as error:
                print(f"note: ignoring the unreadable sweep state {path}: {error}", file=sys.stderr)
        now = dt.datetime.now(dt.UTC)
        run = f"sweep-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
        return cls(path, run, now.isoformat(timespec="seconds"))

    def finished(self, account: str, region: str) -> bool:
        result = self.results.get(target_key(account, region))
        return result is not None and result.finished

    def record(self, result: TargetResult) -> None:
        self.results[target_key(result.account, result.region)] = result
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        raw = {"version": STATE_VERSION, "run": self.run, "started": self.started,
               "results": {k: v.to_dict() for k, v in self.results.items()},
               "notified": sorted(self.notified)}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(raw, default=str))
        os.replace(temporary, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


# --- progress ------------------------------------------------------------------------------------------


class Progress:
    """A one-line bar with counts on a terminal; one line per account-region otherwise (CI logs)."""

    WIDTH = 24

    def __init__(self, total: int, done: int, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.done, self.stream = total, done, stream
        self.counts: dict[str, int] = {}
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._line = ""
        self.clock, self.started, self._resumed = clock, clock(), done  # the ETA counts this run's pace only

    def eta(self) -> str:
        text = eta(self.clock() - self.started, self.done - self._resumed, self.total - self._resumed)
        return f"  {text}" if text else ""

    def update(self, result: TargetResult) -> None:
        self.done += 1
        for group, number in result.counts().items():
            self.counts[group] = self.counts.get(group, 0) + number
        if result.status != DONE:
            self.counts[outcome_group(result.status)] = self.counts.get(outcome_group(result.status), 0) + 1
        if self.tty:
            filled = self.WIDTH * self.done // max(1, self.total)
            self._line = (f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} "
                          f"account-regions  {self._counts()}{self.eta()}")
            print(self._line, end="", file=self.stream, flush=True)
        else:
            counts = result.counts()
            detail = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing found"
            status = result.status if result.status == DONE else f"{result.status} {result.error}".strip()
            print(f"[{self.done}/{self.total}] {result.account} {result.region}: {status} ({detail}) "
                  f"{result.seconds:.1f}s{self.eta()}", file=self.stream, flush=True)

    def _counts(self) -> str:
        names = {"remediated": "fixed"}
        order = ("compliant", "remediated", "reported", "exempt", "failed", "not-onboarded")
        return "  ".join(f"{names.get(k, k)} {self.counts.get(k, 0)}" for k in order)

    def close(self) -> None:
        if self.tty and self._line:
            print(file=self.stream, flush=True)


# --- the hub's records ---------------------------------------------------------------------------------


def sweep_runtime(session: boto3.Session, settings: Settings) -> Runtime:
    """The operator's runtime for a sweep: the hub's table and topic, clients that retry as the sweep's do."""
    region = settings.organization.hub_region
    topic_arn = (f"arn:{partition_of(region)}:sns:{region}:{settings.organization.hub_account}:"
                 f"{settings.hub.topic_name}")
    return build_runtime(settings, session, region=region, topic=topic_arn, client_config=SWEEP_CONFIG,
                         session_name=SESSION_NAME)


class HubRecords:
    """Audit items and summary e-mails in the hub; anything unreachable is said once and then skipped."""

    def __init__(self, rt: Runtime, actor: str, run: str, stream: TextIO | None = None) -> None:
        if rt.audit is None or rt.notifier is None:
            raise RuntimeIncomplete("audit log" if rt.audit is None else "notifier")
        settings, region, topic_arn = rt.settings, rt.region, rt.notifier.topic_arn
        self.settings, self.actor, self.run, self.stream = settings, actor, run, stream or sys.stderr
        self.table = rt.audit.table_name
        self.dynamodb = rt.dynamodb
        self.log = rt.audit
        self.notifier = rt.notifier
        sns = rt.notifier.sns
        self.audit_ok = self._reachable("audit table", f"{self.table} ({region})",
                                        lambda: self.dynamodb.describe_table(TableName=self.table))
        self.notify_ok = self._reachable("alerts topic", topic_arn,
                                         lambda: sns.get_topic_attributes(TopicArn=topic_arn))

    def _reachable(self, what: str, name: str, probe: Any) -> bool:
        try:
            probe()
        except (ClientError, BotoCoreError) as error:
            self._unreachable(what, name, error)
            return False
        return True

    def _unreachable(self, what: str, name: str, error: Exception) -> None:
        print(f"note: the hub's {what} {name} cannot be reached ({error_code(error)}): not deployed yet, or "
              "credentials of another account? The sweep goes on; its report is the record.",
              file=self.stream)

    def audit(self, result: TargetResult) -> int:
        if not self.audit_ok:
            return 0
        try:
            records = audit_records(result, self.run, "sweep", self.actor)
            return write_audit(self.dynamodb, self.table, records, self.settings.hub.audit_retention_days)
        except (ClientError, BotoCoreError, RuntimeError) as error:
            self.audit_ok = False
            self._unreachable("audit table", self.table, error)
            return 0

    def summarize(self, account: Account, results: list[TargetResult], policies: Iterable[str]) -> bool:
        if not self.notify_ok or not worth_a_summary(results):
            return False
        if all(oc.kind_of(r.status) is oc.OutcomeKind.NOT_ONBOARDED for r in results) and self.audit_ok:
            day = dt.datetime.now(dt.UTC).date().isoformat()
            key = not_onboarded_key(account.id, day)
            if not self.log.once(key, {"account": account.id, "policy": "*"}):
                return False
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        context = summary_context(self.settings, account, results, self.run, SOURCE, when, policies)
        try:
            subject, body = render_summary(self.notifier.renderer, context)
            self.notifier.publish(subject, body, summary_attributes(account.id, results))
        except (ClientError, BotoCoreError) as error:
            self.notify_ok = False
            self._unreachable("alerts topic", self.notifier.topic_arn, error)
            return False
        return True


# --- the operator's identity ---------------------------------------------------------------------------


def operator_warning(session: boto3.Session, settings: Settings) -> tuple[str, str | None]:
    """(caller ARN, a warning when OrgGuardRemediation's trust probably does not admit the caller)."""
    try:
        arn = str(session.client("sts", config=SWEEP_CONFIG).get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError) as error:
        return "unknown", f"cannot tell who you are ({error_code(error)})"
    parts = arn.split(":", 5)
    account = parts[4] if len(parts) > 5 else ""
    resource = parts[5] if len(parts) > 5 else ""
    role = resource.split("/")[1] if resource.startswith("assumed-role/") else ""
    operators = settings.organization.operator_roles
    trusted = bool(role) and account == settings.organization.hub_account and any(
        r.split(":")[4] == account and r.rsplit("/", 1)[-1] == role for r in operators)
    if trusted:
        return arn, None
    listed = ", ".join(operators) or "none"
    return arn, (f"you are {arn}; member accounts' OrgGuardRemediation trusts only the hub's Lambda role "
                 f"and the hub-account roles in organization.operator_roles ({listed}): on AWS every account "
                 "shows as not-onboarded unless your role is listed there and the spoke StackSet was updated")
