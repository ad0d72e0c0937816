"""ec2-compliance: every launched instance gets the required tags it lacks and the admin security group.

Real-AWS facts this module respects:
- Users and Auto Scaling tag right after launch: only what is missing at the time of the check is added,
  a value that is there is never overwritten, nothing is removed.
- ``ModifyInstanceAttribute Groups`` *replaces* the set, so existing groups + the admin group are sent; an
  instance with several network interfaces is changed on its primary interface instead (the instance
  call is refused for those); an interface holds at most 5 groups by default.
- The admin group is per VPC; a VPC without one is ``failed:no-admin-group`` and a notification.

Minimum calls per event: one DescribeInstances; at most one CreateTags per distinct set of missing tags
(one for a RunInstances, whose instances share their tags); one DescribeSecurityGroups per VPC (cached);
one ModifyInstanceAttribute per instance that lacks the group.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.context import PolicyContext
from handlers.engine import make_handler
from handlers.events import ApiCallEvent
from handlers.exemptions import tags_to_dict
from handlers.outcome import Action, Result
from handlers.settings import AdminSecurityGroup, Ec2Compliance

POLICY_ID = "ec2-compliance"
STACK_TAG = "aws:cloudformation:stack-name"
GONE_STATES = ("shutting-down", "terminated")
GROUP_CACHE_SECONDS = 900


@dataclass(frozen=True)
class Interface:
    eni_id: str
    device_index: int
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Instance:
    instance_id: str
    state: str
    vpc_id: str
    tags: dict[str, str]
    interfaces: tuple[Interface, ...]
    groups: tuple[str, ...]

    @property
    def primary_groups(self) -> tuple[str, ...]:
        for interface in self.interfaces:
            if interface.device_index == 0:
                return interface.groups
        return self.groups


@dataclass
class InstancePlan:
    instance_id: str
    status: str  # compliant | remediated | exempt | gone | failed:<why>
    tags_to_add: dict[str, str] = field(default_factory=dict)
    groups_before: list[str] = field(default_factory=list)
    groups_after: list[str] = field(default_factory=list)
    note: str = ""
    stack_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Plan:
    instances: list[InstancePlan]
    actions: list[Action]


def parse_instance(raw: dict[str, Any]) -> Instance:
    interfaces = tuple(
        Interface(
            eni_id=eni.get("NetworkInterfaceId", ""),
            device_index=int((eni.get("Attachment") or {}).get("DeviceIndex", 0)),
            groups=tuple(g["GroupId"] for g in eni.get("Groups", []) if g.get("GroupId")),
        )
        for eni in raw.get("NetworkInterfaces", [])
    )
    return Instance(
        instance_id=raw["InstanceId"],
        state=(raw.get("State") or {}).get("Name", ""),
        vpc_id=raw.get("VpcId", ""),
        tags=tags_to_dict(raw.get("Tags")),
        interfaces=interfaces,
        groups=tuple(g["GroupId"] for g in raw.get("SecurityGroups", []) if g.get("GroupId")),
    )


def read_instances(ec2: Any, instance_ids: list[str]) -> dict[str, Instance]:
    """Live state of the instances that still exist (one call; per id only if some id is unknown)."""
    try:
        pages = [ec2.describe_instances(InstanceIds=instance_ids)]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "") not in ("InvalidInstanceID.NotFound",
                                                                   "InvalidInstanceID.Malformed"):
            raise
        if len(instance_ids) == 1:
            return {}
        found: dict[str, Instance] = {}
        for instance_id in instance_ids:
            found.update(read_instances(ec2, [instance_id]))
        return found
    instances = {}
    for page in pages:
        for reservation in page.get("Reservations", []):
            for raw in reservation.get("Instances", []):
                instance = parse_instance(raw)
                instances[instance.instance_id] = instance
    return instances


class AdminGroupFinder:
    """Finds the admin group of a VPC; found ids are cached (per account, region, VPC) for 15 minutes."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def find(self, ec2: Any, spec: AdminSecurityGroup, account: str, region: str, vpc_id: str) -> str | None:
        explicit = spec.ids.get(f"{account}/{vpc_id}") or spec.ids.get(account)
        if explicit:
            return explicit
        key = (account, region, vpc_id)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[1] > now:
                return hit[0]
        filters = [{"Name": "vpc-id", "Values": [vpc_id]}]
        if spec.name:
            filters.append({"Name": "group-name", "Values": [spec.name]})
        for tag_key, tag_value in sorted(spec.tag.items()):
            filters.append({"Name": f"tag:{tag_key}", "Values": [tag_value]})
        groups = ec2.describe_security_groups(Filters=filters).get("SecurityGroups", [])
        if not groups:
            return None
        group_id = str(sorted(g["GroupId"] for g in groups)[0])
        with self._lock:
            self._cache[key] = (group_id, now + GROUP_CACHE_SECONDS)
        return group_id

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


ADMIN_GROUPS = AdminGroupFinder()


def plan(instances: dict[str, Instance], wanted_ids: list[str], standard: Ec2Compliance,
         admin_groups: dict[str, str | None], exemptions: dict[str, str | None]) -> Plan:
    """Pure: what each instance needs, and the fewest write calls that do it."""
    plans: list[InstancePlan] = []
    tag_sets: dict[tuple[tuple[str, str], ...], list[str]] = {}
    group_actions: list[Action] = []
    for instance_id in wanted_ids:
        instance = instances.get(instance_id)
        if instance is None or instance.state in GONE_STATES:
            plans.append(InstancePlan(instance_id, oc.GONE, note="no longer exists"))
            continue
        stack = instance.tags.get(STACK_TAG, "")
        groups = list(instance.primary_groups)
        if exemptions.get(instance_id):
            plans.append(InstancePlan(instance_id, oc.EXEMPT, groups_before=groups, groups_after=groups,
                                      note=str(exemptions[instance_id]), stack_name=stack))
            continue
        missing = {k: v for k, v in standard.required_tags.items() if k not in instance.tags}
        item = InstancePlan(instance_id, oc.COMPLIANT, missing, groups, groups, stack_name=stack)
        if missing:
            tag_sets.setdefault(tuple(sorted(missing.items())), []).append(instance_id)
            item.status = oc.REMEDIATED
        admin = admin_groups.get(instance.vpc_id)
        if admin is None:
            item.status, item.note = oc.failed("no-admin-group"), f"VPC {instance.vpc_id or '?'} has no admin group"
        elif admin not in groups:
            new_groups = [*groups, admin]
            if len(new_groups) > standard.max_groups_per_interface:
                item.status = oc.failed("too-many-groups")
                item.note = (f"the primary interface already has {len(groups)} groups; adding {admin} would "
                             f"exceed {standard.max_groups_per_interface}")
            else:
                item.groups_after = new_groups
                if item.status == oc.COMPLIANT:
                    item.status = oc.REMEDIATED
                group_actions.append(_group_action(instance, new_groups))
        plans.append(item)
    tag_actions = [
        Action("ec2:CreateTags", {"Resources": ids, "Tags": [{"Key": k, "Value": v} for k, v in tag_set]})
        for tag_set, ids in tag_sets.items()
    ]
    return Plan(plans, tag_actions + group_actions)


def _group_action(instance: Instance, groups: list[str]) -> Action:
    if len(instance.interfaces) > 1:
        primary = next(i for i in instance.interfaces if i.device_index == 0)
        return Action("ec2:ModifyNetworkInterfaceAttribute", {"NetworkInterfaceId": primary.eni_id, "Groups": groups})
    return Action("ec2:ModifyInstanceAttribute", {"InstanceId": instance.instance_id, "Groups": groups})


def overall(plans: list[InstancePlan], enforcing: bool) -> str:
    statuses = [p.status for p in plans]
    if all(s == oc.GONE for s in statuses):
        return oc.GONE
    failures = [s for s in statuses if s.startswith("failed:")]
    if failures:
        return failures[0]
    if oc.REMEDIATED in statuses:
        return oc.REMEDIATED if enforcing else oc.REPORTED
    if statuses and all(s in (oc.EXEMPT, oc.GONE) for s in statuses):
        return oc.EXEMPT
    return oc.COMPLIANT


def check_instances(ctx: PolicyContext, instance_ids: list[str],
                    known: dict[str, Instance] | None = None) -> Result:
    """Evaluate (and in enforce mode fix) instances; ``known`` lets the sweep pass what it already read."""
    ec2 = ctx.client("ec2")
    standard = ctx.settings.policies.ec2_compliance
    instances = known if known is not None else read_instances(ec2, instance_ids)
    live = [i for i in instances.values() if i.state not in GONE_STATES]
    admin_groups = {vpc: ADMIN_GROUPS.find(ec2, standard.admin_security_group, ctx.account, ctx.region, vpc)
                    for vpc in sorted({i.vpc_id for i in live if i.vpc_id})}
    exemptions = {i.instance_id: ctx.exemption(i.tags) for i in live}
    result_plan = plan(instances, instance_ids, standard, admin_groups, exemptions)
    if ctx.enforcing:
        for action in result_plan.actions:
            try:
                ctx.perform(action)
            except ClientError as error:
                # A terminated instance answers IncorrectInstanceState on real AWS: it is gone, not a failure.
                if error.response.get("Error", {}).get("Code", "") not in ("InvalidInstanceID.NotFound",
                                                                           "IncorrectInstanceState"):
                    raise
                for item in result_plan.instances:
                    if item.instance_id in str(error):
                        item.status, item.note = oc.GONE, "terminated before it could be fixed"
    status = overall(result_plan.instances, ctx.enforcing)
    before = {p.instance_id: {"groups": p.groups_before, "missing_tags": sorted(p.tags_to_add)}
              for p in result_plan.instances}
    after = before if not ctx.enforcing else {
        p.instance_id: {"groups": p.groups_after, "tags_added": p.tags_to_add} for p in result_plan.instances}
    stack = next((p.stack_name for p in result_plan.instances if p.stack_name), "")
    details: dict[str, Any] = {"instances": [p.to_dict() for p in result_plan.instances],
                               "admin_groups": admin_groups}
    if not ctx.enforcing:
        details["planned"] = [a.to_dict() for a in result_plan.actions]
    summary = _summary(result_plan.instances, ctx.enforcing)
    notify = status not in (oc.COMPLIANT, oc.EXEMPT, oc.GONE)
    return Result(status, ", ".join(instance_ids), summary, before, after, details=details, stack_name=stack,
                  notify=notify)


def _summary(plans: list[InstancePlan], enforcing: bool) -> str:
    verb = "added" if enforcing else "would add"
    lines = []
    for p in plans:
        parts = []
        if p.tags_to_add:
            parts.append(f"{verb} tags {', '.join(f'{k}={v}' for k, v in p.tags_to_add.items())}")
        if p.groups_after != p.groups_before:
            parts.append(f"{verb} admin group (groups now {', '.join(p.groups_after)})" if enforcing
                         else f"would add the admin group to {', '.join(p.groups_before) or 'no groups'}")
        if p.note:
            parts.append(p.note)
        lines.append(f"{p.instance_id}: {p.status}" + (f" - {'; '.join(parts)}" if parts else ""))
    return "\n".join(lines)


def evaluate(event: ApiCallEvent, ctx: PolicyContext, resource_ids: list[str]) -> Result:
    return check_instances(ctx, resource_ids)


handler = make_handler(POLICY_ID)
