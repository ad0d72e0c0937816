"""The runtime: settings, member sessions, audit log and notifier, built in one place.

Six callers (the guardrail Lambdas, the reconcile worker, the canary, ``sweep``, ``redrive`` and ``replay``)
each used to assemble these parts themselves, and the assemblies drifted (retention, lease, client config).
They now all call ``build_runtime``; what differs between them is a named argument, not a copy.
A warm Lambda keeps its runtime in a ``RuntimeHolder``, which tests reset explicitly.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import boto3
from botocore.config import Config

from handlers.admin_groups import AdminGroupFinder
from handlers.audit import AuditLog, lease_for
from handlers.contract import ENV_AUDIT_TABLE, ENV_TOPIC_ARN
from handlers.notify import Notifier
from handlers.sessions import RETRY_CONFIG, SESSION_NAME, MemberSessions
from handlers.settings import Settings, from_environment

log = logging.getLogger("orgguard")


@dataclass
class Runtime:
    """What handling events (or sweeping) needs besides the event: everything with a connection or a cache.

    ``audit`` and ``notifier`` are ``None`` where there is none (a dry run, a hub without a topic).
    ``admin_groups`` caches VPC admin groups for as long as the runtime lives (a warm Lambda, one command).
    """

    settings: Settings
    members: MemberSessions
    audit: AuditLog | None
    notifier: Notifier | None
    clock: Callable[[], float] = time.time
    account_name_lookup: Callable[[str], str] | None = None
    admin_groups: AdminGroupFinder = field(default_factory=AdminGroupFinder)
    region: str = ""  # the hub region the audit table and topic are in
    dynamodb: Any = None  # the audit table's client, for batch writes (sweep, reconcile)
    _names: dict[str, str] = field(default_factory=dict)

    def account_name(self, account: str) -> str:
        if account not in self._names:
            name = self.settings.account_name(account)
            if not name and self.account_name_lookup is not None:
                try:
                    name = self.account_name_lookup(account)
                except Exception as error:  # the name is a courtesy; never fail an event for it
                    log.info("account name lookup failed for %s: %s", account, error)
                    name = ""
            self._names[account] = name
        return self._names[account]


def organizations_name_lookup(session: boto3.Session, region: str,
                              config: Config = RETRY_CONFIG) -> Callable[[str], str]:
    """Account names from AWS Organizations, for accounts the settings do not name."""
    orgs = session.client("organizations", region_name=region, config=config)

    def lookup(account: str) -> str:
        return str(orgs.describe_account(AccountId=account)["Account"].get("Name", ""))

    return lookup


def build_runtime(settings: Settings, session: boto3.Session, *, region: str = "", table: str = "",
                  topic: str = "", audit: bool = True, client_config: Config = RETRY_CONFIG,
                  table_config: Config | None = None, session_name: str = SESSION_NAME,
                  members: MemberSessions | None = None, notifier: Notifier | None = None,
                  account_name_lookup: Callable[[str], str] | None = None,
                  clock: Callable[[], float] = time.time) -> Runtime:
    """The one assembly of a runtime on the hub's ``session``.

    ``client_config`` is for the topic's client, ``table_config`` (default the same) for the table's.
    ``region`` defaults to the session's region, then the hub region; ``table`` to the settings' table.
    No ``topic`` (and no ``notifier`` given) means no notifier; ``audit=False`` means no audit log (a dry run).
    The claim lease follows the guardrail functions' timeout from the settings, as the hub stack sets it, so
    a claim is taken the same way in Lambda, the sandbox, replay and redrive.
    """
    region = region or session.region_name or settings.organization.hub_region
    dynamodb = session.client("dynamodb", region_name=region, config=table_config or client_config)
    audit_log = AuditLog(dynamodb, table or settings.hub.table_name, settings.hub.audit_retention_days, clock,
                         lease_seconds=lease_for(settings.hub.lambda_timeout_seconds)) if audit else None
    if notifier is None and topic:
        notifier = Notifier(session.client("sns", region_name=region, config=client_config), topic)
    return Runtime(settings, members or MemberSessions(session, session_name=session_name), audit_log, notifier,
                   clock=clock, account_name_lookup=account_name_lookup, region=region, dynamodb=dynamodb)


def runtime_from_environment(*, session_name: str = SESSION_NAME, table_config: Config | None = None,
                             notify: bool = True, account_names: bool = False,
                             session: boto3.Session | None = None) -> Runtime:
    """A Lambda's runtime: settings, table and topic from the function's environment, on the function's role
    (``session``, by default a new one)."""
    settings = from_environment()
    session = session or boto3.Session()
    region = session.region_name or settings.organization.hub_region
    lookup = organizations_name_lookup(session, region) if account_names else None
    return build_runtime(settings, session, region=region, table=os.environ.get(ENV_AUDIT_TABLE, ""),
                         topic=os.environ.get(ENV_TOPIC_ARN, "") if notify else "", table_config=table_config,
                         session_name=session_name, account_name_lookup=lookup)


T = TypeVar("T")


class RuntimeHolder(Generic[T]):
    """A warm Lambda's runtime: built by ``build`` on first use, then reused by every invocation.

    An object rather than a module global that callers overwrite: tests (and the sandbox's Lambda runner)
    start a cold function with ``reset()``.
    """

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._runtime: T | None = None

    def get(self) -> T:
        if self._runtime is None:
            self._runtime = self._build()
        return self._runtime

    def reset(self) -> None:
        self._runtime = None
