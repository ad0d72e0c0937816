"""``orgguard redrive``'s queues: the hub's (from its stack's outputs, or named) and the spokes', each drained once
with a progress bar: every message received, replayed, deleted once it ended in an outcome, the rest made
visible again at the end."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from commands.common import UserError, explain_aws_error
from commands.redrive_messages import RedriveReport, Replay, claimed_account, replay_one, unwrap
from handlers.audit import AuditLog, InFlight
from handlers.contract import HUB_DLQ_OUTPUT_PREFIX
from handlers.engine import Runtime
from handlers.errors import error_code, is_transient
from handlers.sessions import partition_of
from handlers.settings import Settings
from stacksets.progress import ProgressBar
from stacksets.spoke_state import SpokeQueue

# Long enough to replay a batch of ten; messages not deleted are made visible again at the end anyway.
VISIBILITY_SECONDS = 300
BATCH = 10
EMPTY_RECEIVES_BEFORE_DONE = 2


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


def receive_all(sqs: Any, url: str) -> Iterator[dict[str, Any]]:
    """Every message in the queue once: received messages stay invisible until the end of the run."""
    empty = 0
    while empty < EMPTY_RECEIVES_BEFORE_DONE:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=0,
                                    VisibilityTimeout=VISIBILITY_SECONDS, AttributeNames=["All"],
                                    MessageAttributeNames=["All"]).get("Messages", [])
        empty = 0 if batch else empty + 1
        yield from batch


def make_visible(sqs: Any, url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), BATCH):
        entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                   for i, h in enumerate(handles[start:start + BATCH])]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


@dataclass(frozen=True)
class Source:
    """A queue to drain: its label on the report, a client in its account, and the account it belongs to
    ("" for the hub's own queues)."""

    name: str
    sqs: Any
    url: str
    account: str = ""


def queue_depth(sqs: Any, url: str) -> int | None:
    """How many messages the queue holds (SQS's approximate count), or None when it cannot be read."""
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
    except (BotoCoreError, ClientError, ValueError):
        return None


def _replay_message(source: Source, message: dict[str, Any], rt: Runtime, audit: AuditLog, dry_run: bool,
                    report: RedriveReport) -> bool:
    """Replay one message onto the report; True when it may be deleted (it ended in an outcome)."""
    unwrapped = unwrap(message["Body"])
    replay = Replay(source.name, message["MessageId"], unwrapped.kind)
    report.replays.append(replay)
    claimed = claimed_account(unwrapped) if source.account else None
    if source.account and claimed not in (None, source.account):
        replay.account = claimed or ""
        replay.note = f"names account {claimed} but sits in {source.account}'s spoke queue: left, look at it"
        return False
    try:
        return replay_one(unwrapped, rt, audit, dry_run, replay)
    except InFlight as error:
        replay.note = f"still claimed by an earlier attempt; try again later ({error})"
    except Exception as error:  # the message stays; the reason is on the report
        kind = "transient" if is_transient(error) else "unexpected"
        replay.note = f"{kind} error, left in the queue: {error_code(error)}: {str(error)[:200]}"
    return False


def drain(source: Source, rt: Runtime, audit: AuditLog, dry_run: bool, report: RedriveReport,
          stream: TextIO | None = None) -> None:
    """Replay every message of one queue, with a progress bar (counts and ETA) on ``stream`` (stderr)."""
    sqs, url = source.sqs, source.url
    depth = queue_depth(sqs, url)
    bar = ProgressBar(f"redrive {source.name}", stream if stream is not None else sys.stderr)
    kept: list[str] = []
    done = 0
    for message in receive_all(sqs, url):
        if _replay_message(source, message, rt, audit, dry_run, report) and not dry_run:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            report.replays[-1].deleted = True
        else:
            kept.append(message["ReceiptHandle"])
        done += 1
        bar.update(done, max(depth or 0, done), f"{len(kept)} kept" if kept else "")
    make_visible(sqs, url, kept)
    bar.finish(f"{done} message(s), {done - len(kept)} deleted, {len(kept)} kept" if done else "empty")


def spoke_queues(operator: boto3.Session, settings: Settings, call_as: str) -> tuple[list[SpokeQueue], list[str]]:
    """Every spoke dead-letter queue, and why an account's could not be read."""
    from stacksets.spoke_state import inspect_spokes, spoke_locations

    state = inspect_spokes(operator, settings, spoke_locations(operator, settings, call_as), queues_only=True)
    problems = [f"account {account}: its spoke dead-letter queues were not read: {why}"
                for account, why in sorted(state.unreachable.items())]
    return [q for q in state.queues if q.url], problems
