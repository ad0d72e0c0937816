"""The spokes as they are inside the member accounts: their dead-letter queues, and whether anyone changed them.

Read through the member access role (``rollout.member_access_role``, the role onboarding uses), one account
at a time, a few accounts at once. Per account and region: the forward and canary rules (enabled, exactly
one target, the hub bus through the account's forwarder role), the dead-letter queue and its depth, the
queue's alarm and its state; per account: the forwarder role, and ``OrgGuardRemediation`` with the trust
the global template renders. ``orgguard status`` reports what differs as tampering; ``orgguard redrive``
uses the queues.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import boto3
from botocore.exceptions import ClientError

from handlers.contract import CANARY_RULE_NAME, FORWARD_DLQ_ALARM_NAME, FORWARD_DLQ_NAME
from handlers.registry import FORWARD_RULE_NAME, FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from spoke.render import forwarder_role_arn, hub_bus_arn, remediation_trust_policy
from stacksets.access import AccessError, AccountSessions, client, error_code, error_message, member_access_role
from stacksets.checks import Check, check_remediation_trust, check_role_exists, check_rule

MISSING = "missing"
UNREAD = "unread"
WORKERS = 8


@dataclass(frozen=True)
class SpokeQueue:
    account: str
    region: str
    url: str  # "" when the queue does not exist
    messages: int
    alarm: str  # the alarm's state (OK | ALARM | INSUFFICIENT_DATA), MISSING or UNREAD
    session: boto3.Session | None = field(default=None, compare=False, repr=False)  # in the member account

    @property
    def name(self) -> str:
        return f"{self.account}/{self.region}/{FORWARD_DLQ_NAME}"


@dataclass(frozen=True)
class Tampering:
    account: str
    region: str  # "" for the account-wide roles
    what: str  # "rule orgguard-forward", "role OrgGuardRemediation", "queue ...", "alarm ..."
    detail: str


@dataclass
class SpokeState:
    queues: list[SpokeQueue] = field(default_factory=list)
    tampering: list[Tampering] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # account -> why


def _queue(member: boto3.Session, account: str, region: str) -> tuple[SpokeQueue, list[Tampering]]:
    sqs, cloudwatch = client(member, "sqs", region), client(member, "cloudwatch", region)
    found: list[Tampering] = []
    url, messages = "", 0
    try:
        url = str(sqs.get_queue_url(QueueName=FORWARD_DLQ_NAME)["QueueUrl"])
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        messages = int(attributes.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
    except ClientError as error:
        gone = error_code(error) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
        found.append(Tampering(account, region, f"queue {FORWARD_DLQ_NAME}",
                               "not found: forwarded events that fail are lost" if gone
                               else f"cannot read it: {error_message(error)}"))
    try:
        alarms = cloudwatch.describe_alarms(AlarmNames=[FORWARD_DLQ_ALARM_NAME]).get("MetricAlarms", [])
        alarm = str(alarms[0].get("StateValue", "")) if alarms else MISSING
        if not alarms:
            found.append(Tampering(account, region, f"alarm {FORWARD_DLQ_ALARM_NAME}", "not found"))
    except ClientError as error:
        alarm = UNREAD
        found.append(Tampering(account, region, f"alarm {FORWARD_DLQ_ALARM_NAME}",
                               f"cannot read it: {error_message(error)}"))
    return SpokeQueue(account, region, url, messages, alarm, member), found


def _findings(account: str, checks: Sequence[Check]) -> list[Tampering]:
    return [Tampering(account, c.region, c.name, c.detail) for c in checks if not c.ok]


def _inspect_account(settings: Settings, sessions: AccountSessions, account: str, regions: Sequence[str],
                     queues_only: bool) -> tuple[list[SpokeQueue], list[Tampering], str]:
    try:
        member = sessions.get(account)
    except AccessError as error:
        return [], [], str(error)
    queues, found = [], []
    if not queues_only:
        home = settings.organization.spoke_home_region
        iam = client(member, "iam", home)
        found += _findings(account, [
            check_role_exists(iam, FORWARDER_ROLE_NAME, ""),
            check_remediation_trust(iam, REMEDIATION_ROLE_NAME, remediation_trust_policy(settings), ""),
        ])
    bus, forwarder = hub_bus_arn(settings), forwarder_role_arn(settings, account)
    for region in regions:
        if not queues_only:
            events = client(member, "events", region)
            found += _findings(account, [check_rule(events, rule, bus, region, forwarder)
                                         for rule in (FORWARD_RULE_NAME, CANARY_RULE_NAME)])
        queue, queue_findings = _queue(member, account, region)
        queues.append(queue)
        found += queue_findings
    return queues, found, ""


def inspect_spokes(session: boto3.Session, settings: Settings, where: Mapping[str, Sequence[str]],
                   queues_only: bool = False) -> SpokeState:
    """Every account of ``where`` (account -> the regions its regional spoke is in); ``queues_only`` skips
    the rules and roles (for the redrive)."""
    sessions = AccountSessions(session, member_access_role(settings), settings.organization.spoke_home_region)
    sessions.own_account  # noqa: B018 - resolved once here, not by every worker
    state = SpokeState()
    accounts = sorted(where)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = pool.map(lambda a: _inspect_account(settings, sessions, a, where[a], queues_only), accounts)
        for account, (queues, found, unreachable) in zip(accounts, results, strict=True):
            state.queues += queues
            state.tampering += found
            if unreachable:
                state.unreachable[account] = unreachable
    return state



def spoke_locations(session: boto3.Session, settings: Settings, call_as: str) -> dict[str, list[str]]:
    """Where regional spokes are: account -> regions, from the regional StackSet's instances and, with
    management-account credentials and ``include_management_account``, its plain stacks."""
    from stacksets import management_stack
    from stacksets.access import caller_account
    from stacksets.api import StackSetApi
    from stacksets.organization import management_account

    where: dict[str, list[str]] = {}
    for instance in StackSetApi(session, settings, call_as).instances():
        where.setdefault(instance.account, []).append(instance.region)
    caller = caller_account(session)
    if settings.organization.include_management_account and caller == management_account(session):
        stacks = management_stack.status(session, settings, settings.organization.regions)
        regions = [s.region for s in stacks if s.stack == settings.rollout.management_stack_name
                   and s.action == "present"]
        if regions:
            where[caller] = regions
    return where
