"""``orgguard onboard ACCOUNT...``: spoke instances for the accounts, then proof of the path end to end."""

from __future__ import annotations

import argparse
import json
import re
import sys

from commands.common import attempt, aws_session, fail, print_report
from handlers.settings import Settings
from spoke.render import SpokeRenderError
from stacksets.errors import RolloutError
from stacksets.onboard_proof import OnboardReport
from stacksets.onboarding import Onboarding

HELP = "give accounts their spoke instances and prove the path end to end"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
COMMON_OPTIONS = ("config", "profile", "region", "dry-run", "json")  # the ones it reads: deploy.py offers only these
JSON_HELP = "print one JSON document on stdout (each account's checks; with --dry-run the instances it would create)"
ACCOUNT_RE = re.compile(r"^\d{12}$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("accounts", nargs="+", metavar="ACCOUNT_ID", help="12-digit account ids to onboard")
    parser.add_argument(
        "--call-as",
        choices=("SELF", "DELEGATED_ADMIN"),
        help="how to call StackSets (default: rollout.call_as)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for the canaries to reach the hub (default: rollout.canary_timeout_seconds)",
    )


def _print(report: OnboardReport) -> None:
    for proof in report.accounts:
        title = f"{proof.account} ({proof.name})" if proof.name else proof.account
        print(f"{title}: {'OK' if proof.ok else 'FAILED'}")
        width = max((len(c.name) for c in proof.checks), default=0)
        region_width = max((len(c.region) for c in proof.checks), default=0)
        for check in proof.checks:
            mark = " ok " if check.ok else "FAIL"
            print(f"  [{mark}] {check.name.ljust(width)}  {check.region.ljust(region_width)}  {check.detail}")
    failed = [p for p in report.accounts if not p.ok]
    if failed:
        print(f"{len(failed)} of {len(report.accounts)} account(s) failed onboarding:", file=sys.stderr)
        for proof in failed:
            for check in proof.failures:
                where = f" in {check.region}" if check.region else ""
                print(f"  {proof.account}: {check.name}{where}: {check.detail}", file=sys.stderr)


def run(args: argparse.Namespace, settings: Settings) -> int:
    bad = [a for a in args.accounts if not ACCOUNT_RE.match(a)]
    if bad:
        return fail(args, f"not an account id: {', '.join(bad)} (12 digits, e.g. 111122223333)")
    call_as = args.call_as or settings.rollout.call_as
    report, code = attempt(args, lambda: _onboard(args, settings, call_as), RolloutError, SpokeRenderError)
    if report is None:
        return code
    if isinstance(report, int):  # a dry run: the plan is printed
        return report
    print_report(args, report, _print)
    return 0 if report.ok else 1


def _onboard(args: argparse.Namespace, settings: Settings, call_as: str) -> OnboardReport | int:
    onboarding = Onboarding(aws_session(args, settings), settings, call_as, stream=sys.stderr)
    if args.dry_run:
        plan = onboarding.plan(args.accounts)
        if args.json:
            print(json.dumps({"dry_run": True, "accounts": {
                account: {"create": {name: list(regions) for name, regions in by_stackset.items() if regions}}
                for account, by_stackset in plan.items()}}, indent=2))
            return 0
        for account, by_stackset in plan.items():
            missing = "; ".join(f"{name} in {', '.join(regions)}" for name, regions in by_stackset.items()
                                if regions) or "none"
            print(
                f"{account}: would create instances of {missing}, "
                "then check its rules and roles and send a canary per region"
            )
        return 0
    return onboarding.run(args.accounts, timeout=args.timeout)
