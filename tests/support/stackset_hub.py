"""The StackSet tests' hub on moto, the parts that rollout, onboarding, status and redrive touch (``FakeHub``,
``build_hub``), and the spoke's dead-letter alarm moto's CloudFormation skips (``put_spoke_alarms``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from handlers.settings import Settings

from .organization import session_in


@dataclass
class FakeHub:
    """The parts of the hub that rollout, onboarding, status and redrive touch, built in the hub account:
    the bus, a rule sending canary events to an inbox queue (moto cannot invoke the canary Lambda), the
    audit table with its by-account index, the alerts topic, and a stack named like the hub's that creates
    two dead-letter queues (a rule target's ``-dlq`` and a Lambda's ``-failures``) and lists them as
    ``DlqUrl...`` outputs, as the hub stack does."""

    session: boto3.Session
    settings: Settings
    inbox_url: str
    dlq_url: str
    failures_url: str

    def respond_to_canaries(self) -> int:
        """Run the real hub canary handler on every canary event that reached the hub bus."""
        from handlers.audit import AuditLog
        from handlers.canary import handle_canary
        from handlers.sessions import MemberSessions

        sqs = self.session.client("sqs")
        audit = AuditLog(self.session.client("dynamodb"), self.settings.hub.table_name)
        members = MemberSessions(self.session)
        handled = 0
        while True:
            messages = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return handled
            for message in messages:
                handle_canary(json.loads(message["Body"]), members, audit, self.settings.policies.s3_encryption)
                sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1

    def canary_waiter(self) -> Any:
        """A ``CanaryWaiter`` that lets the hub answer first, then reads the table like onboarding does."""
        from stacksets.canary import HubTableWaiter

        table_waiter = HubTableWaiter(
            self.session.client("dynamodb"),
            self.settings.hub.table_name,
            poll_seconds=0,
            sleep=lambda _: None,
        )

        def wait(canaries: Any, timeout: float) -> dict[str, dict[str, Any]]:
            self.respond_to_canaries()
            return table_waiter(canaries, 0)

        return wait


def build_hub(settings: Settings) -> FakeHub:
    from handlers.contract import (
        CANARY_SOURCE,
        TABLE_ACCOUNT_INDEX,
        TABLE_ACCOUNT_INDEX_PARTITION,
        TABLE_ACCOUNT_INDEX_SORT,
        TABLE_PARTITION_KEY,
    )

    org = settings.organization
    session = session_in(org.hub_account, org.hub_region)
    events, sqs = session.client("events"), session.client("sqs")
    events.create_event_bus(Name=settings.hub.bus_name)
    inbox_url = sqs.create_queue(QueueName="canary-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="canary",
        EventBusName=settings.hub.bus_name,
        EventPattern=json.dumps({"source": [CANARY_SOURCE]}),
    )
    events.put_targets(
        Rule="canary", EventBusName=settings.hub.bus_name, Targets=[{"Id": "inbox", "Arn": inbox_arn}]
    )
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(StackName=settings.hub.stack_name, TemplateBody=json.dumps(HUB_QUEUES_TEMPLATE))
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cloudformation.describe_stacks(StackName=settings.hub.stack_name)["Stacks"][0]["Outputs"]}
    session.client("sns").create_topic(Name=settings.hub.topic_name)
    session.client("dynamodb").create_table(
        TableName=settings.hub.table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": TABLE_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": TABLE_ACCOUNT_INDEX_PARTITION, "AttributeType": "S"},
            {"AttributeName": TABLE_ACCOUNT_INDEX_SORT, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": TABLE_PARTITION_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": TABLE_ACCOUNT_INDEX,
                "KeySchema": [
                    {"AttributeName": TABLE_ACCOUNT_INDEX_PARTITION, "KeyType": "HASH"},
                    {"AttributeName": TABLE_ACCOUNT_INDEX_SORT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return FakeHub(session, settings, inbox_url, outputs["DlqUrlHubRule"], outputs["DlqUrlHubRuleFailures"])


HUB_QUEUES_TEMPLATE = {
    "Resources": {
        "DlqHubRule": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orgguard-hub-dlq"}},
        "DlqHubRuleFailures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orgguard-hub-failures"}},
        "NotADeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orgguard-hub-scratch"}},
    },
    "Outputs": {
        "DlqUrlHubRule": {"Value": {"Ref": "DlqHubRule"}},
        "DlqUrlHubRuleFailures": {"Value": {"Ref": "DlqHubRuleFailures"}},
        "ScratchQueueUrl": {"Value": {"Ref": "NotADeadLetterQueue"}},
    },
}


def put_spoke_alarms(accounts: Sequence[str], regions: Sequence[str], settings: Settings) -> None:
    """Create the spoke's dead-letter alarm where moto's CloudFormation skipped it, from the rendered template."""
    from handlers.contract import FORWARD_DLQ_NAME
    from spoke.lint import parse_template
    from spoke.render import render_spoke

    (alarm,) = [r["Properties"] for r in parse_template(render_spoke(settings))["Resources"].values()
                if r["Type"] == "AWS::CloudWatch::Alarm"]
    properties = {**alarm, "Dimensions": [{"Name": "QueueName", "Value": FORWARD_DLQ_NAME}]}
    for account in accounts:
        for region in regions:
            session_in(account, region).client("cloudwatch").put_metric_alarm(**properties)
