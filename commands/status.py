"""``deploy.py status``: stack instances, drift, last event and queue depths per account and region."""

from __future__ import annotations

import argparse
import json

from botocore.exceptions import BotoCoreError, ClientError

from commands.common import UserError, aws_session, explain_aws_error, fail, print_table
from handlers.settings import Settings
from stacksets.errors import RolloutError
from stacksets.status import StatusReport, collect

HELP = "stack instances, drift, last event and DLQ depth per account and region"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file


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


def _print(report: StatusReport) -> None:
    rows = []
    for account in report.accounts:
        base = {
            "account": account.account,
            "name": account.name,
            "ou": account.path,
            "last_event": _last_event(account.last_event),
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
                    "reason": region.reason,
                }
            )
    print(f"StackSet {report.stackset}")
    print_table(rows, ["account", "name", "ou", "region", "spoke", "detail", "drift", "reason", "last_event"])
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
    try:
        report = collect(aws_session(args, settings), settings, call_as)
    except (RolloutError, UserError) as error:
        return fail(args, str(error))
    except (BotoCoreError, ClientError) as error:
        return fail(args, explain_aws_error(error))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _print(report)
    return 0
