"""``deploy.py stackset``: create or update the spoke StackSet for the target OUs and regions."""

from __future__ import annotations

import argparse
import json
import sys

from botocore.exceptions import BotoCoreError, ClientError

from commands.common import UserError, aws_session, explain_aws_error, fail, print_table
from handlers.settings import Settings
from spoke.render import SpokeRenderError
from stacksets.errors import RolloutError
from stacksets.rollout import Rollout, RolloutReport

HELP = "create or update the spoke StackSet for the target OUs and regions"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file


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


def _print(report: RolloutReport) -> None:
    verb = "would be " if report.dry_run else ""
    print(f"StackSet {report.stackset}: {verb}{report.action}")
    if report.dry_run:
        print(
            f"instances to create: {len(report.created_instances)}"
            + "".join(f"\n  {account} {region}" for account, region in report.created_instances)
        )
        if report.retried_instances:
            print(f"instances to retry: {len(report.retried_instances)}")
    rows = [
        {
            "account": r.account,
            "name": r.name,
            "region": r.region,
            "status": r.status,
            "detail": r.detailed,
            "reason": r.reason,
        }
        for r in report.instances
    ]
    print_table(rows, ["account", "name", "region", "status", "detail", "reason"])
    if report.management:
        print(
            "management account plain stack: "
            + ", ".join(
                f"{m.region} {m.action}{' (' + m.reason + ')' if m.reason else ''}" for m in report.management
            )
        )
    for note in report.notes:
        print(f"note: {note}")
    failed = report.failed_instances
    if failed and not report.dry_run:
        print(
            f"{len(failed)} instance(s) not CURRENT; the reasons are above. Fix the cause, then run "
            "`deploy.py stackset --retry-failed`.",
            file=sys.stderr,
        )


def run(args: argparse.Namespace, settings: Settings) -> int:
    call_as = args.call_as or settings.rollout.call_as
    try:
        session = aws_session(args, settings)
        report = Rollout(session, settings, call_as, stream=sys.stderr).run(
            retry_failed=args.retry_failed, dry_run=args.dry_run
        )
    except (RolloutError, UserError, SpokeRenderError) as error:
        return fail(args, str(error))
    except (BotoCoreError, ClientError) as error:
        return fail(args, explain_aws_error(error))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _print(report)
    return 0 if report.ok else 1
