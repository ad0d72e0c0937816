"""``deploy.py redrive``: replay dead-lettered events through the handlers, after the cause is fixed.

Reads the hub's dead-letter queues (the stack's ``DlqUrl*`` outputs, or ``--queue NAME_OR_URL``) and, unless
``--queue`` or ``--hub-only`` is given, every spoke's ``orgguard-forward-dlq`` (each member account and region
with a regional spoke instance, read through ``rollout.member_access_role``; the events the spoke rules could
not hand to the hub bus, e.g. while the forwarder role was missing). A rule target's DLQ holds the
EventBridge event itself; a Lambda on-failure destination holds a record whose ``requestPayload`` is the
event. A spoke queue's message whose event names another account than the queue's is left where it is: the
spoke only forwards its own account's events. Each event is routed by the registry
(``handlers.registry.policies_for``: to every guardrail that names it, as the hub's rules do; a Lambda failure
record to the function's own) and run through ``handlers.engine.process`` in this process, with a runtime built
from the hub's audit table
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
import dataclasses
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from commands.common import UserError, aws_session, explain_aws_error, fail, print_table
from handlers import outcome as oc
from handlers.audit import DONE, AuditLog, InFlight, event_key
from handlers.canary import handle_canary
from handlers.contract import CANARY_SOURCE, HUB_DLQ_OUTPUT_PREFIX
from handlers.engine import Processed, Runtime, process
from handlers.errors import error_code, is_transient
from handlers.events import MalformedEvent, parse
from handlers.guardrails.base import Guardrail
from handlers.modes import report_only
from handlers.registry import guardrails, policies_for, record_key_suffix
from handlers.runtime import build_runtime as build_hub_runtime
from handlers.sessions import RETRY_CONFIG, MemberSessions, partition_of
from handlers.settings import Settings
from stacksets.spoke_state import SpokeQueue

HELP = "replay dead-lettered events through the handlers, idempotently"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
SESSION_NAME = "orgguard-redrive"
# Long enough to replay a batch of ten; messages not deleted are made visible again at the end anyway.
VISIBILITY_SECONDS = 300
BATCH = 10
EMPTY_RECEIVES_BEFORE_DONE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", action="append", metavar="NAME_OR_URL", default=[],
                        help="a hub queue to redrive (repeatable; default: every dead-letter queue of the hub stack "
                             "and every spoke's)")
    parser.add_argument("--hub-only", action="store_true",
                        help="leave the spokes' dead-letter queues in the member accounts alone")
    parser.add_argument("--call-as", choices=("SELF", "DELEGATED_ADMIN"),
                        help="how to list the spoke's stack instances (default: rollout.call_as)")


@dataclass
class Replay:
    """One message and what became of it."""

    queue: str
    message_id: str
    kind: str  # "event", "lambda-failure" (on-failure record), "canary", or "unknown"
    policy: str = ""
    event_id: str = ""
    account: str = ""
    outcome: str = ""
    deleted: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class RedriveReport:
    queues: list[str] = field(default_factory=list)
    replays: list[Replay] = field(default_factory=list)
    dry_run: bool = False
    problems: list[str] = field(default_factory=list)  # queues that could not be read

    @property
    def kept(self) -> list[Replay]:
        return [r for r in self.replays if not r.deleted]

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "queues": self.queues, "messages": [r.to_dict() for r in self.replays],
                "deleted": sum(r.deleted for r in self.replays), "kept": len(self.kept), "problems": self.problems}


# --- messages -> events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unwrapped:
    kind: str
    payload: Any
    function_arn: str = ""


def unwrap(body: str) -> Unwrapped:
    """The event inside a dead-letter message: the body itself, or a Lambda failure record's payload."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return Unwrapped("unknown", body)
    if isinstance(document, dict) and "requestPayload" in document and "requestContext" in document:
        context = document.get("requestContext") or {}
        return Unwrapped("lambda-failure", document["requestPayload"], str(context.get("functionArn", "")))
    if isinstance(document, dict) and document.get("source") == CANARY_SOURCE:
        return Unwrapped("canary", document)
    return Unwrapped("event", document)


def route(unwrapped: Unwrapped) -> tuple[Guardrail, ...]:
    """The guardrails the hub's rules would have delivered the event to (the registry decides, as for the rules:
    one rule per guardrail, so a CreateBucket reaches two); for a Lambda failure record, only the guardrail of
    the function that failed (the others had their own delivery)."""
    function = unwrapped.function_arn.split(":function:", 1)[-1].split(":", 1)[0]
    owner = next((p for p in guardrails() if function and function.endswith(p.id)), None)
    payload = unwrapped.payload
    detail = payload.get("detail", payload) if isinstance(payload, dict) else None
    routed = policies_for(str(detail.get("eventSource", "")), str(detail.get("eventName", ""))) \
        if isinstance(detail, dict) else ()
    if owner is not None and (owner in routed or not routed):
        return (owner,)
    return routed


# --- the runtime ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubResources:
    table: str
    topic_arn: str
    queues: list[str]  # queue URLs


def stack_outputs(session: boto3.Session, settings: Settings) -> dict[str, str]:
    cloudformation = session.client("cloudformation", region_name=settings.organization.hub_region)
    stack = cloudformation.describe_stacks(StackName=settings.hub.stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def hub_resources(session: boto3.Session, settings: Settings, queues: list[str]) -> HubResources:
    """Table, topic and queues: from the hub stack's outputs, or, when queues are named, from the settings."""
    org = settings.organization
    try:
        outputs = stack_outputs(session, settings)
    except ClientError as error:
        if not queues:
            raise UserError(f"cannot read the hub stack {settings.hub.stack_name} in {org.hub_account} "
                            f"{org.hub_region} to find its dead-letter queues ({explain_aws_error(error)}); "
                            "deploy the hub, or name the queues with --queue") from error
        outputs = {}
    table = outputs.get("TableName", settings.hub.table_name)
    topic = outputs.get("TopicArn") or (f"arn:{partition_of(org.hub_region)}:sns:{org.hub_region}:"
                                        f"{org.hub_account}:{settings.hub.topic_name}")
    sqs = session.client("sqs", region_name=org.hub_region)
    urls = [queue_url(sqs, q) for q in queues] if queues else sorted(
        v for k, v in outputs.items() if k.startswith(HUB_DLQ_OUTPUT_PREFIX))
    return HubResources(table, topic, urls)


def queue_url(sqs: Any, name_or_url: str) -> str:
    if name_or_url.startswith(("https://", "http://")):
        return name_or_url
    try:
        return str(sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"])
    except ClientError as error:
        raise UserError(f"--queue {name_or_url!r}: no such queue in the hub account ({error_code(error)})") from error


def build_runtime(session: boto3.Session, settings: Settings, hub: HubResources, dry_run: bool,
                  members: MemberSessions | None = None) -> Runtime:
    """The engine's runtime as the hub's functions have it; a dry run reports only and records nothing."""
    region = settings.organization.hub_region
    if dry_run:
        return build_hub_runtime(report_only(settings), session, region=region, table=hub.table, audit=False,
                                     session_name=SESSION_NAME, members=members)
    return build_hub_runtime(settings, session, region=region, table=hub.table, topic=hub.topic_arn,
                                 session_name=SESSION_NAME, members=members)


# --- replaying -----------------------------------------------------------------------------------------------


def receive_all(sqs: Any, url: str) -> Iterator[dict[str, Any]]:
    """Every message in the queue once: received messages stay invisible until the end of the run."""
    empty = 0
    while empty < EMPTY_RECEIVES_BEFORE_DONE:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=0,
                                    VisibilityTimeout=VISIBILITY_SECONDS, AttributeNames=["All"],
                                    MessageAttributeNames=["All"]).get("Messages", [])
        empty = 0 if batch else empty + 1
        yield from batch


def replay_one(unwrapped: Unwrapped, rt: Runtime, audit: AuditLog, dry_run: bool, replay: Replay) -> bool:
    """Replay one event; True when it ended in an outcome (the message may go)."""
    if unwrapped.kind == "canary":
        detail = unwrapped.payload.get("detail")
        replay.account = str(detail.get("account", "")) if isinstance(detail, dict) else ""
        if dry_run:
            replay.outcome, replay.note = "canary", "would check the role again"
        else:
            replay.outcome = str(handle_canary(unwrapped.payload, rt.members, audit,
                                                rt.settings.policies.s3_encryption).get("outcome", ""))
        return True
    policies = route(unwrapped)
    if not policies:
        replay.note = "not an event any guardrail handles (a reconcile work item? run `deploy.py sweep`): left"
        return False
    replay.policy = ", ".join(p.id for p in policies)
    if dry_run and all(_already_done(unwrapped.payload, p, audit, replay) for p in policies):
        return True
    processed = [process(unwrapped.payload, policy, rt) for policy in policies]
    _record(processed[0], replay)
    if len(processed) > 1:
        replay.outcome = ", ".join(f"{p.policy}: {p.outcome}" for p in processed)
    return True


def _already_done(payload: Any, policy: Guardrail, audit: AuditLog, replay: Replay) -> bool:
    """In a dry run nothing is claimed, so ask the audit table whether the event was handled already."""
    try:
        event = parse(payload)
    except MalformedEvent:
        return False
    item = audit.get(event_key(event.event_id, record_key_suffix(policy, event.event_source, event.event_name)))
    if item and item.get("state") == DONE:
        replay.event_id, replay.account = event.event_id, event.account
        replay.outcome, replay.note = oc.skipped("duplicate"), f"already handled: {item.get('outcome', '')}"
        return True
    return False


def _record(processed: Processed, replay: Replay) -> None:
    replay.event_id, replay.account, replay.outcome = processed.event_id, processed.account, processed.outcome
    if processed.duplicate:
        replay.note = "already handled"
    elif processed.actions:
        replay.note = ", ".join(str(a.get("action", "")) for a in processed.actions)


def _make_visible(sqs: Any, url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), BATCH):
        entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                   for i, h in enumerate(handles[start:start + BATCH])]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


def _claimed_account(unwrapped: Unwrapped) -> str | None:
    """The member account an event says it comes from (None when it cannot be read)."""
    payload = unwrapped.payload
    if unwrapped.kind == "canary":
        detail = payload.get("detail") if isinstance(payload, dict) else None
        return str(detail.get("account", "")) if isinstance(detail, dict) else None
    try:
        return parse(payload).account
    except MalformedEvent:
        return None


@dataclass(frozen=True)
class Source:
    """A queue to drain: its label on the report, a client in its account, and the account it belongs to
    ("" for the hub's own queues)."""

    name: str
    sqs: Any
    url: str
    account: str = ""


def _drain(source: Source, rt: Runtime, audit: AuditLog, dry_run: bool, report: RedriveReport) -> None:
    sqs, url = source.sqs, source.url
    kept: list[str] = []
    for message in receive_all(sqs, url):
        unwrapped = unwrap(message["Body"])
        replay = Replay(source.name, message["MessageId"], unwrapped.kind)
        report.replays.append(replay)
        claimed = _claimed_account(unwrapped) if source.account else None
        if source.account and claimed not in (None, source.account):
            replay.account = claimed or ""
            replay.note = f"names account {claimed} but sits in {source.account}'s spoke queue: left, look at it"
            kept.append(message["ReceiptHandle"])
            continue
        try:
            done = replay_one(unwrapped, rt, audit, dry_run, replay)
        except InFlight as error:
            done, replay.note = False, f"still claimed by an earlier attempt; try again later ({error})"
        except Exception as error:  # the message stays; the reason is on the report
            done = False
            kind = "transient" if is_transient(error) else "unexpected"
            replay.note = f"{kind} error, left in the queue: {error_code(error)}: {str(error)[:200]}"
        if done and not dry_run:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            replay.deleted = True
        else:
            kept.append(message["ReceiptHandle"])
    _make_visible(sqs, url, kept)


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
        _drain(source, rt, audit, dry_run, report)
    return report


def spoke_queues(operator: boto3.Session, settings: Settings, call_as: str) -> tuple[list[SpokeQueue], list[str]]:
    """Every spoke dead-letter queue, and why an account's could not be read."""
    from stacksets.spoke_state import inspect_spokes, spoke_locations

    state = inspect_spokes(operator, settings, spoke_locations(operator, settings, call_as), queues_only=True)
    problems = [f"account {account}: its spoke dead-letter queues were not read: {why}"
                for account, why in sorted(state.unreachable.items())]
    return [q for q in state.queues if q.url], problems


# --- the command ----------------------------------------------------------------------------------------------


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
