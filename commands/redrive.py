"""``orgguard redrive``: replay dead-lettered events through the handlers, after the cause is fixed.

Reads the hub's dead-letter queues (the stack's ``DlqUrl*`` outputs, or ``--queue NAME_OR_URL``) and, unless
``--queue`` or ``--hub-only`` is given, every spoke's ``orgguard-forward-dlq`` (each member account and region
with a regional spoke instance, read through ``rollout.member_access_role``; the events the spoke rules could
not hand to the hub bus, e.g. while the forwarder role was missing). A rule target's DLQ holds the
EventBridge event itself; a Lambda on-failure destination holds a record whose ``requestPayload`` is the
event. A spoke queue's message whose event names another account than the queue's is left where it is: the
spoke only forwards its own account's events. Each event is routed by the registry (``handlers.registry.policies_for``)
and run through ``handlers.engine.process`` in this process, with a runtime built from the hub's audit table
and alerts topic and the operator's credentials (through ``rollout.hub_access_role`` when they belong to
another account; the role must be one of ``organization.operator_roles`` to assume OrgGuardRemediation).

Why in-process rather than ``lambda invoke``: the outcome of every message is known here, so a message is
deleted only once it ended in an outcome, and what was not is said, message by message, on the terminal;
the same code runs against the embedded AWS, where no Lambda runs. It is the very code the Lambdas run,
with the settings the hub was deployed from (``--config``).

Idempotent: the audit table's claim makes an event already handled a ``skipped:duplicate``, deleted
like any outcome, so redriving twice never acts twice. A message that still fails (a transient error, a
claim still leased by a failed attempt) stays in its queue and is visible again at once. ``--dry-run``
reads and evaluates (report mode, no audit record, no e-mail) and leaves every message where it is.

Exit status: 0 when every message was replayed and deleted (or with --dry-run), 1 when some stay, 2 on
bad arguments or settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from commands.common import UserError, aws_session, explain_aws_error, fail, print_table
from commands.redrive_messages import RedriveReport
from commands.redrive_queues import HubResources, Source, drain, hub_resources, spoke_queues
from handlers.audit import AuditLog
from handlers.engine import Runtime
from handlers.modes import report_only
from handlers.runtime import build_runtime as build_hub_runtime
from handlers.sessions import RETRY_CONFIG, MemberSessions
from handlers.settings import Settings
from stacksets.spoke_state import SpokeQueue

HELP = "replay dead-lettered events through the handlers, idempotently"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
COMMON_OPTIONS = ("config", "profile", "region", "dry-run", "json")  # the ones it reads: deploy.py offers only these
OPTION_HELP = {"dry-run": "read and evaluate every message (report mode, no audit record, no e-mail); delete none"}
JSON_HELP = "print one JSON document on stdout (queues, every message and what became of it) instead of a table"
SESSION_NAME = "orgguard-redrive"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", action="append", metavar="NAME_OR_URL", default=[],
                        help="a hub queue to redrive (repeatable; default: every dead-letter queue of the hub stack "
                             "and every spoke's)")
    parser.add_argument("--hub-only", action="store_true",
                        help="leave the spokes' dead-letter queues in the member accounts alone")
    parser.add_argument("--call-as", choices=("SELF", "DELEGATED_ADMIN"),
                        help="how to list the spoke's stack instances (default: rollout.call_as)")


def build_runtime(session: boto3.Session, settings: Settings, hub: HubResources, dry_run: bool,
                  members: MemberSessions | None = None) -> Runtime:
    """The engine's runtime as the hub's functions have it; a dry run reports only and records nothing."""
    region = settings.organization.hub_region
    if dry_run:
        return build_hub_runtime(report_only(settings), session, region=region, table=hub.table, audit=False,
                                     session_name=SESSION_NAME, members=members)
    return build_hub_runtime(settings, session, region=region, table=hub.table, topic=hub.topic_arn,
                                 session_name=SESSION_NAME, members=members)


def redrive(session: boto3.Session, settings: Settings, queues: list[str], dry_run: bool = False,
            members: MemberSessions | None = None, spoke: Sequence[SpokeQueue] = ()) -> RedriveReport:
    """Replay every message of the queues (default: the hub's dead-letter queues) and of the spoke queues
    given; see the module docstring."""
    hub = hub_resources(session, settings, queues)
    rt = build_runtime(session, settings, hub, dry_run, members)
    audit = rt.audit or AuditLog(rt.dynamodb, hub.table)  # a dry run still reads what was recorded
    sqs = session.client("sqs", region_name=settings.organization.hub_region)
    sources = [Source(url.rstrip("/").rsplit("/", 1)[-1], sqs, url) for url in hub.queues]
    sources += [Source(q.name, q.session.client("sqs", region_name=q.region, config=RETRY_CONFIG), q.url, q.account)
                for q in spoke if q.url and q.session is not None]
    report = RedriveReport(queues=[s.url for s in sources], dry_run=dry_run)
    for source in sources:
        drain(source, rt, audit, dry_run, report)
    return report


# --- the command --------------------------------------------------------------------------------------------


def print_report(report: RedriveReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
        return
    rows = [{"queue": r.queue, "policy": r.policy or r.kind, "account": r.account, "event": r.event_id[:40],
             "outcome": r.outcome or "-", "message": "deleted" if r.deleted else "kept", "note": r.note[:100]}
            for r in report.replays]
    print_table(rows, ["queue", "policy", "account", "event", "outcome", "message", "note"])
    verb = "would replay" if report.dry_run else "replayed"
    print(f"\n{len(report.replays)} message(s) in {len(report.queues)} queue(s): {verb} "
          f"{sum(r.deleted for r in report.replays) if not report.dry_run else len(report.replays)}, "
          f"{len(report.kept) if not report.dry_run else 0} left in their queue.")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from stacksets.access import AccessError, hub_session
    from stacksets.errors import RolloutError

    try:
        operator = aws_session(args, settings)
        spoke: list[SpokeQueue] = []
        problems: list[str] = []
        if not args.queue and not args.hub_only:
            try:
                spoke, problems = spoke_queues(operator, settings, args.call_as or settings.rollout.call_as)
            except RolloutError as error:
                raise UserError(f"cannot find the spokes' dead-letter queues: {error} (pass --hub-only to redrive "
                                "the hub's queues alone)") from error
        session = hub_session(operator, settings)
        report = redrive(session, settings, list(args.queue), dry_run=args.dry_run, spoke=spoke)
        report.problems = problems
    except (UserError, AccessError) as error:
        return fail(args, str(error))
    except (ClientError, BotoCoreError) as error:
        return fail(args, explain_aws_error(error))
    print_report(report, args.json)
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    if report.kept and not report.dry_run:
        print("Some messages are still in their queue (see the notes); fix the cause and run redrive again.",
              file=sys.stderr)
    return 1 if (report.kept and not report.dry_run) or report.problems else 0
