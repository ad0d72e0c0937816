"""``orgguard status``: stack instances, drift, spoke DLQs, tampering, last event and hub queues.

Exit status 0, or 1 when tampering was found in a member account (so a scheduled run can page someone).
"""

from __future__ import annotations

import argparse
import sys

from commands.common import attempt, aws_session, print_report, print_table
from handlers.settings import Settings
from stacksets.errors import RolloutError
from stacksets.status import StatusReport, collect

HELP = "stack instances, drift, DLQ depth and tampering per account and region; exits 1 on tampering"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
COMMON_OPTIONS = ("config", "profile", "region", "json")  # the ones it reads: deploy.py offers only these
JSON_HELP = "print one JSON document on stdout (accounts, regions, tampering, hub queues) instead of tables"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--call-as",
        choices=("SELF", "DELEGATED_ADMIN"),
        help="how to call StackSets (default: rollout.call_as)",
    )


def _last_event(event: dict[str, str] | None) -> str:
    if not event:
        return ""
    return " ".join(event[k] for k in ("time", "kind", "policy", "outcome") if event.get(k))


def _dlq(messages: int | None, alarm: str) -> str:
    if messages is None:
        return ""
    return f"{messages} ({alarm})" if alarm else str(messages)


def _print(report: StatusReport) -> None:
    rows = []
    for account in report.accounts:
        base = {
            "account": account.account,
            "name": account.name,
            "ou": account.path,
            "last_event": _last_event(account.last_event),
            "roles": account.roles.status if account.roles else "",
        }
        if account.status != "ACTIVE":
            base["name"] = f"{account.name} ({account.status})"
        if not account.regions:
            rows.append({**base, "region": "-", "spoke": account.spoke})
        for region in account.regions:
            rows.append(
                {
                    **base,
                    "region": region.region,
                    "spoke": region.status,
                    "detail": region.detailed,
                    "drift": region.drift,
                    "dlq": _dlq(region.dlq_messages, region.alarm),
                    "reason": region.reason,
                }
            )
    print(f"StackSets {report.global_stackset} (roles) and {report.stackset} (rules)")
    print_table(rows, ["account", "name", "ou", "region", "roles", "spoke", "detail", "drift", "dlq", "reason",
                       "last_event"])
    if report.tampering:
        print("\ntampering (changed inside the member account, not by the StackSets)")
        print_table(
            [{"account": t.account, "region": t.region or "-", "what": t.what, "detail": t.detail}
             for t in report.tampering],
            ["account", "region", "what", "detail"],
        )
    if report.queues:
        print("\nhub queues")
        print_table(
            [
                {"queue": q.name, "messages": q.messages, "kind": "dead-letter" if q.dead_letter else ""}
                for q in report.queues
            ],
            ["queue", "messages", "kind"],
        )
    for note in report.notes:
        print(f"note: {note}")


def run(args: argparse.Namespace, settings: Settings) -> int:
    call_as = args.call_as or settings.rollout.call_as
    report, code = attempt(args, lambda: collect(aws_session(args, settings), settings, call_as), RolloutError)
    if report is None:
        return code
    print_report(args, report, _print)
    if report.tampering:
        accounts = sorted({t.account for t in report.tampering})
        print(f"tampering found in {len(accounts)} account(s): {', '.join(accounts)}", file=sys.stderr)
        return 1
    return 0
