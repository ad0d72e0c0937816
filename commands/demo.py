"""`orgguard demo`: the whole story on the embedded AWS (moto on 127.0.0.1), no account needed.

Progress goes to stderr; the result (a table of event -> policy -> outcome -> what changed, then the
e-mails the admins received) to stdout, or with ``--json`` one JSON document. Exit code 0 only if every
expected outcome was seen and verified in the member accounts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from commands.common import fail, print_table
from handlers.settings import Settings

if TYPE_CHECKING:
    from sandbox.demo.demo import DemoResult

HELP = "run the whole story on the embedded local AWS (no account needed)"
NEEDS_ORGANIZATION = False  # builds its own settings for the sandbox organization
COMMON_OPTIONS = ("dry-run", "json")  # the ones it reads: deploy.py offers only these
OPTION_HELP = {"dry-run": "list the demo's steps and run nothing"}
JSON_HELP = (
    "print one JSON document on stdout (ok, accounts, events, emails, reconcile, iam) instead of the "
    "tables and e-mails"
)
COLUMNS = ["#", "event", "account", "region", "policy", "outcome", "what changed", "verified"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Create an organization on the embedded AWS (moto on 127.0.0.1), deploy the hub from its synthesized "
        "template, roll the spoke out with the StackSet code, onboard a new account, then play people's API "
        "calls and show what OrgGuard did, verified in each member account. Settings are built for the "
        "sandbox's organization.")
    parser.add_argument("--out", default="demo-out", metavar="DIR",
                        help="where the admins' e-mails are written as .eml files (default: demo-out)")
    parser.add_argument("--no-iam", action="store_true",
                        help="do not evaluate IAM on the embedded AWS's calls (for speed comparisons only: "
                             "without it the demo proves nothing about permissions)")


def _rows(result: DemoResult) -> list[dict[str, object]]:
    names = result.organization.names
    return [{"#": n, "event": e.story.event_name, "account": names.get(e.story.account, e.story.account),
             "region": e.story.region, "policy": e.policy, "outcome": e.outcome, "what changed": e.changed,
             "verified": "yes" if e.verified else "NO"} for n, e in enumerate(result.events, start=1)]


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.aws.strictness import Strictness
    from sandbox.demo.demo import STEP_TITLES, Demo

    if args.dry_run:
        print("The demo would run, on moto started on 127.0.0.1 (nothing outside this process is touched):")
        for number, title in enumerate(STEP_TITLES, start=1):
            print(f"  {number}. {title}")
        return 0
    started = time.monotonic()
    try:
        strictness = Strictness().without_iam() if args.no_iam else Strictness()
        result = Demo(Path(args.out), strictness=strictness).run()
    except Exception as error:
        return fail(args, f"the demo stopped: {type(error).__name__}: {error}")
    elapsed = time.monotonic() - started
    if args.json:
        document = result.to_json()
        if not result.ok:  # the same "errors" as every command's failure
            document["errors"] = (result.problems + [f"{e.story.title}: NOT VERIFIED: {p}"
                                                     for e in result.events for p in e.problems]
                                  or ["no event was played"])
        print(json.dumps(document, indent=2))
    else:
        print()
        print_table(_rows(result), COLUMNS)
        print()
        for number, event in enumerate(result.events, start=1):
            print(f"{number}. {event.story.title}: {event.state.state}")
            for problem in event.problems:
                print(f"   NOT VERIFIED: {problem}")
        for number, (email, path) in enumerate(zip(result.emails, result.eml_files, strict=True), start=1):
            print(f"\n--- e-mail {number}/{len(result.emails)} ({path}) ---")
            print(f"To: {', '.join(email.to)}\nSubject: {email.subject}\n")
            print(email.body.rstrip())
    if result.iam is not None:
        print(f"IAM: {result.iam.calls_checked} calls checked ({result.iam.decisions} decisions, "
              f"{result.iam.evaluated} computed by iam-simulate), {len(result.iam.denials)} refused", file=sys.stderr)
        for denial in result.iam.denials:
            print(f"  refused {denial.operation}: {denial.message}", file=sys.stderr)
        needed = sum(1 for n in result.needs if n.needed)
        print(f"Least privilege: {needed} of the {len(result.needs)} actions of OrgGuardRemediation were needed "
              "(without each, this call is refused):", file=sys.stderr)
        for need in result.needs:
            print(f"  {need.describe()}", file=sys.stderr)
    else:
        print("IAM: not evaluated (--no-iam)", file=sys.stderr)
    for problem in result.problems:
        print(f"error: {problem}", file=sys.stderr)
    if result.report_file is not None:
        print(f"report: {result.report_file} (open it in a browser)", file=sys.stderr)
    verdict = "every expected outcome was seen and verified" if result.ok else "NOT everything was verified"
    print(f"demo finished in {elapsed:.0f}s: {verdict}", file=sys.stderr)
    return 0 if result.ok else 1
