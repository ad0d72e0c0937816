"""vpc-created: tell the admins about every new VPC (notify only; nothing is changed)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.context import PolicyContext
from handlers.engine import make_handler
from handlers.events import ApiCallEvent
from handlers.exemptions import tags_to_dict
from handlers.outcome import Result

POLICY_ID = "vpc-created"
STACK_TAG = "aws:cloudformation:stack-name"


def describe(vpc: dict[str, Any]) -> dict[str, Any]:
    tags = tags_to_dict(vpc.get("Tags"))
    cidrs = [a.get("CidrBlock") for a in vpc.get("CidrBlockAssociationSet", []) if a.get("CidrBlock")]
    return {
        "vpc_id": vpc.get("VpcId", ""),
        "cidr": vpc.get("CidrBlock", ""),
        "cidrs": cidrs or [vpc.get("CidrBlock", "")],
        "ipv6": [a.get("Ipv6CidrBlock") for a in vpc.get("Ipv6CidrBlockAssociationSet", []) if a.get("Ipv6CidrBlock")],
        "is_default": bool(vpc.get("IsDefault", False)),
        "name": tags.get("Name", ""),
        "tags": tags,
    }


def evaluate(event: ApiCallEvent, ctx: PolicyContext, resource_ids: list[str]) -> Result:
    vpc_id = resource_ids[0]
    try:
        vpcs = ctx.client("ec2").describe_vpcs(VpcIds=[vpc_id]).get("Vpcs", [])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "") == "InvalidVpcID.NotFound":
            vpcs = []
        else:
            raise
    if not vpcs:
        return Result(oc.GONE, vpc_id, "the VPC was deleted before OrgGuard looked at it",
                      details={"cidr": _event_cidr(event)})
    info = describe(vpcs[0])
    exempt = ctx.exemption(info["tags"])
    if exempt:
        return Result(oc.EXEMPT, vpc_id, f"exempt ({exempt})", info, info, notify=False)
    return Result(oc.REPORTED, vpc_id, f"new VPC {vpc_id} ({info['cidr']}); admins notified", info, info,
                  details=info, stack_name=info["tags"].get(STACK_TAG, ""))


def _event_cidr(event: ApiCallEvent) -> str:
    value = event.request.get("cidrBlock", "")
    return value if isinstance(value, str) else ""


handler = make_handler(POLICY_ID)
