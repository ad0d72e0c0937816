"""``Route``: one name's Lambda with what feeds it and where its failures go."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs


@dataclass(frozen=True)
class Route:
    """One name's Lambda with what feeds it and where its failures go."""

    name: str
    function: lambda_.Function
    failures: sqs.Queue | None
    rule: events.Rule | None
    dlq: sqs.Queue | None
