"""The reliability tests' hub and member accounts on in-process moto, every engine client wired through an
instrument (the reliability tier's fault ``Injector``).

The engine reaches members only through ``MemberSessions`` (AssumeRole), exactly as in Lambda; the test
reads and changes member state through its own, uninstrumented sessions, so its reads are neither
faulted nor counted. The hub is moto's default account (the static test credentials belong to it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3

from handlers.audit import AuditLog
from handlers.engine import Processed, Runtime, process
from handlers.notify import Notifier, Renderer
from handlers.registry import POLICIES_BY_ID
from handlers.sessions import RETRY_CONFIG, MemberSessions
from handlers.settings import Settings, validate

from .hub import Mail, MailBox, audit_keys, create_hub_resources
from .members import Member
from .moto_env import ACCESS_ROLE, HUB_ACCOUNT, HUB_REGION, MEMBER_REGION, TABLE_NAME, TOPIC_NAME, assume

MEMBER_ACCOUNT = "210987654321"
OTHER_MEMBER_ACCOUNT = "310987654321"

__all__ = ["HUB_REGION", "MEMBER_ACCOUNT", "MEMBER_REGION", "OTHER_MEMBER_ACCOUNT", "TABLE_NAME", "TOPIC_NAME",
           "Mail", "Member", "World", "build_world", "settings"]


class Instrument(Protocol):
    def attach(self, events: Any) -> None: ...


def settings(**sections: dict[str, Any]) -> Settings:
    raw: dict[str, Any] = {
        "organization": {"management_account": HUB_ACCOUNT, "hub_account": HUB_ACCOUNT, "hub_region": HUB_REGION,
                         "regions": [HUB_REGION, MEMBER_REGION]},
        **sections,
    }
    return validate(raw, "reliability test settings")


class InstrumentedMemberSessions(MemberSessions):
    """``MemberSessions`` whose member clients carry the injector's hooks (STS comes from the hub session)."""

    def __init__(self, base: boto3.Session, injector: Instrument, **kwargs: Any) -> None:
        super().__init__(base, **kwargs)
        self._injector = injector
        self._instrumented: set[int] = set()

    def client(self, account: str, region: str, service: str) -> Any:
        client = super().client(account, region, service)
        if id(client) not in self._instrumented:
            self._injector.attach(client.meta.events)
            self._instrumented.add(id(client))
        return client


@dataclass
class World:
    injector: Any  # the tier's Injector
    engine_session: boto3.Session  # the hub's credentials as the engine uses them (instrumented)
    admin: boto3.Session  # the test's view of the hub (not instrumented)
    topic_arn: str
    mail_queue: str
    members: dict[str, Member] = field(default_factory=dict)
    _mailbox: MailBox | None = field(default=None, repr=False)

    @property
    def member(self) -> Member:
        return self.members[MEMBER_ACCOUNT]

    def runtime(self, config: Settings | None = None, clock: Callable[[], float] = time.time,
                audit_clock: Callable[[], float] = time.time) -> Runtime:
        """The engine's runtime as Lambda builds it, every client hooked to the injector."""
        config = config or settings()
        dynamodb = self.engine_session.client("dynamodb", region_name=HUB_REGION, config=RETRY_CONFIG)
        sns = self.engine_session.client("sns", region_name=HUB_REGION, config=RETRY_CONFIG)
        return Runtime(
            settings=config,
            members=InstrumentedMemberSessions(self.engine_session, self.injector),
            audit=AuditLog(dynamodb, TABLE_NAME, config.hub.audit_retention_days, clock=audit_clock),
            notifier=Notifier(sns, self.topic_arn, Renderer(user_dir="")),
            clock=clock,
        )

    def deliver(self, payload: Any, policy_id: str, rt: Runtime) -> Processed | Exception:
        """One Lambda invocation: the result, or the exception that makes Lambda retry."""
        try:
            return process(payload, POLICIES_BY_ID[policy_id], rt)
        except Exception as error:
            return error

    def mail(self) -> list[Mail]:
        if self._mailbox is None:
            self._mailbox = MailBox(self.admin.client("sqs", region_name=HUB_REGION), self.mail_queue)
        return self._mailbox.mail()

    def audit(self) -> AuditLog:
        return AuditLog(self.admin.client("dynamodb", region_name=HUB_REGION), TABLE_NAME)

    def audit_keys(self) -> list[str]:
        return audit_keys(self.admin.client("dynamodb", region_name=HUB_REGION))

    def add_member(self, account: str, region: str = MEMBER_REGION) -> Member:
        session = assume(self.admin, account, ACCESS_ROLE, region, session_name="reliability-test")
        member = Member(account, region, "", session)
        self.members[account] = member
        return member


def build_world(injector: Instrument) -> World:
    """Call inside ``moto_env.moto``: the hub's table, topic and mail queue, and the first member."""
    admin = boto3.Session(region_name=HUB_REGION)
    topic_arn, queue_url = create_hub_resources(admin)
    engine_session = boto3.Session(region_name=HUB_REGION)
    injector.attach(engine_session.events)
    world = World(injector, engine_session, admin, topic_arn, queue_url)
    world.add_member(MEMBER_ACCOUNT)
    return world
