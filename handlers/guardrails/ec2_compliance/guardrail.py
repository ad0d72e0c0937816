"""ec2-compliance as a guardrail: reacts to RunInstances, sweeps every live instance, adds the required tags
an instance lacks and the admin group of its VPC (the decision is ``plan.py``, the writes ``writer.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from handlers import outcome as oc
from handlers.cloudtrail_fields import items, response
from handlers.drift import IacFix
from handlers.errors import NotYetVisible
from handlers.guardrails.base import Finding, Guardrail, Permission, Subject, SweepScope, console_domain
from handlers.guardrails.ec2_compliance.instances import (
    GONE_STATES,
    LIVE_STATES,
    Instance,
    event_age,
    parse_instance,
    read_instances,
)
from handlers.guardrails.ec2_compliance.plan import (
    InstancePlan,
    overall,
    plan_instance,
    steps_for,
    summary_line,
)
from handlers.guardrails.ec2_compliance.settings import Ec2Compliance, parse
from handlers.guardrails.ec2_compliance.texts import NEXT_STEPS, REASONS
from handlers.guardrails.ec2_compliance.writer import Writer
from handlers.outcome import Action, Result

if TYPE_CHECKING:
    from handlers.context import PolicyContext
    from handlers.events import ApiCallEvent
    from handlers.settings_checks import Checker

INSTANCE_ID_PREFIX = "i-"
LIST_PAGE = 1000
_EC2_INSTANCE = "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"
_EC2_SG = "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*"
_EC2_ENI = "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:network-interface/*"


@dataclass(frozen=True)
class InstanceState:
    instance: Instance | None  # None: EC2 does not show it
    admin_group: str | None  # the admin group of its VPC (None: the VPC has none)


def _touches(action: dict[str, Any], item: InstancePlan) -> bool:
    params = action.get("params", {})
    return (item.instance_id in params.get("Resources", []) or params.get("InstanceId") == item.instance_id
            or (bool(item.interface) and params.get("NetworkInterfaceId") == item.interface))


EXAMPLE = """# enforce | report | off.
mode = "enforce"
# Tags every instance must carry, with the value added when it is missing (a value set by the user is kept).
required_tags = { Owner = "unassigned", CostCenter = "unknown" }
# How many security groups an interface may hold (5 unless the account's quota was raised).
max_groups_per_interface = 5
# Right after a launch EC2 may not show the instance yet (eventual consistency). For this many seconds after
# the RunInstances event (0-3600), an instance EC2 does not know is retried later instead of being "gone".
fresh_instance_window_seconds = 300

[policies.ec2-compliance.admin_security_group]
# The administrators' security group of each VPC, found by name ...
name = "administrators"
# ... and/or by tags, for example { Role = "admin-access" } ...
tag = {}
# ... or named explicitly, per VPC: "ACCOUNT/REGION/vpc-..." -> group id (a security group belongs to one VPC
# in one region), for example { "333333333333/eu-west-1/vpc-0abc1234" = "sg-0abc1234" }. An explicit id wins
# over name and tag.
ids = {}

"""


class Ec2ComplianceGuardrail(Guardrail):
    id = "ec2-compliance"
    noun = "instance"
    reasons: ClassVar[dict[str, str]] = REASONS
    next_steps: ClassVar[dict[str, str]] = NEXT_STEPS
    title = "EC2 tags and admin security group"
    severity = "medium"
    event_source = "ec2.amazonaws.com"
    event_names = ("RunInstances",)
    resource_type = "AWS::EC2::Instance"
    settings_type = Ec2Compliance
    replay = "sandbox.replay.ec2:seed_run_instances_event"
    sweepable = True
    batch_size = 500  # CreateTags takes at most 1,000 resource ids
    permissions = (
        Permission("ec2:DescribeInstances", ("*",), scopable=False,
                   why="Describe* calls have no resource-level permissions"),
        Permission("ec2:DescribeSecurityGroups", ("*",), scopable=False,
                   why="Describe* calls have no resource-level permissions"),
        Permission("ec2:CreateTags", (_EC2_INSTANCE,)),
        Permission("ec2:ModifyInstanceAttribute", (_EC2_INSTANCE, _EC2_SG)),
        # The IAM service reference lists network-interface, instance and security-group for this action.
        Permission("ec2:ModifyNetworkInterfaceAttribute", (_EC2_ENI, _EC2_INSTANCE, _EC2_SG)),
    )
    example = EXAMPLE

    def resource_ids(self, detail: dict[str, Any]) -> list[str]:
        ids: list[str] = []
        for item in items(response(detail).get("instancesSet")):
            instance_id = item.get("instanceId") if isinstance(item, dict) else None
            if isinstance(instance_id, str) and instance_id and instance_id not in ids:
                ids.append(instance_id)
        return ids

    def parse_settings(self, raw: dict[str, Any], checker: Checker, key: str) -> Ec2Compliance:
        return parse(raw, checker, key)

    def read(self, ctx: PolicyContext, resource_ids: list[str], known: dict[str, Any] | None = None,
             event: ApiCallEvent | None = None) -> dict[str, Any]:
        """One DescribeInstances (none when listed), then one DescribeSecurityGroups per VPC (cached). Within the
        fresh window of the launch, an instance EC2 does not show yet is retried later (``NotYetVisible``)."""
        ec2, standard = ctx.client("ec2"), ctx.settings.policies.section(self.id)
        instances = ({i: known[i] for i in resource_ids if i in known} if known is not None
                     else read_instances(ec2, resource_ids))
        launched = event.event_time if event is not None else max(
            (i.launched for i in instances.values()), default="")
        ctx.launched = launched
        age = event_age(launched, ctx.clock()) if launched else None
        unseen = [i for i in resource_ids if i not in instances and i.startswith(INSTANCE_ID_PREFIX)]
        if age is not None and age < standard.fresh_instance_window_seconds and unseen:
            raise NotYetVisible(f"DescribeInstances does not show {', '.join(unseen)} {age:.0f} s after the launch "
                                "(EC2 is eventually consistent)")
        live = [i for i in instances.values() if i.state not in GONE_STATES]
        admin = {vpc: ctx.admin_groups.find(ec2, standard.admin_security_group, ctx.account, ctx.region, vpc)
                 for vpc in sorted({i.vpc_id for i in live if i.vpc_id})}
        return {i: InstanceState(instances.get(i), admin.get(instances[i].vpc_id) if i in instances else None)
                for i in resource_ids}

    def evaluate(self, resource: str, state: Any, subject: Subject) -> Finding:
        instance = state.instance if state is not None else None
        exemption = subject.exemption(instance.tags) if instance is not None and \
            instance.state not in GONE_STATES else None
        item = plan_instance(resource, instance, subject.standard, state.admin_group if state else None, exemption)
        return self._finding(item, subject.enforcing, state, steps_for([item]))

    def _finding(self, item: InstancePlan, enforcing: bool, state: InstanceState | None,
                 planned: Any, done: list[Action] | None = None) -> Finding:
        outcome = item.status
        if outcome.kind is oc.OutcomeKind.REMEDIATED and not enforcing:
            outcome = oc.REPORTED
        before = {"groups": item.groups_before, "missing_tags": item.missing_tags}
        after = before if not enforcing else {
            "groups": item.groups_after if item.groups_changed else item.groups_before,
            "tags_added": item.tags_added}
        instance = state.instance if state is not None else None
        details = {"plan": item.to_dict(), "vpc": instance.vpc_id if instance is not None else "",
                   "admin_group": state.admin_group if state is not None else None}
        line = summary_line(item, enforcing).partition(": ")[2]
        notify = outcome.kind not in (oc.OutcomeKind.COMPLIANT, oc.OutcomeKind.EXEMPT, oc.OutcomeKind.GONE)
        return Finding(item.instance_id, outcome, line, before, after, [s.action for s in planned],
                       list(done or []), item.stack_name, details, notify, item.logical_id)

    def fix(self, findings: list[Finding], ctx: PolicyContext) -> list[Finding]:
        """The writes of every finding at once: one CreateTags per distinct set of missing tags."""
        standard = ctx.settings.policies.section(self.id)
        items = {f.resource: InstancePlan(**f.details["plan"]) for f in findings}
        age = event_age(ctx.launched, ctx.clock()) if ctx.launched else None
        fresh = age is not None and age < standard.fresh_instance_window_seconds
        start = len(ctx.performed)
        Writer(ctx, items, fresh, age, standard.max_groups_per_interface).run(steps_for(list(items.values())))
        performed = [a.to_dict() for a in ctx.performed[start:]]
        fixed = []
        for finding in findings:
            item = items[finding.resource]
            if item.status.kind is oc.OutcomeKind.REMEDIATED and not (item.tags_added or item.groups_changed):
                item.status = oc.COMPLIANT  # what it lacked was in place when read again
            done = [Action(a["action"], a["params"]) for a in performed if _touches(a, item)]
            state = InstanceState(None, finding.details["admin_group"])
            refixed = self._finding(item, True, state, [], done)
            refixed.planned, refixed.details["vpc"] = finding.planned, finding.details["vpc"]
            fixed.append(refixed)
        return fixed

    def result(self, findings: list[Finding], enforcing: bool) -> Result:
        plans = [InstancePlan(**f.details["plan"]) for f in findings]
        status = overall(plans, enforcing)
        details: dict[str, Any] = {
            "instances": [f.details["plan"] for f in findings],
            "admin_groups": {f.details["vpc"]: f.details["admin_group"] for f in findings if f.details["vpc"]}}
        if not enforcing:
            details["planned"] = [s.action.to_dict() for s in steps_for(plans)]
        summary = "\n".join(summary_line(p, enforcing) for p in plans)
        stack = next((p.stack_name for p in plans if p.stack_name), "")
        notify = status.kind not in (oc.OutcomeKind.COMPLIANT, oc.OutcomeKind.EXEMPT, oc.OutcomeKind.GONE)
        return Result(status, ", ".join(f.resource for f in findings), summary,
                      {f.resource: f.before for f in findings}, {f.resource: f.after for f in findings},
                      details=details, stack_name=stack, notify=notify)

    def iac_fix(self, finding: Finding, standard: Any) -> IacFix | None:
        """``Tags`` with the tags the fix added and ``SecurityGroupIds`` with the groups the instance now has (an
        instance whose groups were changed on one of several interfaces declares them in ``NetworkInterfaces``:
        only its tags are given)."""
        plan = finding.details.get("plan") or {}
        tags = [{"Key": k, "Value": v} for k, v in (finding.after.get("tags_added") or {}).items()]
        properties: dict[str, Any] = {"Tags": tags} if tags else {}
        added = dict(properties)
        if plan.get("groups_changed") and not plan.get("interface"):
            groups = list(finding.after.get("groups") or [])
            properties["SecurityGroupIds"] = groups
            added["SecurityGroupIds"] = [g for g in groups if g not in (finding.before.get("groups") or [])]
        return IacFix(self.resource_type, properties, added) if properties else None

    def list_resources(self, scope: SweepScope) -> dict[str, Any]:
        found: dict[str, Instance] = {}
        pages = scope.client("ec2").get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-state-name", "Values": list(LIVE_STATES)}],
            PaginationConfig={"PageSize": LIST_PAGE})
        for page in pages:
            for reservation in page.get("Reservations", []):
                for raw in reservation.get("Instances", []):
                    instance = parse_instance(raw)
                    found[instance.instance_id] = instance
        return found

    def console_link(self, resource: str, region: str) -> str:
        domain = console_domain(region)
        ids = [part.strip() for part in resource.split(",") if part.strip()]
        if len(ids) > 1:
            return f"https://{region}.{domain}/ec2/home?region={region}#Instances:instanceId={','.join(ids)}"
        return f"https://{region}.{domain}/ec2/home?region={region}#InstanceDetails:instanceId={resource}"


GUARDRAIL = Ec2ComplianceGuardrail()
