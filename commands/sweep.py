"""``deploy.py sweep``: evaluate (and with ``--fix`` remediate) existing resources across the organization.

Every account-region goes through ``handlers.sweep.sweep_target``, the code the scheduled reconcile runs,
from a bounded thread pool. Member accounts are reached through ``OrgGuardRemediation``, whose trust must
admit the operator's role (``organization.operator_roles``). The run is resumable: its state file under
``.sweep-state/`` (named after the run's parameters) records every finished account-region, and the same
command run again skips them. With ``--fix`` every finding is audited in the hub table and each account
gets one summary e-mail; when the hub is not reachable the sweep says so once and its report is the record.

Exit status: 0 when every account-region was swept (not-onboarded accounts are reported, not errors),
1 when some could not be (run the same command again to retry just those), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import secrets
import sys
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from commands.common import UserError, aws_session, explain_aws_error, fail, print_table
from handlers import outcome as oc
from handlers.errors import RuntimeIncomplete, error_code
from handlers.notices import not_onboarded_key
from handlers.runtime import Runtime, build_runtime
from handlers.sessions import partition_of
from handlers.settings import ACCOUNT_RE, REGION_RE, Settings
from handlers.sweep import (
    DONE,
    SWEEP_CONFIG,
    SWEEPABLE,
    Account,
    AccountClients,
    Finding,
    TargetResult,
    audit_records,
    governed_accounts,
    outcome_group,
    render_summary,
    summary_attributes,
    summary_context,
    sweep_target,
    worth_a_summary,
    write_audit,
)

HELP = "evaluate (and with --fix remediate) existing resources across the organization"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
STATE_DIR = Path(".sweep-state")
DEFAULT_WORKERS = 16
SESSION_NAME = "orgguard-sweep"
SOURCE = "sweep (deploy.py sweep --fix)"
STATE_VERSION = 1
LISTED_STATUSES = (oc.REMEDIATED, oc.REPORTED, oc.EXEMPT)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", action="append", choices=SWEEPABLE, metavar="ID",
                        help=f"sweep only this policy (repeatable; default: {', '.join(SWEEPABLE)})")
    parser.add_argument("--accounts", metavar="ID,ID...",
                        help="only these accounts (default: the organization's governed accounts)")
    parser.add_argument("--regions", metavar="R,R...",
                        help="only these regions (default: organization.regions)")
    parser.add_argument("--fix", action="store_true",
                        help="remediate as each policy's mode says (report mode never writes); audit, e-mail")
    parser.add_argument("--csv", metavar="FILE", help="also write every finding to FILE as CSV")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                        help=f"account-regions swept at once (default {DEFAULT_WORKERS})")
    parser.add_argument("--restart", action="store_true",
                        help="forget what an interrupted run with the same parameters finished; start over")


# --- options -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    policies: tuple[str, ...]
    accounts: tuple[str, ...] | None  # None: from the organization
    regions: tuple[str, ...]
    fix: bool
    workers: int

    def state_key(self, settings: Settings) -> str:
        parameters = {"policies": sorted(self.policies), "regions": sorted(self.regions), "fix": self.fix,
                      "accounts": sorted(self.accounts or ["organization"]),
                      "settings": hashlib.sha256(settings.to_json().encode()).hexdigest()}
        return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:16]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_options(args: argparse.Namespace, settings: Settings) -> Options:
    if args.json and args.csv:
        raise UserError("--json and --csv cannot be combined: choose one output")
    if args.workers < 1 or args.workers > 128:
        raise UserError(f"--workers {args.workers}: must be from 1 to 128")
    accounts = None
    if args.accounts is not None:
        accounts = tuple(dict.fromkeys(_split(args.accounts)))
        bad = [a for a in accounts if not ACCOUNT_RE.match(a)]
        if bad or not accounts:
            raise UserError(f"--accounts {args.accounts!r}: give 12-digit account ids separated by commas")
    regions = tuple(dict.fromkeys(_split(args.regions))) if args.regions else settings.organization.regions
    bad = [r for r in regions if not REGION_RE.match(r)]
    if bad or not regions:
        raise UserError(f"--regions {args.regions!r}: give region names (us-east-1,...) separated by commas")
    policies = tuple(dict.fromkeys(args.policy or SWEEPABLE))
    return Options(policies, accounts, regions, args.fix, args.workers)


def _accounts(session: boto3.Session, settings: Settings, options: Options) -> list[Account]:
    if options.accounts is not None:
        return [Account(a, settings.account_name(a)) for a in options.accounts]
    org = session.client("organizations", config=SWEEP_CONFIG)
    try:
        return governed_accounts(org, settings)
    except ClientError as error:
        raise UserError(
            f"cannot list the organization's accounts ({error_code(error)}): run from the management account "
            "or a delegated administrator, or name the accounts with --accounts") from error


# --- resumable state ---------------------------------------------------------------------------------


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

    def __init__(self, total: int, done: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, done, stream
        self.counts: dict[str, int] = {}
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._line = ""

    def update(self, result: TargetResult) -> None:
        self.done += 1
        for group, number in result.counts().items():
            self.counts[group] = self.counts.get(group, 0) + number
        if result.status != DONE:
            self.counts[outcome_group(result.status)] = self.counts.get(outcome_group(result.status), 0) + 1
        if self.tty:
            filled = self.WIDTH * self.done // max(1, self.total)
            self._line = (f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} "
                          f"account-regions  {self._counts()}")
            print(self._line, end="", file=self.stream, flush=True)
        else:
            counts = result.counts()
            detail = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing found"
            status = result.status if result.status == DONE else f"{result.status} {result.error}".strip()
            print(f"[{self.done}/{self.total}] {result.account} {result.region}: {status} ({detail}) "
                  f"{result.seconds:.1f}s", file=self.stream, flush=True)

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


# --- output --------------------------------------------------------------------------------------------


def _findings(results: Iterable[TargetResult]) -> list[Finding]:
    return [f for r in results for f in r.findings]


def totals(results: Iterable[TargetResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        for group, number in result.counts().items():
            counts[group] = counts.get(group, 0) + number
        key = f"targets_{outcome_group(result.status)}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _print_text(results: list[TargetResult], names: dict[str, str], options: Options, run: str,
                out: TextIO) -> None:
    listed = sorted((f for f in _findings(results)
                     if f.outcome in LISTED_STATUSES or oc.is_failure(f.outcome)),
                    key=lambda f: (f.account, f.region, f.policy, f.resource))
    if listed:
        print("Resources that did not meet the standard:", file=out)
        print_table([{"account": f.account, "region": f.region, "policy": f.policy, "resource": f.resource,
                      "outcome": "fixed" if oc.kind_of(f.outcome) is oc.OutcomeKind.REMEDIATED else f.outcome,
                      "summary": f.summary.replace("\n", "; ")[:100]} for f in listed],
                    ["account", "region", "policy", "resource", "outcome", "summary"], out)
        print(file=out)
    rows = []
    for r in sorted(results, key=lambda r: (r.account, r.region)):
        counts = r.counts()
        rows.append({"account": r.account, "name": names.get(r.account, ""), "region": r.region,
                     "status": r.status, "checked": sum(counts.values()), "compliant": counts["compliant"],
                     "fixed": counts["remediated"], "reported": counts["reported"],
                     "exempt": counts["exempt"], "failed": counts["failed"],
                     "note": (r.error or "; ".join(r.notes))[:100]})
    print(f"Sweep {run} ({'fix' if options.fix else 'report only'}; policies {', '.join(options.policies)}):",
          file=out)
    print_table(rows, ["account", "name", "region", "status", "checked", "compliant", "fixed", "reported",
                       "exempt", "failed", "note"], out)
    t = totals(results)
    checked = sum(t.get(g, 0) for g in ("compliant", "remediated", "reported", "exempt", "gone", "failed"))
    print(f"\n{checked} resource(s): {t.get('compliant', 0)} compliant, {t.get('remediated', 0)} fixed, "
          f"{t.get('reported', 0)} reported, {t.get('exempt', 0)} exempt, {t.get('failed', 0)} failed; "
          f"{len(results)} account-region(s)", file=out)


def _write_csv(path: str, results: list[TargetResult], names: dict[str, str]) -> None:
    columns = ["account", "account_name", "region", "policy", "resource", "outcome", "summary", "stack_name"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for f in sorted(_findings(results), key=lambda f: (f.account, f.region, f.policy, f.resource)):
            writer.writerow({"account": f.account, "account_name": names.get(f.account, ""),
                             "region": f.region, "policy": f.policy, "resource": f.resource,
                             "outcome": f.outcome, "summary": f.summary.replace("\n", "; "),
                             "stack_name": f.stack_name})
        for r in results:
            if r.status != DONE:
                writer.writerow({"account": r.account, "account_name": names.get(r.account, ""),
                                 "region": r.region, "policy": "*", "resource": f"{r.account}/{r.region}",
                                 "outcome": r.status, "summary": r.error or "; ".join(r.notes)})


def _json_document(results: list[TargetResult], names: dict[str, str], options: Options, run: str,
                   complete: bool) -> dict[str, Any]:
    return {
        "run": run, "fix": options.fix, "complete": complete, "policies": list(options.policies),
        "regions": list(options.regions), "totals": totals(results),
        "targets": [{"account": r.account, "name": names.get(r.account, ""), "region": r.region,
                     "status": r.status, "error": r.error, "notes": r.notes, "counts": r.counts(),
                     "seconds": r.seconds} for r in sorted(results, key=lambda r: (r.account, r.region))],
        "findings": [f.to_dict() for f in sorted(_findings(results),
                                                 key=lambda f: (f.account, f.region, f.policy, f.resource))],
    }


# --- the run -------------------------------------------------------------------------------------------


@dataclass
class _Run:
    options: Options
    settings: Settings
    accounts: list[Account]
    state: SweepState
    records: HubRecords | None
    progress: Progress

    def account_results(self, account: str) -> list[TargetResult] | None:
        """Its results once every region has one (finished or failed); None before."""
        results = [self.state.results.get(target_key(account, r)) for r in self.options.regions]
        return None if any(r is None for r in results) else [r for r in results if r is not None]

    def finish(self, result: TargetResult) -> None:
        self.state.record(result)
        if self.records is not None:
            self.records.audit(result)
            self._maybe_summarize(self.records, result.account)
        self.progress.update(result)

    def _maybe_summarize(self, records: HubRecords, account_id: str) -> None:
        results = self.account_results(account_id)
        if results is None:
            return
        fresh = [r for r in results if target_key(r.account, r.region) not in self.state.notified]
        if not fresh:
            return
        account = next(a for a in self.accounts if a.id == account_id)
        records.summarize(account, fresh, self.options.policies)
        self.state.notified.update(target_key(r.account, r.region) for r in fresh)
        self.state.save()


def sweep(args: argparse.Namespace, settings: Settings, options: Options, out: TextIO | None = None,
          err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    session = aws_session(args, settings)
    accounts = _accounts(session, settings, options)
    targets = [(a.id, r) for a in accounts for r in options.regions]
    if args.dry_run:
        print(f"would sweep {len(targets)} account-region(s) ({len(accounts)} account(s) x "
              f"{len(options.regions)} region(s)) for {', '.join(options.policies)}, "
              f"{'fixing per each policy mode' if options.fix else 'reporting only'}", file=out)
        for account in accounts:
            print(f"  {account.id} {account.name}".rstrip(), file=out)
        return 0
    if not targets:
        print("nothing to sweep: no governed account", file=err)
        return 0
    state = SweepState.open(STATE_DIR, options.state_key(settings), args.restart)
    if state.resumed:
        done = sum(1 for a, r in targets if state.finished(a, r))
        print(f"resuming sweep {state.run}: {done} of {len(targets)} account-region(s) already finished "
              f"(--restart to start over)", file=err)
    actor, warning = operator_warning(session, settings)
    if warning:
        print(f"note: {warning}", file=err)
    rt = sweep_runtime(session, settings)
    records = HubRecords(rt, actor, state.run, err) if options.fix else None
    clients = AccountClients(rt.members, settings.organization.hub_region, admin_groups=rt.admin_groups)
    pending = [(a, r) for a, r in targets if not state.finished(a, r)]
    progress = Progress(len(targets), len(targets) - len(pending), err)
    context = _Run(options, settings, accounts, state, records, progress)
    interrupted = False
    pool = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="orgguard-sweep")
    try:
        futures: dict[Future[TargetResult], tuple[str, str]] = {
            pool.submit(sweep_target, clients, settings, a, r, options.policies, fix=options.fix): (a, r)
            for a, r in pending}
        for future in as_completed(futures):
            context.finish(future.result())
    except KeyboardInterrupt:
        interrupted = True
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
        progress.close()
    results = [state.results[target_key(a, r)] for a, r in targets if target_key(a, r) in state.results]
    names = {a.id: a.name for a in accounts}
    complete = not interrupted and all(r.finished for r in results) and len(results) == len(targets)
    if complete:
        state.remove()
    if args.csv:
        _write_csv(args.csv, results, names)
    if args.json:
        print(json.dumps(_json_document(results, names, options, state.run, complete), indent=2, default=str),
              file=out)
    else:
        _print_text(results, names, options, state.run, out)
    if any(oc.kind_of(r.status) is oc.OutcomeKind.NOT_ONBOARDED for r in results) and warning:
        print("hint: not-onboarded may mean your role is not trusted (see the note above), or the account "
              "has no spoke yet (python deploy.py onboard ACCOUNT)", file=err)
    if interrupted:
        print(f"interrupted: {len(results)} of {len(targets)} account-region(s) finished; the same command "
              f"resumes (state {state.path})", file=err)
        return 130
    if not complete:
        failed = sum(1 for r in results if not r.finished)
        print(f"{failed} account-region(s) could not be swept; run the same command again to retry only "
              f"those (state {state.path}), or add --restart", file=err)
        return 1
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        options = parse_options(args, settings)
        return sweep(args, settings, options)
    except UserError as error:
        return fail(args, str(error))
    except (NoCredentialsError, NoRegionError) as error:
        return fail(args, explain_aws_error(error))
    except (BotoCoreError, ClientError) as error:
        return fail(args, explain_aws_error(error))
