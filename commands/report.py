"""``orgguard report``: what OrgGuard found and did, per account x guardrail, over the last days.

Reads the hub's audit table (one scan from the first day of the period on), optionally folds in a read-only
sweep of every governed account and region (``--sweep``: the resources no event announced, compliant ones
too), and prints a text table (or with ``--json`` one JSON document); ``--html FILE`` also writes a
self-contained HTML page with charts. The report itself is built and rendered by ``reporting/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from commands.common import UserError, audit_table_failure, aws_session, fail
from handlers.errors import error_code
from handlers.settings import Settings
from reporting.model import DEFAULT_DAYS, Report, build_report, sweep_items
from reporting.page import render_html
from reporting.source import period_start, read_audit
from reporting.text import render_text

HELP = "compliance per account and guardrail over the last days, as a table, JSON or an HTML page"
NEEDS_ORGANIZATION = True  # reads the hub's audit table in a real account
MAX_DAYS = 400  # the audit table's default retention
COMMON_OPTIONS = ("config", "profile", "region", "dry-run", "json")  # the ones it reads: deploy.py offers only these
JSON_HELP = "print one JSON document on stdout: the report (per account and guardrail, and the trend per day)"
SWEEP_WORKERS = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, metavar="N",
                        help=f"the period: the last N UTC days, today included (default {DEFAULT_DAYS})")
    parser.add_argument("--html", metavar="FILE",
                        help="also write the report as one self-contained HTML page (charts, no script) to FILE")
    parser.add_argument("--sweep", action="store_true",
                        help="also sweep every governed account and region read-only (nothing is changed or "
                             "recorded) and count its findings, compliant ones included, as today's")


def live_sweep(session: Any, settings: Settings) -> list[dict[str, Any]]:
    """A read-only sweep (``fix=False``) of the governed accounts x regions, as report items."""
    from commands.sweep_state import sweep_runtime
    from handlers.batch.sweep import governed_accounts, sweep_target
    from handlers.sessions import SWEEP_CONFIG

    try:
        accounts = governed_accounts(session.client("organizations", config=SWEEP_CONFIG), settings)
    except ClientError as error:
        raise UserError(f"--sweep cannot list the organization's accounts ({error_code(error)}): run from the "
                        "management account or a delegated administrator") from error
    rt = sweep_runtime(session, settings)
    clients = rt.members.across_regions(settings.organization.hub_region)
    targets = [(a.id, r) for a in accounts for r in settings.organization.regions]
    with ThreadPoolExecutor(max_workers=SWEEP_WORKERS, thread_name_prefix="orgguard-report") as pool:
        results = list(pool.map(lambda t: sweep_target(clients, settings, t[0], t[1], fix=False,
                                                            admin_groups=rt.admin_groups), targets))
    return sweep_items(results, dt.datetime.now(dt.UTC))


def build(args: argparse.Namespace, settings: Settings, now: dt.datetime) -> Report:
    region = args.region or settings.organization.hub_region
    table = settings.hub.table_name
    session = aws_session(args, settings)
    items = read_audit(session.client("dynamodb", region_name=region), table, period_start(now, args.days))
    sources = [f"the audit table {table} ({region})"]
    if args.sweep:
        found = live_sweep(session, settings)
        items += found
        sources.append(f"a read-only sweep ({len(found)} finding(s))")
    return build_report(items, now, args.days, settings.organization.account_names, sources)


def run(args: argparse.Namespace, settings: Settings) -> int:
    region = args.region or settings.organization.hub_region
    try:
        if not 1 <= args.days <= MAX_DAYS:
            raise UserError(f"--days {args.days}: give a number of days from 1 to {MAX_DAYS}")
        if args.dry_run:
            print(f"would read the audit table {settings.hub.table_name} ({region}) for the last {args.days} "
                  f"day(s)" + (" and sweep every governed account read-only" if args.sweep else ""))
            return 0
        report = build(args, settings, dt.datetime.now(dt.UTC))
    except UserError as error:
        return fail(args, str(error))
    except (BotoCoreError, ClientError) as error:
        return audit_table_failure(args, settings, region, error)
    if args.html:
        path = Path(args.html)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(report), encoding="utf-8")
        print(f"report written to {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        sys.stdout.write(render_text(report))
    return 0
