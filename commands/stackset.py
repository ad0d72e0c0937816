"""``orgguard stackset``: create or update the two spoke StackSets for the target OUs and regions."""

from __future__ import annotations

import argparse
import sys

from commands.common import attempt, aws_session, print_report, print_table
from handlers.settings import Settings
from spoke.render import SpokeRenderError
from stacksets.errors import RolloutError
from stacksets.rollout import Rollout
from stacksets.rollout_report import RolloutReport

HELP = "create or update the spoke StackSets (roles, then rules) for the target OUs and regions"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
COMMON_OPTIONS = ("config", "profile", "region", "dry-run", "json")  # the ones it reads: deploy.py offers only these
JSON_HELP = "print one JSON document on stdout (each StackSet's action and every stack instance) instead of text"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--call-as",
        choices=("SELF", "DELEGATED_ADMIN"),
        help="SELF from the management account, DELEGATED_ADMIN from a registered delegated "
        "administrator (default: rollout.call_as)",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="update the instances a previous run left failed (OUTDATED)",
    )
    parser.add_argument(
        "--protect",
        action="store_true",
        help="also create or update the service control policy that keeps member accounts from changing the "
        "spoke, and attach it to the target OUs (enables SCPs on the root if they are not)",
    )


def _print(report: RolloutReport) -> None:
    verb = "would be " if report.dry_run else ""
    if report.migration and report.dry_run:
        print("migration (would run; nothing changed):")
        for line in report.migration:
            print(f"  {line}")
    for result in report.stacksets:
        print(f"StackSet {result.name} ({result.part}): {verb}{result.action}")
        if report.dry_run:
            print(
                f"  instances to create: {len(result.created_instances)}"
                + "".join(f"\n    {account} {region}" for account, region in result.created_instances)
            )
            if result.retried_instances:
                print(f"  instances to retry: {len(result.retried_instances)}")
        for target in result.new_targets:
            # An empty OU gets no instance now; registering it is what makes its first account get the spoke.
            print(f"  {'would register' if report.dry_run else 'registered'} {target.line} as a deployment "
                  "target (accounts moved in later get the StackSet automatically)")
    rows = [
        {
            "stackset": r.stackset,
            "account": r.account,
            "name": r.name,
            "region": r.region,
            "status": r.status,
            "detail": r.detailed,
            "reason": r.reason,
        }
        for r in report.instances
    ]
    print_table(rows, ["stackset", "account", "name", "region", "status", "detail", "reason"])
    if report.management:
        print(
            "management account plain stacks: "
            + ", ".join(
                f"{m.stack} {m.region} {m.action}{' (' + m.reason + ')' if m.reason else ''}" for m in report.management
            )
        )
    if report.protection is not None:
        for line in report.protection.lines():
            print(line)
    for note in report.notes:
        print(f"note: {note}")
    failed = report.failed_instances
    if failed and not report.dry_run:
        print(
            f"{len(failed)} instance(s) not CURRENT; the reasons are above. Fix the cause, then run "
            "`orgguard stackset --retry-failed`.",
            file=sys.stderr,
        )
    if report.migration and not report.dry_run:
        print("Migrated from the single StackSet (the plan is above). The roles were missing meanwhile: replay "
              "what the spokes dead-lettered with `orgguard redrive`.", file=sys.stderr)


def run(args: argparse.Namespace, settings: Settings) -> int:
    call_as = args.call_as or settings.rollout.call_as
    report, code = attempt(args, lambda: Rollout(aws_session(args, settings), settings, call_as, stream=sys.stderr).run(
        retry_failed=args.retry_failed, dry_run=args.dry_run, protect=args.protect), RolloutError, SpokeRenderError)
    if report is None:
        return code
    print_report(args, report, _print)
    return 0 if report.ok else 1
