"""The hub's side on moto, as the handler and reliability tests build it in moto's default account: the audit
table, the alerts topic, and a queue subscribed to the topic that captures every e-mail."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from handlers.contract import TABLE_PARTITION_KEY

from .moto_env import TABLE_NAME, TOPIC_NAME


@dataclass
class Mail:
    """One notification as the queue subscribed to the topic received it."""

    subject: str
    body: str
    attributes: dict[str, str]


@dataclass
class MailBox:
    """The queue subscribed to the alerts topic, drained into a list kept across calls."""

    sqs: Any
    queue_url: str
    _mail: list[Mail] = field(default_factory=list)

    def mail(self) -> list[Mail]:
        """Every notification published so far."""
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                             WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return list(self._mail)
            for message in batch:
                envelope = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                self._mail.append(Mail(envelope.get("Subject", ""), envelope["Message"], attributes))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def create_hub_resources(session: boto3.Session) -> tuple[str, str]:
    """The audit table, the alerts topic and the mail-capturing queue; returns the topic ARN and queue URL."""
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(TableName=TABLE_NAME, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": TABLE_PARTITION_KEY, "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": TABLE_PARTITION_KEY, "KeyType": "HASH"}])
    sns, sqs = session.client("sns"), session.client("sqs")
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="captured-mail")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


def audit_keys(dynamodb: Any, table_name: str = TABLE_NAME) -> list[str]:
    """Every partition key of the audit table, sorted."""
    keys: list[str] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table_name, ProjectionExpression="#pk",
                                                        ExpressionAttributeNames={"#pk": TABLE_PARTITION_KEY}):
        keys.extend(item[TABLE_PARTITION_KEY]["S"] for item in page["Items"])
    return sorted(keys)
