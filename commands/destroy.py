"""``orgguard destroy``: remove the spoke's SCP, stack instances and StackSets and (with ``--hub``) the hub."""

from __future__ import annotations

import argparse
import json
import sys

from commands.common import attempt, aws_session, fail, print_report
from handlers.settings import Settings
from stacksets.errors import RolloutError
from stacksets.teardown import Teardown, TeardownPlan, TeardownReport

HELP = "remove the spoke's service control policy, stack instances and StackSets and (with --hub) the hub"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
COMMON_OPTIONS = ("config", "profile", "region", "dry-run", "json")  # the ones it reads: deploy.py offers only these
JSON_HELP = "print one JSON document on stdout (what was removed; with --dry-run what would be) instead of text"
CONFIRMATION = "destroy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", action="store_true", help="also delete the hub stack in the hub account")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--call-as",
        choices=("SELF", "DELEGATED_ADMIN"),
        help="how to call StackSets (default: rollout.call_as)",
    )


def _print_plan(args: argparse.Namespace, plan: TeardownPlan) -> None:
    """What a dry run would remove (or that there is nothing to remove)."""
    lines = [] if plan.empty else plan.lines()
    if args.json:
        print(json.dumps({"ok": True, "dry_run": bool(args.dry_run), "removed": False, "would_remove": lines},
                         indent=2))
    elif not lines:
        print("nothing to remove")
    else:
        print("would remove:")
        for line in lines:
            print(f"  - {line}")


def _refusal(plan: TeardownPlan) -> str | None:
    """Ask for the confirmation; why nothing may be removed, or None when confirmed."""
    print("This removes:", file=sys.stderr)
    for line in plan.lines():
        print(f"  - {line}", file=sys.stderr)
    if not sys.stdin.isatty():
        return "no terminal to confirm on: pass --yes to remove all of the above; nothing was removed"
    answer = input(f"Type '{CONFIRMATION}' to remove all of the above: ")
    return None if answer.strip() == CONFIRMATION else f"not confirmed with '{CONFIRMATION}': nothing was removed"


def run(args: argparse.Namespace, settings: Settings) -> int:
    call_as = args.call_as or settings.rollout.call_as
    report, code = attempt(args, lambda: _destroy(args, settings, call_as), RolloutError)
    if report is None:
        return code
    if isinstance(report, int):  # a dry run, nothing to remove, or not confirmed
        return report
    print_report(args, report, lambda done: _print(done, settings.hub.stack_name))
    return 0 if report.ok else 1


def _destroy(args: argparse.Namespace, settings: Settings, call_as: str) -> TeardownReport | int:
    teardown = Teardown(aws_session(args, settings), settings, call_as, stream=sys.stderr)
    plan = teardown.plan(include_hub=args.hub)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    if plan.empty or args.dry_run:
        _print_plan(args, plan)
        return 0
    refusal = None if args.yes else _refusal(plan)
    if refusal:
        return fail(args, refusal)
    return teardown.execute(plan)


def _print(report: TeardownReport, hub_stack: str) -> None:
    if report.protection is not None:
        for line in report.protection.lines():
            print(line)
    for outcome in report.operations:
        print(f"operation {outcome.operation_id}: {outcome.status}")
    for name in report.stacksets_deleted:
        print(f"StackSet {name} deleted")
    for result in report.management:
        print(f"management stack {result.stack} {result.region}: {result.action} {result.reason}".rstrip())
    if report.hub:
        print(f"hub stack {hub_stack}: {report.hub}")
