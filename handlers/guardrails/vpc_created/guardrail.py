"""vpc-created: every new VPC is reported to the admins with its CIDRs, name and tags (one DescribeVpcs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.cloudtrail_fields import response
from handlers.exemptions import tags_to_dict
from handlers.guardrails.base import Finding, Guardrail, Permission, Subject, console_domain
from handlers.guardrails.vpc_created.settings import VpcCreated, parse

if TYPE_CHECKING:
    from handlers.context import PolicyContext
    from handlers.events import ApiCallEvent
    from handlers.settings_checks import Checker

STACK_TAG = "aws:cloudformation:stack-name"
NOT_FOUND = "InvalidVpcID.NotFound"
DELETED = "deleted"  # the state of a VPC gone before the check, with the CIDR its event asked for


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


class VpcCreatedGuardrail(Guardrail):
    id = "vpc-created"
    notify_only = True
    noun = "VPC"
    reasons: ClassVar[dict[str, str]] = {
        "reported": "A new VPC was created: {noun}. OrgGuard only reports new VPCs; it changed nothing.",
        "gone": "A new VPC was created and deleted again before OrgGuard looked at it: {noun}."}
    next_steps: ClassVar[dict[str, str]] = {
        "reported": "If this VPC was not expected, ask its creator (below) why it exists, or delete it."}
    title = "New VPC"
    severity = "low"
    event_source = "ec2.amazonaws.com"
    event_names = ("CreateVpc",)
    resource_type = "AWS::EC2::VPC"
    settings_type = VpcCreated
    replay = "sandbox.replay.ec2:seed_vpc_event"
    permissions = (
        Permission("ec2:DescribeVpcs", ("*",), scopable=False,
                   why="Describe* calls have no resource-level permissions"),
    )
    example = """# enforce | report | off. This policy only notifies, so enforce and report behave the same.
mode = "enforce"

"""

    def resource_ids(self, detail: dict[str, Any]) -> list[str]:
        vpc = response(detail).get("vpc")
        vpc_id = vpc.get("vpcId") if isinstance(vpc, dict) else None
        return [vpc_id] if isinstance(vpc_id, str) and vpc_id else []

    def parse_settings(self, raw: dict[str, Any], checker: Checker, key: str) -> VpcCreated:
        return parse(raw, checker, key)

    def read(self, ctx: PolicyContext, resource_ids: list[str], known: dict[str, Any] | None = None,
             event: ApiCallEvent | None = None) -> dict[str, Any]:
        vpc_id = resource_ids[0]
        try:
            vpcs = ctx.client("ec2").describe_vpcs(VpcIds=[vpc_id]).get("Vpcs", [])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") != NOT_FOUND:
                raise
            vpcs = []
        if vpcs:
            return {vpc_id: describe(vpcs[0])}
        cidr = event.request.get("cidrBlock", "") if event is not None else ""
        return {vpc_id: {DELETED: True, "cidr": cidr if isinstance(cidr, str) else ""}}

    def evaluate(self, resource: str, state: Any, subject: Subject) -> Finding:
        if state is None or state.get(DELETED):
            cidr = state.get("cidr", "") if state else ""
            return Finding(resource, oc.GONE, "the VPC was deleted before OrgGuard looked at it",
                           details={"cidr": cidr})
        exempt = subject.exemption(state["tags"])
        if exempt:
            return Finding(resource, oc.EXEMPT, f"exempt ({exempt})", state, state, notify=False)
        return Finding(resource, oc.REPORTED, f"new VPC {resource} ({state['cidr']})", state, state,
                       details=state, stack_name=state["tags"].get(STACK_TAG, ""))

    def console_link(self, resource: str, region: str) -> str:
        return f"https://{region}.{console_domain(region)}/vpcconsole/home?region={region}#VpcDetails:VpcId={resource}"


GUARDRAIL = VpcCreatedGuardrail()
