"""The admins' inbox: what the alerts topic's e-mail subscribers would receive.

SNS e-mail cannot leave the sandbox, so an SQS queue subscribes to the topic next to the e-mail
subscriptions the hub template declares, and each notification is turned into the e-mail SNS sends: the
message's subject and text, from the topic's display name, to every e-mail subscriber.
"""

from __future__ import annotations

import email.policy
import json
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import boto3

MAILBOX_QUEUE = "sandbox-mailbox"
SNS_SENDER = "no-reply@sns.amazonaws.com"


@dataclass(frozen=True)
class Email:
    subject: str
    to: tuple[str, ...]
    body: str
    sender: str
    attributes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "to": list(self.to), "body": self.body}

    def to_message(self) -> EmailMessage:
        # No header folding: a folded subject can come back from a parser with a leading space.
        message = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = self.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        for name, value in sorted(self.attributes.items()):
            message[f"X-OrgGuard-{name.capitalize()}"] = value
        message.set_content(self.body, cte="8bit")  # readable as it is in a text editor
        return message


class Mailbox:
    """Subscribes a queue to ``topic_arn``; ``collect`` turns what arrived into e-mails."""

    def __init__(self, hub: boto3.Session, region: str, topic_arn: str) -> None:
        self._sns = hub.client("sns", region_name=region)
        self._sqs = hub.client("sqs", region_name=region)
        self.topic_arn = topic_arn
        self.queue_url = self._sqs.create_queue(QueueName=MAILBOX_QUEUE)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url,
                                                   AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.emails: list[Email] = []

    def recipients(self) -> tuple[str, ...]:
        found = []
        for page in self._sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=self.topic_arn):
            found += [s["Endpoint"] for s in page["Subscriptions"] if s["Protocol"] in ("email", "email-json")]
        return tuple(sorted(found))

    def sender(self) -> str:
        attributes = self._sns.get_topic_attributes(TopicArn=self.topic_arn)["Attributes"]
        name = attributes.get("DisplayName") or "AWS Notifications"
        return f"{name} <{SNS_SENDER}>"

    def collect(self) -> list[Email]:
        """Everything published since the last call, as e-mails (also kept in ``emails``)."""
        new: list[Email] = []
        to, sender = self.recipients(), self.sender()
        while True:
            messages = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                 WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                break
            for message in messages:
                notification = json.loads(message["Body"])
                attributes = {k: str(v.get("Value", "")) for k, v in
                              notification.get("MessageAttributes", {}).items()}
                new.append(Email(notification.get("Subject", ""), to, notification.get("Message", ""), sender,
                                 attributes))
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        self.emails += new
        return new


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "notification"


def write_eml(emails: list[Email], out_dir: Path) -> list[Path]:
    """One ``.eml`` file per e-mail, numbered in arrival order; earlier runs' files are replaced."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("[0-9][0-9]-*.eml"):
        old.unlink()
    paths = []
    for number, mail in enumerate(emails, start=1):
        path = out_dir / f"{number:02d}-{_slug(mail.subject)}.eml"
        path.write_bytes(bytes(mail.to_message()))
        paths.append(path)
    return paths
