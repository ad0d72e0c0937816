"""``orgguard status``: every account of the organization by governed region, and the hub's view.

Per account and region: the regional stack instance's status, reason and drift status (or "no spoke"),
the depth of the spoke's dead-letter queue and its alarm's state; per account: the global instance (the
roles) and the last event the hub recorded for it (the audit table's by-account index); tampering found
inside the member accounts (``stacksets.spoke_state``); whether the service control policy is in place;
for the hub: the depth of the queues its stack lists as outputs. A hub that is not deployed yet, or an
account or hub the operator cannot reach, is said once and does not stop the report.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from handlers.contract import HUB_DLQ_OUTPUT_PREFIX, TABLE_ACCOUNT_INDEX, TABLE_ACCOUNT_INDEX_PARTITION
from handlers.settings import Settings
from stacksets import management_stack, protection
from stacksets.access import AccessError, caller_account, client, error_code, error_message, hub_session
from stacksets.api import StackSetApi
from stacksets.instance import Instance
from stacksets.organization import load_tree
from stacksets.parts import spoke_parts
from stacksets.spoke_state import Tampering, inspect_spokes

NO_SPOKE = "no spoke"
WORK_QUEUE_OUTPUTS = ("ReconcileQueueUrl",)  # hub queues that are not dead-letter queues but worth a look
LAST_EVENT_FIELDS = ("time", "kind", "policy", "outcome", "event_name", "region", "resource")


@dataclass(frozen=True)
class RegionStatus:
    region: str
    status: str
    detailed: str = ""
    reason: str = ""
    drift: str = ""
    dlq_messages: int | None = None  # None: not read
    alarm: str = ""


@dataclass
class AccountStatus:
    account: str
    name: str
    path: str
    status: str  # ACTIVE | SUSPENDED | ...
    spoke: str  # stackset | management stack | no spoke
    in_target_ous: bool
    regions: list[RegionStatus] = field(default_factory=list)  # the regional spoke
    roles: RegionStatus | None = None  # the global spoke (its home-region instance or plain stack)
    last_event: dict[str, Any] | None = None
    tampering: list[Tampering] = field(default_factory=list)


@dataclass(frozen=True)
class QueueDepth:
    name: str
    messages: int
    dead_letter: bool


@dataclass
class StatusReport:
    stackset: str
    stackset_exists: bool
    global_stackset: str = ""
    global_stackset_exists: bool = False
    accounts: list[AccountStatus] = field(default_factory=list)
    hub_deployed: bool | None = None  # None: could not tell
    queues: list[QueueDepth] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def tampering(self) -> list[Tampering]:
        return [t for a in self.accounts for t in a.tampering]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stackset": self.stackset,
            "stackset_exists": self.stackset_exists,
            "global_stackset": self.global_stackset,
            "global_stackset_exists": self.global_stackset_exists,
            "accounts": [asdict(a) for a in self.accounts],
            "tampering": [asdict(t) for t in self.tampering],
            "hub": {"deployed": self.hub_deployed, "queues": [asdict(q) for q in self.queues]},
            "notes": self.notes,
        }


def _last_event(dynamodb: Any, table: str, account: str) -> dict[str, Any] | None:
    response = dynamodb.query(
        TableName=table,
        IndexName=TABLE_ACCOUNT_INDEX,
        KeyConditionExpression="#account = :account",
        ExpressionAttributeNames={"#account": TABLE_ACCOUNT_INDEX_PARTITION},
        ExpressionAttributeValues={":account": {"S": account}},
        ScanIndexForward=False,
        Limit=1,
    )
    items = response.get("Items", [])
    if not items:
        return None
    deserializer = TypeDeserializer()
    item = {k: deserializer.deserialize(v) for k, v in items[0].items()}
    return {k: str(item[k]) for k in LAST_EVENT_FIELDS if k in item}


def _queue_depths(cloudformation: Any, sqs: Any, stack_name: str) -> list[QueueDepth]:
    """The hub's dead-letter queues, as its stack lists them (an output ``DlqUrl...`` each), and work queues."""
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    depths = []
    for output in stack.get("Outputs", []):
        key, url = str(output["OutputKey"]), str(output["OutputValue"])
        dead_letter = key.startswith(HUB_DLQ_OUTPUT_PREFIX)
        if not dead_letter and key not in WORK_QUEUE_OUTPUTS:
            continue
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        count = int(attributes.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
        depths.append(QueueDepth(url.rstrip("/").rsplit("/", 1)[-1], count, dead_letter))
    return sorted(depths, key=lambda q: q.name)


def _hub_view(session: boto3.Session, settings: Settings, accounts: list[AccountStatus], report: StatusReport) -> None:
    org, table = settings.organization, settings.hub.table_name
    try:
        hub = hub_session(session, settings)
    except AccessError as error:
        report.notes.append(f"hub not reachable, no last events or queue depths: {error}")
        return
    dynamodb = client(hub, "dynamodb", org.hub_region)
    try:
        dynamodb.describe_table(TableName=table)
        report.hub_deployed = True
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            report.hub_deployed = False
            report.notes.append(
                f"hub not deployed: no audit table {table} in {org.hub_account}/{org.hub_region} "
                "(`orgguard hub` deploys it)"
            )
        else:
            report.notes.append(f"cannot read the hub's audit table {table}: {error_message(error)}")
    if report.hub_deployed:
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                found = pool.map(lambda a: _last_event(dynamodb, table, a.account), accounts)
                for account, event in zip(accounts, found, strict=True):
                    account.last_event = event
        except ClientError as error:
            report.notes.append(f"cannot query the audit table's {TABLE_ACCOUNT_INDEX} index: {error_message(error)}")
    stack = settings.hub.stack_name
    try:
        report.queues = _queue_depths(client(hub, "cloudformation", org.hub_region), client(hub, "sqs", org.hub_region),
                                      stack)
    except ClientError as error:
        report.notes.append(f"cannot read the hub stack {stack}'s queues: {error_message(error)}")
    if report.hub_deployed is not False and not report.queues:
        report.notes.append(f"the hub stack {stack} lists no dead-letter queue ({HUB_DLQ_OUTPUT_PREFIX}* outputs)")


def _region_status(instance: Instance) -> RegionStatus:
    return RegionStatus(instance.region, instance.status, instance.detailed, instance.reason, instance.drift)


def collect(session: boto3.Session, settings: Settings, call_as: str) -> StatusReport:
    org = settings.organization
    caller = caller_account(session)
    tree = load_tree(session)
    global_part, regional_part = spoke_parts(settings)
    apis = [StackSetApi(session, settings, call_as, part.stackset) for part in (global_part, regional_part)]
    exists = [api.describe() is not None for api in apis]
    report = StatusReport(apis[1].name, exists[1], apis[0].name, exists[0])
    for api, found in zip(apis, exists, strict=True):
        if not found:
            report.notes.append(f"StackSet {api.name} does not exist: `orgguard stackset` creates it")
    global_instances, instances = (api.instances() if found else [] for api, found in zip(apis, exists, strict=True))
    by_account: dict[str, list[RegionStatus]] = {}
    for i in instances:
        by_account.setdefault(i.account, []).append(_region_status(i))
    roles = {i.account: _region_status(i) for i in global_instances if i.region == org.spoke_home_region}
    governed = set(tree.accounts_under(org.target_ous))
    management: list[management_stack.StackResult] = []
    if org.include_management_account:
        if caller == tree.management_account:
            management = management_stack.status(session, settings, org.regions)
        else:
            report.notes.append("the management account's plain stacks are not shown: run with its credentials")

    order = {region: index for index, region in enumerate(org.regions)}
    for account_id in sorted(tree.accounts, key=lambda a: (tree.path(a), tree.accounts[a].name, a)):
        account = tree.accounts[account_id]
        status = AccountStatus(
            account_id, account.name, tree.path(account_id), account.status, NO_SPOKE, account_id in governed
        )
        present = [m for m in management if m.action == "present"]
        if account_id == tree.management_account and present:
            status.spoke = "management stack"
            status.regions = [RegionStatus(m.region, m.status or m.action, reason=m.reason) for m in management
                              if m.stack == regional_part.stack]
            status.roles = next((RegionStatus(m.region, m.status or "MISSING", reason=m.reason) for m in management
                                 if m.stack == global_part.stack), None)
        elif account_id in by_account or account_id in roles:
            status.spoke = "stackset"
            regions = {r.region: r for r in by_account.get(account_id, [])}
            for region in org.regions:
                regions.setdefault(region, RegionStatus(region, "MISSING", reason="no stack instance"))
            status.regions = sorted(regions.values(), key=lambda r: (order.get(r.region, len(order)), r.region))
            status.roles = roles.get(account_id, RegionStatus(org.spoke_home_region, "MISSING",
                                                              reason=f"no instance of {global_part.stackset}"))
        report.accounts.append(status)
    _spoke_view(session, settings, report)
    report.notes += protection.inspect(session, settings)
    _hub_view(session, settings, report.accounts, report)
    return report


def _spoke_view(session: boto3.Session, settings: Settings, report: StatusReport) -> None:
    """Dead-letter queues, alarms and tampering, read inside every account that has a spoke."""
    where = {a.account: [r.region for r in a.regions if r.status not in ("MISSING", "absent", "failed")]
             for a in report.accounts if a.spoke != NO_SPOKE}
    if not where:
        return
    state = inspect_spokes(session, settings, where)
    queues = {(q.account, q.region): q for q in state.queues}
    for account in report.accounts:
        account.tampering = [t for t in state.tampering if t.account == account.account]
        account.regions = [
            dataclasses.replace(r, dlq_messages=queues[(account.account, r.region)].messages,
                                alarm=queues[(account.account, r.region)].alarm)
            if (account.account, r.region) in queues else r
            for r in account.regions
        ]
    waiting = [q for q in state.queues if q.messages]
    if waiting:
        report.notes.append(
            f"{sum(q.messages for q in waiting)} event(s) wait in spoke dead-letter queues ("
            + ", ".join(f"{q.account}/{q.region}: {q.messages}" for q in waiting)
            + "): fix the cause, then `orgguard redrive` replays them"
        )
    for account_id, why in sorted(state.unreachable.items()):
        report.notes.append(f"account {account_id}: its dead-letter queues and tampering were not read: {why}")
