"""`orgguard replay FILE...`: what OrgGuard would do with real CloudTrail events, before trusting it.

Every event goes through the spoke's forwarding decision and, if forwarded, the real handler code,
enforcing, on the embedded AWS (moto on 127.0.0.1) with the member state the call left. No credentials
are needed and the caller's AWS environment is set aside, so replay never touches a real account.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from typing import Any

from commands.common import print_table
from handlers.settings import Settings
from sandbox.aws.strictness import Strictness

# Replay's embedded AWS is as strict as the demo's: the handler role and the spoke's roles come from the templates.
REPLAY_STRICTNESS = Strictness()

HELP = "run real CloudTrail events through routing and decisions on the embedded AWS"
NEEDS_ORGANIZATION = False  # embedded AWS only: the sandbox defaults fill what --config leaves out
COMMON_OPTIONS = ("config", "json")  # the ones it reads: deploy.py offers only these
JSON_HELP = (
    "print JSON lines on stdout: a JSON document per line, one per event as it is replayed (event, account, "
    "region, forwarded, policy, outcome, actions, note, notified)"
)
COLUMNS = ["#", "event", "account", "region", "forwarded", "policy", "outcome", "notified"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Replay CloudTrail events through OrgGuard on the embedded AWS: each FILE holds a bare CloudTrail "
        "record, an EventBridge envelope, a JSON array of either, JSON lines, or a CloudTrail log file. "
        "Every policy runs enforcing; events from regions outside organization.regions are not forwarded "
        "(no spoke there). Needs no credentials; never touches a real account. Exit code 1 if a "
        "file could not be read or an event could not be replayed.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="files of CloudTrail events")


def _row(number: int, record: dict[str, Any]) -> dict[str, Any]:
    return {"#": number, "event": record["event_name"] or "?", "account": record["account"] or "?",
            "region": record["region"] or "?", "forwarded": "yes" if record["forwarded"] else "no",
            "policy": record["policy"] or "-", "outcome": record["outcome"],
            "notified": "yes" if record["notified"] else "no"}


def _print_details(number: int, replayed: Any, out: Any) -> None:
    record = replayed.record
    lines = [f"  {a['action']} {json.dumps(a['params'], sort_keys=True, default=str)}"
             for a in record["actions"]]
    if record.get("note"):
        lines.append(f"  note: {record['note']}")
    if replayed.notification:
        lines.append(f"  e-mail: {replayed.notification[0]}")
    if not lines:
        return
    print(f"\n{number}. {record['event_name'] or '?'} {record['event_id']} ({replayed.origin})", file=out)
    for line in lines:
        print(line, file=out)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.aws.server import embedded_aws
    from sandbox.replay.input import read_events
    from sandbox.replay.run import Replayer, without_default_amis

    inputs = [read_events(path) for path in args.files]
    for item in inputs:
        for problem in item.problems:
            print(f"error: {item.path}: {problem}", file=sys.stderr)
    events = [event for item in inputs for event in item.events]
    orgguard_log = logging.getLogger("orgguard")
    if orgguard_log.level == logging.NOTSET:
        orgguard_log.setLevel(logging.ERROR)  # the outcome says what the engine's warnings would
    results = []
    if events:
        with (embedded_aws(settings.organization.hub_region, REPLAY_STRICTNESS) as aws, without_default_amis(),
              contextlib.closing(Replayer(aws, settings)) as replayer):
            for event in events:
                replayed = replayer.replay(event.origin, event.payload)
                results.append(replayed)
                if replayed.error:
                    print(f"error: {event.origin}: {replayed.error}", file=sys.stderr)
                if args.json:
                    print(json.dumps(replayed.record, default=str), flush=True)
    if not args.json:
        print_table([_row(n, r.record) for n, r in enumerate(results, start=1)], COLUMNS)
        for number, replayed in enumerate(results, start=1):
            _print_details(number, replayed, sys.stdout)
    failed = any(item.failed for item in inputs) or any(r.error for r in results)
    return 1 if failed else 0
