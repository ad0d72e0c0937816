"""The EC2 decision (pure): what each instance lacks, and the fewest write calls that add it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handlers import outcome as oc
from handlers.guardrails.ec2_compliance.instances import GONE_STATES, Instance
from handlers.guardrails.ec2_compliance.settings import Ec2Compliance
from handlers.outcome import Action

STACK_TAG = "aws:cloudformation:stack-name"
LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
TAG_LIMIT = 50  # tags per EC2 resource; tags whose key starts with "aws:" do not count against it
TAGS, GROUPS = "tags", "groups"


@dataclass
class InstancePlan:
    instance_id: str
    status: oc.Outcome  # compliant | remediated | exempt | gone | failed:<why>
    tags_to_add: dict[str, str] = field(default_factory=dict)
    groups_before: list[str] = field(default_factory=list)
    groups_after: list[str] = field(default_factory=list)
    note: str = ""
    stack_name: str = ""
    missing_tags: list[str] = field(default_factory=list)
    # What was really done (enforce mode), filled in as the writes succeed.
    tags_added: dict[str, str] = field(default_factory=dict)
    groups_changed: bool = False
    interface: str = ""  # the network interface the groups are changed on, when it is not the instance
    logical_id: str = ""  # its aws:cloudformation:logical-id tag, when a stack owns it

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def fail(self, why: str, note: str) -> None:
        """The first failure names the status; every failure is in the note."""
        if self.status.kind not in (oc.OutcomeKind.GONE, oc.OutcomeKind.FAILED):
            self.status = oc.failed(why)
        self.add_note(note)

    def add_note(self, note: str) -> None:
        self.note = f"{self.note}; {note}" if self.note else note

    def gone(self, note: str) -> None:
        self.status = oc.GONE
        self.add_note(note)

    @property
    def wants_work(self) -> bool:
        return bool(self.tags_to_add) or self.groups_after != self.groups_before


@dataclass(frozen=True)
class Step:
    """One write call and the instances it concerns."""

    action: Action
    instance_ids: tuple[str, ...]
    kind: str  # TAGS or GROUPS


@dataclass
class Plan:
    instances: list[InstancePlan]
    steps: list[Step]

    @property
    def actions(self) -> list[Action]:
        return [s.action for s in self.steps]


def plan_instance(instance_id: str, instance: Instance | None, standard: Ec2Compliance, admin: str | None,
                  exemption: str | None) -> InstancePlan:
    """Pure: what one instance lacks and the state it would be left in (its writes come from ``steps_for``)."""
    if instance is None or instance.state in GONE_STATES:
        return InstancePlan(instance_id, oc.GONE, note=instance.state if instance is not None else "not found")
    stack, logical_id = instance.tags.get(STACK_TAG, ""), instance.tags.get(LOGICAL_ID_TAG, "")
    groups = list(instance.primary_groups)
    if exemption:
        return InstancePlan(instance_id, oc.EXEMPT, groups_before=groups, groups_after=groups, note=exemption,
                            stack_name=stack, logical_id=logical_id)
    missing = {k: v for k, v in standard.required_tags.items() if k not in instance.tags}
    item = InstancePlan(instance_id, oc.COMPLIANT, groups_before=groups, groups_after=list(groups),
                        stack_name=stack, missing_tags=sorted(missing), logical_id=logical_id)
    if missing and instance.counted_tags + len(missing) > TAG_LIMIT:
        item.fail("tag-limit", f"it has {instance.counted_tags} tags and lacks {len(missing)} required "
                               f"tag(s) ({', '.join(sorted(missing))}): adding them would exceed AWS's "
                               f"limit of {TAG_LIMIT} tags per resource")
    elif missing:
        item.tags_to_add = missing
    _plan_admin_group(item, instance, standard, admin, groups)
    if item.status.kind is oc.OutcomeKind.COMPLIANT and item.wants_work:
        item.status = oc.REMEDIATED
    return item


def _plan_admin_group(item: InstancePlan, instance: Instance, standard: Ec2Compliance, admin: str | None,
                      groups: list[str]) -> None:
    if admin is None:
        item.fail("no-admin-group", f"VPC {instance.vpc_id or '?'} has no admin group")
        return
    if admin in groups:
        return
    new_groups = [*groups, admin]
    if len(instance.interfaces) > 1 and instance.primary_interface is None:
        item.fail("no-primary-interface", "none of its network interfaces is the primary one "
                                          "(network card 0, device index 0)")
    elif len(new_groups) > standard.max_groups_per_interface:
        item.fail("too-many-groups", f"the primary interface already has {len(groups)} groups; adding "
                                     f"{admin} would exceed {standard.max_groups_per_interface}")
    else:
        item.groups_after = new_groups
        item.interface = str(group_action(instance, new_groups).params.get("NetworkInterfaceId", ""))


def steps_for(items: list[InstancePlan]) -> list[Step]:
    """Pure: the fewest writes for these plans: one CreateTags per distinct set of missing tags, then one
    group change per instance (on its primary interface when it has several)."""
    tag_sets: dict[tuple[tuple[str, str], ...], list[str]] = {}
    group_steps: list[Step] = []
    for item in items:
        if item.status.kind in (oc.OutcomeKind.GONE, oc.OutcomeKind.EXEMPT):
            continue
        if item.tags_to_add:
            tag_sets.setdefault(tuple(sorted(item.tags_to_add.items())), []).append(item.instance_id)
        if item.groups_after != item.groups_before:
            params: dict[str, Any] = ({"NetworkInterfaceId": item.interface} if item.interface
                                      else {"InstanceId": item.instance_id})
            operation = "ec2:ModifyNetworkInterfaceAttribute" if item.interface else "ec2:ModifyInstanceAttribute"
            group_steps.append(Step(Action(operation, {**params, "Groups": item.groups_after}),
                                    (item.instance_id,), GROUPS))
    tag_steps = [
        Step(Action("ec2:CreateTags", {"Resources": ids, "Tags": [{"Key": k, "Value": v} for k, v in tag_set]}),
             tuple(ids), TAGS)
        for tag_set, ids in tag_sets.items()
    ]
    return tag_steps + group_steps


def plan(instances: dict[str, Instance], wanted_ids: list[str], standard: Ec2Compliance,
         admin_groups: dict[str, str | None], exemptions: dict[str, str | None]) -> Plan:
    """Pure: what each instance needs, and the fewest write calls that do it."""
    items = []
    for instance_id in wanted_ids:
        instance = instances.get(instance_id)
        admin = admin_groups.get(instance.vpc_id) if instance is not None else None
        items.append(plan_instance(instance_id, instance, standard, admin, exemptions.get(instance_id)))
    return Plan(items, steps_for(items))


def group_action(instance: Instance, groups: list[str]) -> Action:
    primary = instance.primary_interface
    if len(instance.interfaces) > 1 and primary is not None:
        return Action("ec2:ModifyNetworkInterfaceAttribute", {"NetworkInterfaceId": primary.eni_id, "Groups": groups})
    return Action("ec2:ModifyInstanceAttribute", {"InstanceId": instance.instance_id, "Groups": groups})


def overall(plans: list[InstancePlan], enforcing: bool) -> oc.Outcome:
    statuses = [p.status for p in plans]
    if all(s == oc.GONE for s in statuses):
        return oc.GONE
    failures = [s for s in statuses if s.kind is oc.OutcomeKind.FAILED]
    if failures:
        return failures[0]
    if oc.REMEDIATED in statuses:
        return oc.REMEDIATED if enforcing else oc.REPORTED
    if statuses and all(s in (oc.EXEMPT, oc.GONE) for s in statuses):
        return oc.EXEMPT
    return oc.COMPLIANT


def summary_line(p: InstancePlan, enforcing: bool) -> str:
    """One line on what was (or in report mode would be) done to an instance."""
    parts = []
    if enforcing:
        if p.tags_added:
            parts.append(f"added tags {', '.join(f'{k}={v}' for k, v in p.tags_added.items())}")
        if p.groups_changed:
            where = f" to primary interface {p.interface}" if p.interface else ""
            parts.append(f"added admin group{where} (groups now {', '.join(p.groups_after)})")
    else:
        if p.tags_to_add:
            parts.append(f"would add tags {', '.join(f'{k}={v}' for k, v in p.tags_to_add.items())}")
        if p.groups_after != p.groups_before:
            parts.append(f"would add the admin group to {', '.join(p.groups_before) or 'no groups'}")
    if p.note:
        parts.append(p.note)
    return f"{p.instance_id}: {p.status}" + (f" - {'; '.join(parts)}" if parts else "")
