"""The ec2-compliance handler tests' RunInstances records, the tags the default settings require, and the
engine's EC2 write calls recorded per operation."""

from __future__ import annotations

from typing import Any

from tests.support.handlers import engine_client, record_calls
from tests.support.members import Member

TWO_INSTANCES = "records/custodian__RunInstances__3.json"  # Root via Auto Scaling, launches 2 instances
WITH_TAG_SPEC = "records/ctwatcher__RunInstances__1.json"  # IAM user, tagSpecificationSet Name=test
ONE_INSTANCE = "records/spotlight__RunInstances__1.json"
REQUIRED = {"Owner": "unassigned", "CostCenter": "unknown"}


def write_calls(rt: Any, member: Member) -> dict[str, list[dict[str, Any]]]:
    ec2 = engine_client(rt, member, "ec2")
    return {op: record_calls(ec2, op) for op in ("CreateTags", "ModifyInstanceAttribute",
                                                 "ModifyNetworkInterfaceAttribute")}
