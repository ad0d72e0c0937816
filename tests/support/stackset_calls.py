"""The spoke StackSets' names and ARNs, and the CloudFormation calls a rollout makes, recorded at the client."""

from __future__ import annotations

from typing import Any

import boto3

GLOBAL_STACKSET, REGIONAL_STACKSET = "orgguard-spoke-global", "orgguard-spoke"


def record(session: boto3.Session, operation: str) -> list[dict[str, Any]]:
    """The parameters of every call of a CloudFormation operation, in order."""
    calls: list[dict[str, Any]] = []
    session.events.register(f"provide-client-params.cloudformation.{operation}",
                            lambda params, **_: calls.append(dict(params)))
    return calls


def stackset_arn(session: boto3.Session, name: str) -> str:
    return str(session.client("cloudformation").describe_stack_set(StackSetName=name)["StackSet"]["StackSetARN"])
