"""The sandbox path, assembled from the sandbox's own parts, for the load, loop and redrive tests.

Embedded AWS (moto server), an organization with two workload accounts, the hub deployed from its synthesized
template, the spoke rolled out by the real StackSet code, the hub rules' Lambda targets tapped and played by
the in-process Lambda runner (``sandbox.world.flow``), and the admins' mailbox. Events are CloudTrail records
put on a member's default bus, from where the spoke's rule, the hub bus and the hub's rules take them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from handlers.audit import event_key, item_to_dict
from handlers.contract import TABLE_PARTITION_KEY
from handlers.registry import CLOUDTRAIL_DETAIL_TYPE
from handlers.settings import Settings
from sandbox.aws.server import EmbeddedAws, embedded_aws
from sandbox.demo.demo import seed_ids
from sandbox.world.baseline import set_up_account
from sandbox.world.cloudtrail import envelope_source
from sandbox.world.flow import EventFlow, tap_lambda_targets
from sandbox.world.hub import DeployedHub, deploy_hub, moto_skips_quietly, synthesize_hub
from sandbox.world.identities import Identity, account_admin
from sandbox.world.lambda_runner import LAMBDA_SERVICE, LambdaRunner
from sandbox.world.mailbox import Mailbox
from sandbox.world.organization import HUB_REGION, SandboxOrganization, create_organization, sandbox_settings
from stacksets.operations import Waiter
from stacksets.rollout import Rollout

PUT_EVENTS_BATCH = 10
EVENT_KEY_PREFIX = event_key("")  # EventBridge's maximum per PutEvents call
IMAGE = "ami-03cf127a"


@dataclass
class Sandbox:
    aws: EmbeddedAws
    management: boto3.Session
    org: SandboxOrganization
    settings: Settings
    hub: DeployedHub
    hub_session: boto3.Session
    runner: LambdaRunner
    flow: EventFlow
    mailbox: Mailbox

    def admin(self, account: str, region: str) -> Identity:
        return account_admin(self.management, account, region, "reliability-admin")

    def member(self, account: str, region: str) -> boto3.Session:
        return self.admin(account, region).session(region)

    def put(self, records: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Put CloudTrail records on their account's default bus in ``region``, as CloudTrail hands them over."""
        clients: dict[tuple[str, str], Any] = {}
        pending: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for account, region, record in records:
            key = (account, region)
            pending.setdefault(key, []).append({"Source": envelope_source(record), "DetailType": CLOUDTRAIL_DETAIL_TYPE,
                                                "Detail": json.dumps(record), "EventBusName": "default"})
            if len(pending[key]) == PUT_EVENTS_BATCH:
                self._flush(clients, key, pending.pop(key))
        for key, entries in pending.items():
            self._flush(clients, key, entries)

    def _flush(self, clients: dict[tuple[str, str], Any], key: tuple[str, str], entries: list[dict[str, Any]]) -> None:
        if key not in clients:
            clients[key] = self.member(*key).client("events")
        response = clients[key].put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"the default bus of {key} refused events: {response['Entries']}")

    def audit_item(self, event_id: str) -> dict[str, Any] | None:
        response = self.hub.client("dynamodb").get_item(
            TableName=self.settings.hub.table_name, ConsistentRead=True,
            Key={TABLE_PARTITION_KEY: {"S": event_key(event_id)}})
        return item_to_dict(response["Item"]) if "Item" in response else None

    def audit_items(self) -> dict[str, dict[str, Any]]:
        """Every event record of the audit table, by event id (one scan instead of a read per event)."""
        items: dict[str, dict[str, Any]] = {}
        pages = self.hub.client("dynamodb").get_paginator("scan").paginate(TableName=self.settings.hub.table_name,
                                                                            ConsistentRead=True)
        for page in pages:
            for raw in page["Items"]:
                item = item_to_dict(raw)
                key = str(item.get(TABLE_PARTITION_KEY, ""))
                if key.startswith(EVENT_KEY_PREFIX):
                    items[key[len(EVENT_KEY_PREFIX):]] = item
        return items

    def queue_url(self, name: str) -> str:
        return str(self.hub.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def messages_in(self, name: str) -> int:
        attributes = self.hub.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url(name), AttributeNames=["ApproximateNumberOfMessages",
                                                           "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def delivered_event_ids(self, since: int = 0) -> list[str]:
        return [str(d.event.get("detail", {}).get("eventID", "")) for d in self.flow.deliveries[since:]]


@contextmanager
def running_sandbox() -> Iterator[Sandbox]:
    """The whole path up and ready; everything stops with the block.

    Ids are seeded as the demo seeds them, so the organization (and with it the settings and the hub
    template) is the demo's, and the CDK synthesis comes from the sandbox's cache."""
    with moto_skips_quietly(), embedded_aws(HUB_REGION) as aws:
        seed_ids(aws.endpoint)
        management = aws.session()
        org = create_organization(management)
        settings = sandbox_settings(org)
        for account in org.members:
            set_up_account(management, account, settings)
        template, asset_dir = synthesize_hub(settings)
        hub_session = account_admin(management, org.hub_account, HUB_REGION).session()
        hub = deploy_hub(hub_session, settings, template, asset_dir, org.organization_id)
        runner = LambdaRunner(aws.service_session(LAMBDA_SERVICE, org.hub_account), hub.resolver)
        flow = EventFlow(hub_session, hub.region, tap_lambda_targets(hub_session, hub.resolver, runner), runner)
        mailbox = Mailbox(hub_session, hub.region, hub.output("TopicArn"))
        report = Rollout(management, settings, "SELF", stream=io.StringIO(),
                         make_waiter=lambda api: Waiter(api, io.StringIO(), poll_seconds=0.1)).run()
        if not report.ok:
            raise RuntimeError(f"the spoke rollout failed: {report.to_dict()}")
        yield Sandbox(aws, management, org, settings, hub, hub_session, runner, flow, mailbox)
