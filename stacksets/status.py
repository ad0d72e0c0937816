"""``deploy.py status``: every account of the organization by governed region, and the hub's view.

Per account and region: the stack instance's status, reason and drift status (or "no spoke"); per
account: the last event the hub recorded for it (the audit table's by-account index); for the hub: the
depth of its queues. A hub that is not deployed yet, or that the operator cannot reach, is said once and
does not stop the report.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from handlers.contract import TABLE_ACCOUNT_INDEX, TABLE_ACCOUNT_INDEX_PARTITION
from handlers.settings import Settings
from stacksets import management_stack
from stacksets.access import AccessError, caller_account, client, error_code, error_message, hub_session
from stacksets.api import StackSetApi
from stacksets.organization import load_tree

NO_SPOKE = "no spoke"
QUEUE_PREFIX = "orgguard"
LAST_EVENT_FIELDS = ("time", "kind", "policy", "outcome", "event_name", "region", "resource")


@dataclass(frozen=True)
class RegionStatus:
    region: str
    status: str
    detailed: str = ""
    reason: str = ""
    drift: str = ""


@dataclass
class AccountStatus:
    account: str
    name: str
    path: str
    status: str  # ACTIVE | SUSPENDED | ...
    spoke: str  # stackset | management stack | no spoke
    in_target_ous: bool
    regions: list[RegionStatus] = field(default_factory=list)
    last_event: dict[str, Any] | None = None


@dataclass(frozen=True)
class QueueDepth:
    name: str
    messages: int
    dead_letter: bool


@dataclass
class StatusReport:
    stackset: str
    stackset_exists: bool
    accounts: list[AccountStatus] = field(default_factory=list)
    hub_deployed: bool | None = None  # None: could not tell
    queues: list[QueueDepth] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stackset": self.stackset,
            "stackset_exists": self.stackset_exists,
            "accounts": [asdict(a) for a in self.accounts],
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


def _queue_depths(sqs: Any) -> list[QueueDepth]:
    depths = []
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=QUEUE_PREFIX):
        for url in page.get("QueueUrls", []):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            name = url.rstrip("/").rsplit("/", 1)[-1]
            count = int(attributes.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
            depths.append(QueueDepth(name, count, "dlq" in name.lower() or "dead" in name.lower()))
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
                "(`deploy.py hub` deploys it)"
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
    try:
        report.queues = _queue_depths(client(hub, "sqs", org.hub_region))
    except ClientError as error:
        report.notes.append(f"cannot list the hub's queues: {error_message(error)}")
    if report.hub_deployed is not False and not report.queues:
        report.notes.append(f"no queues named {QUEUE_PREFIX}* in the hub account")


def collect(session: boto3.Session, settings: Settings, call_as: str) -> StatusReport:
    org = settings.organization
    caller = caller_account(session)
    tree = load_tree(session)
    api = StackSetApi(session, settings, call_as)
    exists = api.describe() is not None
    report = StatusReport(api.name, exists)
    if not exists:
        report.notes.append(f"StackSet {api.name} does not exist: `deploy.py stackset` creates it")
    instances = api.instances() if exists else []
    by_account: dict[str, list[RegionStatus]] = {}
    for i in instances:
        by_account.setdefault(i.account, []).append(RegionStatus(i.region, i.status, i.detailed, i.reason, i.drift))
    governed = set(tree.accounts_under(org.target_ous))
    management: dict[str, management_stack.StackResult] = {}
    if org.include_management_account:
        if caller == tree.management_account:
            management = management_stack.status(session, settings, org.regions)
        else:
            report.notes.append("the management account's plain stack is not shown: run with its credentials")

    for account_id in sorted(tree.accounts, key=lambda a: (tree.path(a), tree.accounts[a].name, a)):
        account = tree.accounts[account_id]
        status = AccountStatus(
            account_id, account.name, tree.path(account_id), account.status, NO_SPOKE, account_id in governed
        )
        if account_id == tree.management_account and management:
            present = [m for m in management.values() if m.action == "present"]
            if present:
                status.spoke = "management stack"
                status.regions = [RegionStatus(m.region, m.status, reason=m.reason) for m in management.values()]
        elif account_id in by_account:
            status.spoke = "stackset"
            regions = {r.region: r for r in by_account[account_id]}
            for region in org.regions:
                regions.setdefault(region, RegionStatus(region, "MISSING", reason="no stack instance"))
            order = {region: index for index, region in enumerate(org.regions)}
            status.regions = sorted(regions.values(), key=lambda r: (order.get(r.region, len(order)), r.region))
        report.accounts.append(status)
    _hub_view(session, settings, report.accounts, report)
    return report
