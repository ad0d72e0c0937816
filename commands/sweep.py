"""``orgguard sweep``: evaluate (and with ``--fix`` remediate) existing resources across the organization.

Every account-region goes through ``handlers.batch.sweep.sweep_target``, the code the scheduled reconcile runs,
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
import json
import sys
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from commands.common import UserError, aws_session, explain_aws_error, fail
from commands.sweep_options import DEFAULT_WORKERS, Options, add_arguments, parse_options
from commands.sweep_output import LISTED_STATUSES, _json_document, _print_text, _write_csv, totals
from commands.sweep_state import (
    SESSION_NAME,
    SOURCE,
    STATE_VERSION,
    HubRecords,
    Progress,
    SweepState,
    operator_warning,
    sweep_runtime,
    target_key,
)
from handlers import outcome as oc
from handlers.batch.sweep import (
    SWEEP_CONFIG,
    Account,
    TargetResult,
    governed_accounts,
    sweep_target,
)
from handlers.errors import error_code
from handlers.settings import Settings

__all__ = [
    "DEFAULT_WORKERS", "HELP", "LISTED_STATUSES", "NEEDS_ORGANIZATION", "SESSION_NAME", "SOURCE", "STATE_DIR",
    "STATE_VERSION", "HubRecords", "Options", "Progress", "SweepState", "add_arguments", "operator_warning",
    "parse_options", "run", "sweep", "sweep_runtime", "target_key", "totals",
]

HELP = "evaluate (and with --fix remediate) existing resources across the organization"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
COMMON_OPTIONS = ("config", "profile", "region", "dry-run", "json")  # the ones it reads: deploy.py offers only these
JSON_HELP = (
    "print one JSON document on stdout (totals, every account-region and finding; with --dry-run the "
    "plan) instead of tables; not with --csv"
)
STATE_DIR = Path(".sweep-state")


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


def _print_plan(accounts: list[Account], targets: int, options: Options, out: TextIO, as_json: bool) -> None:
    """What ``--dry-run`` would sweep."""
    if as_json:
        print(json.dumps({"dry_run": True, "targets": targets, "policies": list(options.policies),
                          "regions": list(options.regions), "fix": options.fix,
                          "accounts": [{"account": a.id, "name": a.name} for a in accounts]}, indent=2), file=out)
        return
    print(f"would sweep {targets} account-region(s) ({len(accounts)} account(s) x "
          f"{len(options.regions)} region(s)) for {', '.join(options.policies)}, "
          f"{'fixing per each policy mode' if options.fix else 'reporting only'}", file=out)
    for account in accounts:
        print(f"  {account.id} {account.name}".rstrip(), file=out)


def _report(args: argparse.Namespace, results: list[TargetResult], names: dict[str, str], options: Options,
            run: str, complete: bool, out: TextIO) -> None:
    """The sweep's report: CSV (--csv) and then JSON (--json) or the text table."""
    if args.csv:
        _write_csv(args.csv, results, names)
    if args.json:
        print(json.dumps(_json_document(results, names, options, run, complete), indent=2, default=str),
              file=out)
    else:
        _print_text(results, names, options, run, out)


def sweep(args: argparse.Namespace, settings: Settings, options: Options, out: TextIO | None = None,
          err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    session = aws_session(args, settings)
    accounts = _accounts(session, settings, options)
    targets = [(a.id, r) for a in accounts for r in options.regions]
    if args.dry_run:
        _print_plan(accounts, len(targets), options, out, args.json)
        return 0
    if not targets:
        print("nothing to sweep: no governed account", file=err)
        if args.json:
            print(json.dumps(_json_document([], {}, options, "", True), indent=2), file=out)
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
    clients = rt.members.across_regions(settings.organization.hub_region)
    pending = [(a, r) for a, r in targets if not state.finished(a, r)]
    progress = Progress(len(targets), len(targets) - len(pending), err)
    context = _Run(options, settings, accounts, state, records, progress)
    interrupted = False
    pool = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="orgguard-sweep")
    try:
        futures: dict[Future[TargetResult], tuple[str, str]] = {
            pool.submit(sweep_target, clients, settings, a, r, options.policies, fix=options.fix,
                        admin_groups=rt.admin_groups): (a, r)
            for a, r in pending}
        for future in as_completed(futures):
            context.finish(future.result())
    except KeyboardInterrupt:
        interrupted = True
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
        progress.close()
    return _finish(args, options, state, targets, accounts, interrupted, warning, out, err)


def _finish(args: argparse.Namespace, options: Options, state: SweepState, targets: list[tuple[str, str]],
            accounts: list[Account], interrupted: bool, warning: str | None, out: TextIO, err: TextIO) -> int:
    """Report what the run found, keep or drop its state, and say what to do next; the exit code."""
    results = [state.results[target_key(a, r)] for a, r in targets if target_key(a, r) in state.results]
    names = {a.id: a.name for a in accounts}
    complete = not interrupted and all(r.finished for r in results) and len(results) == len(targets)
    if complete:
        state.remove()
    _report(args, results, names, options, state.run, complete, out)
    if any(oc.kind_of(r.status) is oc.OutcomeKind.NOT_ONBOARDED for r in results) and warning:
        print("hint: not-onboarded may mean your role is not trusted (see the note above), or the account "
              "has no spoke yet (orgguard onboard ACCOUNT)", file=err)
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
