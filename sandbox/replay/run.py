"""Replay one event on the embedded AWS: forwarding decision, seeded member state, the real engine, enforcing.

The forwarding decision is the spoke's: an event from a region outside ``organization.regions`` has no
spoke to forward it (the StackSet deploys none there); elsewhere the spoke rule's pattern decides.

Each forwarded event runs in a fresh embedded AWS (moto reset): an organization holding the event's
account, the hub's audit table and topic in the hub account, and the member state the call left. So
every event is judged on its own: an event id seen earlier in the input (common in published samples)
is not mistaken for a duplicate delivery, and one event's bucket does not leak into the next.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from handlers import outcome as oc
from handlers.cloudtrail_fields import text as _text
from handlers.contract import HUB_HANDLER_ROLE_NAME, TABLE_PARTITION_KEY
from handlers.engine import Processed, Runtime, process
from handlers.errors import error_code
from handlers.events import MalformedEvent, parse
from handlers.notify import Notifier
from handlers.registry import (
    CLOUDTRAIL_DETAIL_TYPE,
    REMEDIATION_ROLE_NAME,
    governed_sources,
    policies_for,
)
from handlers.runtime import build_runtime
from handlers.settings import Settings, validate
from sandbox.aws.server import EmbeddedAws
from sandbox.replay.forwarding import envelope_for, record_account, spoke_forwards
from sandbox.replay.org import (
    ACCESS_ROLE,
    account_name_lookup,
    build_organization,
    forget_memberships,
    role_session,
)
from sandbox.replay.roles import create_handler_role, create_spoke_roles
from sandbox.replay.seed import SeedError, seed
from sandbox.world.lambda_runner import LAMBDA_SERVICE


@contextmanager
def without_default_amis() -> Iterator[None]:
    """moto loads ~1,300 public AMIs into every EC2 account+region it creates; replay needs none of them
    (it does not validate image ids) and creates a fresh EC2 backend for every event."""
    saved = os.environ.get("MOTO_EC2_LOAD_DEFAULT_AMIS")
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MOTO_EC2_LOAD_DEFAULT_AMIS", None)
        else:
            os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = saved


def enforcing(settings: Settings) -> Settings:
    """The same settings with every policy in ``enforce`` mode (replay shows what enforcement would do)."""
    raw = settings.to_dict()
    for policy in raw["policies"].values():
        policy["mode"] = "enforce"
    return validate(raw, "settings with every policy enforcing", with_defaults=False)


class RecordingNotifier(Notifier):
    """Publishes to the hub topic like the real one, and keeps what it sent so replay can show it."""

    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        super().__init__(sns_client, topic_arn)
        self.sent: list[tuple[str, str]] = []

    def publish(self, subject: str, body: str, attributes: dict[str, dict[str, str]]) -> str:
        message_id = super().publish(subject, body, attributes)
        self.sent.append((subject, body))
        return message_id


@dataclass
class Replayed:
    origin: str
    record: dict[str, Any]  # the per-event JSON object of `orgguard replay --json`
    notification: tuple[str, str] | None = None  # (subject, body) of the e-mail, when one was sent
    error: str = ""  # replay itself could not run the event (the embedded AWS refused the seed)
    notifications: list[tuple[str, str]] = field(default_factory=list)  # every e-mail, one per guardrail at most


@dataclass
class _World:
    runtime: Runtime
    notifier: RecordingNotifier
    management: Any
    notes: list[str] = field(default_factory=list)


def _detail(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope's ``detail`` when it is an object, else an empty one: replayed input may be malformed."""
    detail = envelope.get("detail")
    return detail if isinstance(detail, dict) else {}


def why_not_forwarded(envelope: dict[str, Any]) -> str:
    """A readable reason for the spoke pattern's ``no`` (the decision itself is the pattern's)."""
    detail = _detail(envelope)
    source, name = _text(detail.get("eventSource")), _text(detail.get("eventName"))
    if envelope.get("detail-type") != CLOUDTRAIL_DETAIL_TYPE:
        return f"not an {CLOUDTRAIL_DETAIL_TYPE!r} event"
    if "errorCode" in detail:
        return f"the call failed ({str(detail['errorCode'])[:80] or 'errorCode present'})"
    if source not in governed_sources():
        return f"event source {source or '(none)'} is not governed"
    if not policies_for(source, name):
        return f"no policy reacts to {name or '(no eventName)'} from {source}"
    return f"made by OrgGuard's own {REMEDIATION_ROLE_NAME} role (loop guard)"


class Replayer:
    def __init__(self, aws: EmbeddedAws, settings: Settings) -> None:
        self.aws = aws
        self.settings = enforcing(settings)

    def close(self) -> None:
        """Leave the embedded AWS as found: no accounts, organizations or resources of the last event."""
        self.aws.reset()
        forget_memberships()

    def replay(self, origin: str, payload: dict[str, Any]) -> Replayed:
        envelope = envelope_for(payload)
        detail = _detail(envelope)
        record: dict[str, Any] = {
            "event_id": _text(detail.get("eventID")) or _text(envelope.get("id")),
            "event_name": _text(detail.get("eventName")),
            "account": record_account(detail) or _text(envelope.get("account")),
            "region": _text(detail.get("awsRegion")) or _text(envelope.get("region")),
            "forwarded": False, "policy": None, "outcome": oc.IGNORED, "actions": [], "notified": False,
        }
        governed = self.settings.organization.regions
        if record["region"] not in governed:  # the StackSet puts spokes in the governed regions only
            record["note"] = (f"not forwarded: no spoke in {record['region'] or '(no region)'} "
                              f"(organization.regions: {', '.join(governed)})")
            return Replayed(origin, record)
        if not spoke_forwards(envelope):
            record["note"] = f"not forwarded: {why_not_forwarded(envelope)}"
            return Replayed(origin, record)
        record["forwarded"] = True
        policies = policies_for(_text(detail.get("eventSource")), _text(detail.get("eventName")))
        if not policies:
            record["note"] = ("the spoke pattern forwards it, but no hub rule takes "
                              f"{detail.get('eventSource')} {detail.get('eventName')}")
            return Replayed(origin, record)
        record["policy"] = policies[0].id
        notes: list[str] = []
        try:
            event = parse(envelope)
        except MalformedEvent:
            event = None
        try:
            world = self._fresh_world(event.account if event else None)
            notes += world.notes
            if event is not None:
                member = self.member_admin(world.management, event.account, event.region)
                seeded = seed(member, event, self.settings)
                # The seeded resources stand for what the call created at the event's time, usually long ago:
                # EC2's consistency window is over for them (the handler judges freshness by eventTime, so an
                # unseen instance of an old event would read as gone). Replay shows decisions, not timing.
                self.aws.parts.settle()
                notes += seeded.notes
                envelope = {**envelope, "detail": seeded.detail}
        except Exception as error:  # a seeding failure ends this event only; the others still run
            reason = str(error) if isinstance(error, SeedError) else (
                f"replay could not seed the event: {type(error).__name__}: {error}")
            record["outcome"] = oc.failed("replay-seed")
            record["note"] = "; ".join([*notes, reason])
            return Replayed(origin, record, error=reason)
        try:  # each guardrail that names the call has its own hub rule and Lambda: each gets the event
            processed = [process(envelope, policy, world.runtime) for policy in policies]
        except Exception as error:  # the engine raises only what Lambda would retry
            record["outcome"] = oc.failed(error_code(error))
            record["note"] = "; ".join([*notes, f"the handler raised (Lambda would retry): {error}"])
            return Replayed(origin, record, error=f"the handler raised: {error}")
        self._fill(record, processed[0], notes)
        if len(processed) > 1:  # the first guardrail's result stays at the top, as for a one-guardrail event
            record["guardrails"] = [{"policy": p.policy, "outcome": p.outcome, "actions": p.actions,
                                     "notified": p.notified} for p in processed]
        sent = list(world.notifier.sent)
        return Replayed(origin, record, sent[0] if processed[0].notified and sent else None, notifications=sent)

    @staticmethod
    def member_admin(management: Any, account: str, region: str) -> Any:
        """The organization's administrator in ``account`` (the management account is its own)."""
        own = management.client("sts").get_caller_identity()["Account"]
        return management if account == own else role_session(management, account, ACCESS_ROLE, region)

    @staticmethod
    def _fill(record: dict[str, Any], processed: Processed, notes: list[str]) -> None:
        record["event_id"] = record["event_id"] or processed.event_id  # a rejected event's key is a hash
        record["account"] = processed.account or record["account"]
        record["region"] = processed.region or record["region"]
        record["outcome"] = processed.outcome
        record["actions"] = processed.actions
        record["notified"] = processed.notified
        if processed.reason:
            notes.append(processed.reason)
        if notes:
            record["note"] = "; ".join(notes)

    def _fresh_world(self, member: str | None) -> _World:
        """The organization, the hub's table, topic and handler role, and the member's spoke roles; the engine
        runs as the hub Lambdas do (the handler role, assumed by Lambda)."""
        self.aws.reset()
        forget_memberships()
        org = self.settings.organization
        region = org.hub_region
        management = self.aws.root_session(org.management_account, region)
        members = {org.hub_account: self.settings.account_name(org.hub_account) or "orgguard-hub"}
        if member:
            members[member] = self.settings.account_name(member) or "replayed-member"
        notes = build_organization(management, members)
        organization_id = management.client("organizations").describe_organization()["Organization"]["Id"]
        hub_admin = role_session(management, org.hub_account, ACCESS_ROLE, region)
        create_handler_role(hub_admin, self.settings, organization_id)
        if member:
            create_spoke_roles(self.member_admin(management, member, org.spoke_home_region), self.settings)
        lambda_service = self.aws.service_session(LAMBDA_SERVICE, org.hub_account, region=region)
        hub = role_session(lambda_service, org.hub_account, HUB_HANDLER_ROLE_NAME, region, "orgguard")
        table = self.settings.hub.table_name
        key = TABLE_PARTITION_KEY
        hub_admin.client("dynamodb", region_name=region).create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}])
        topic = hub_admin.client("sns", region_name=region).create_topic(Name=self.settings.hub.topic_name)
        notifier = RecordingNotifier(hub.client("sns", region_name=region), topic["TopicArn"])
        runtime = build_runtime(self.settings, hub, region=region, table=table, notifier=notifier,
                                account_name_lookup=account_name_lookup(management))
        return _World(runtime, notifier, management, notes)
