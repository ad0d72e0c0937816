"""ec2-compliance: every launched instance gets the required tags it lacks and the admin security group.

Real-AWS facts this module respects:
- Users and Auto Scaling tag right after launch: only what is missing at the time of the check is added,
  a value that is there is never overwritten, nothing is removed.
- At most 50 tags per resource (keys starting with ``aws:`` do not count): an instance that would exceed
  it gets ``failed:tag-limit``, the other instances of the event carry on.
- ``ModifyInstanceAttribute Groups`` *replaces* the set, so existing groups + the admin group are sent; an
  instance with several network interfaces is changed on its primary interface (network card 0, device
  index 0) with ``ModifyNetworkInterfaceAttribute`` (the instance call is refused for those with
  ``InvalidInstanceID``, also when an interface was attached after the read: the instance is then read
  again and its primary interface changed); an interface holds at most 5 groups by default.
- The admin group is per VPC (and region); a VPC without one is ``failed:no-admin-group`` and a
  notification.
- EC2 is eventually consistent: within ``fresh_instance_window_seconds`` of the event, an instance EC2 does
  not show (or a ``pending`` one it refuses to change) is retried later (``NotYetVisible``); after it, not
  found means gone. ``gone`` is otherwise only an instance DescribeInstances shows shutting down or
  terminated.
- A refused write is attributed to instances by its error code and a re-read of the instances it
  concerned, never by parsing the message; the record says per instance what was really done.

Minimum calls per event: one DescribeInstances; at most one CreateTags per distinct set of missing tags
(one for a RunInstances, whose instances share their tags); one DescribeSecurityGroups per VPC (cached);
one ModifyInstanceAttribute per instance that lacks the group. A refused write adds one DescribeInstances.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.context import PolicyContext
from handlers.engine import make_handler
from handlers.errors import NotYetVisible, error_code, is_transient
from handlers.events import ApiCallEvent
from handlers.exemptions import tags_to_dict
from handlers.outcome import Action, Result
from handlers.settings import Ec2Compliance

POLICY_ID = "ec2-compliance"
STACK_TAG = "aws:cloudformation:stack-name"
GONE_STATES = ("shutting-down", "terminated")
TAG_LIMIT = 50  # tags per EC2 resource; tags whose key starts with "aws:" do not count against it
NOT_FOUND = "InvalidInstanceID.NotFound"
WRONG_STATE = "IncorrectInstanceState"
# Codes with which EC2 refuses a write because of an instance's existence or state: the instances of the call
# are read again to learn which one it was and why.
INSTANCE_CODES = (NOT_FOUND, WRONG_STATE, "InvalidNetworkInterfaceID.NotFound")
# ModifyInstanceAttribute Groups on an instance that has several network interfaces ("There are multiple interfaces
# attached to instance ..."): one was attached after the read (EKS's VPC CNI attaches them right after launch).
MULTIPLE_INTERFACES = "InvalidInstanceID"
INSTANCE_ID_RE = re.compile(r"^i-[0-9a-f]{8,17}$")
TAGS, GROUPS = "tags", "groups"


@dataclass(frozen=True)
class Interface:
    eni_id: str
    device_index: int
    groups: tuple[str, ...]
    network_card_index: int = 0

    @property
    def primary(self) -> bool:
        return self.network_card_index == 0 and self.device_index == 0


@dataclass(frozen=True)
class Instance:
    instance_id: str
    state: str
    vpc_id: str
    tags: dict[str, str]
    interfaces: tuple[Interface, ...]
    groups: tuple[str, ...]

    @property
    def primary_interface(self) -> Interface | None:
        return next((i for i in self.interfaces if i.primary), None)

    @property
    def primary_groups(self) -> tuple[str, ...]:
        primary = self.primary_interface
        return primary.groups if primary is not None else self.groups

    @property
    def counted_tags(self) -> int:
        """Tags that count against the 50-tag limit."""
        return sum(1 for key in self.tags if not key.lower().startswith("aws:"))


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


def parse_instance(raw: dict[str, Any]) -> Instance:
    interfaces = tuple(
        Interface(
            eni_id=eni.get("NetworkInterfaceId", ""),
            device_index=int((eni.get("Attachment") or {}).get("DeviceIndex", 0)),
            groups=tuple(g["GroupId"] for g in eni.get("Groups", []) if g.get("GroupId")),
            network_card_index=int((eni.get("Attachment") or {}).get("NetworkCardIndex", 0) or 0),
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
    """Live state of the instances EC2 shows (one call; per id only if some id is unknown)."""
    try:
        pages = [ec2.describe_instances(InstanceIds=instance_ids)]
    except ClientError as error:
        if error_code(error) not in (NOT_FOUND, "InvalidInstanceID.Malformed"):
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


def plan(instances: dict[str, Instance], wanted_ids: list[str], standard: Ec2Compliance,
         admin_groups: dict[str, str | None], exemptions: dict[str, str | None]) -> Plan:
    """Pure: what each instance needs, and the fewest write calls that do it."""
    plans: list[InstancePlan] = []
    tag_sets: dict[tuple[tuple[str, str], ...], list[str]] = {}
    group_steps: list[Step] = []
    for instance_id in wanted_ids:
        instance = instances.get(instance_id)
        if instance is None or instance.state in GONE_STATES:
            plans.append(InstancePlan(instance_id, oc.GONE,
                                      note=instance.state if instance is not None else "not found"))
            continue
        stack = instance.tags.get(STACK_TAG, "")
        groups = list(instance.primary_groups)
        if exemptions.get(instance_id):
            plans.append(InstancePlan(instance_id, oc.EXEMPT, groups_before=groups, groups_after=groups,
                                      note=str(exemptions[instance_id]), stack_name=stack))
            continue
        missing = {k: v for k, v in standard.required_tags.items() if k not in instance.tags}
        item = InstancePlan(instance_id, oc.COMPLIANT, groups_before=groups, groups_after=list(groups),
                            stack_name=stack, missing_tags=sorted(missing))
        if missing and instance.counted_tags + len(missing) > TAG_LIMIT:
            item.fail("tag-limit", f"it has {instance.counted_tags} tags and lacks {len(missing)} required "
                                   f"tag(s) ({', '.join(sorted(missing))}): adding them would exceed AWS's "
                                   f"limit of {TAG_LIMIT} tags per resource")
        elif missing:
            item.tags_to_add = missing
            tag_sets.setdefault(tuple(sorted(missing.items())), []).append(instance_id)
        admin = admin_groups.get(instance.vpc_id)
        if admin is None:
            item.fail("no-admin-group", f"VPC {instance.vpc_id or '?'} has no admin group")
        elif admin not in groups:
            new_groups = [*groups, admin]
            if len(instance.interfaces) > 1 and instance.primary_interface is None:
                item.fail("no-primary-interface", "none of its network interfaces is the primary one "
                                                  "(network card 0, device index 0)")
            elif len(new_groups) > standard.max_groups_per_interface:
                item.fail("too-many-groups", f"the primary interface already has {len(groups)} groups; adding "
                                             f"{admin} would exceed {standard.max_groups_per_interface}")
            else:
                item.groups_after = new_groups
                action = _group_action(instance, new_groups)
                item.interface = str(action.params.get("NetworkInterfaceId", ""))
                group_steps.append(Step(action, (instance_id,), GROUPS))
        if item.status.kind is oc.OutcomeKind.COMPLIANT and item.wants_work:
            item.status = oc.REMEDIATED
        plans.append(item)
    tag_steps = [
        Step(Action("ec2:CreateTags", {"Resources": ids, "Tags": [{"Key": k, "Value": v} for k, v in tag_set]}),
             tuple(ids), TAGS)
        for tag_set, ids in tag_sets.items()
    ]
    return Plan(plans, tag_steps + group_steps)


def _group_action(instance: Instance, groups: list[str]) -> Action:
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


# --- writes and what they really did ---------------------------------------------------------------------

RETRY_LATER, GONE, IN_PLACE, AGAIN, FAILED = "retry-later", "gone", "in-place", "again", "failed"


@dataclass(frozen=True)
class Verdict:
    kind: str  # RETRY_LATER | GONE | IN_PLACE (the step's effect is there) | AGAIN (send again) | FAILED
    note: str = ""


def judge_refused_write(step: Step, targets: list[str], live: dict[str, Instance], code: str,
                        fresh: bool) -> dict[str, Verdict]:
    """Pure: after EC2 refused ``step`` on ``targets`` with ``code``, what each instance's re-read says."""
    verdicts: dict[str, Verdict] = {}
    for instance_id in targets:
        instance = live.get(instance_id)
        if instance is None:
            verdicts[instance_id] = (Verdict(RETRY_LATER, "not visible yet") if fresh else
                                     Verdict(GONE, f"not found by DescribeInstances after {code}"))
        elif instance.state in GONE_STATES:
            verdicts[instance_id] = Verdict(GONE, f"{instance.state} before it could be fixed")
        elif instance.state == "pending" and code == WRONG_STATE:
            verdicts[instance_id] = (Verdict(RETRY_LATER, "still pending") if fresh else
                                     Verdict(FAILED, "still pending, EC2 refused the change"))
        elif _in_place(step, instance):
            verdicts[instance_id] = Verdict(IN_PLACE)
        else:
            verdicts[instance_id] = Verdict(AGAIN)
    if verdicts and all(v.kind == AGAIN for v in verdicts.values()):
        # No instance of the call explains the refusal: a write endpoint that does not see a fresh instance
        # yet, or a real failure of each of them.
        for instance_id in targets:
            verdicts[instance_id] = (Verdict(RETRY_LATER, "not visible to EC2's write yet") if fresh else
                                     Verdict(FAILED, f"{step.action.action} was refused with {code}"))
    return verdicts


def _in_place(step: Step, instance: Instance) -> bool:
    if step.kind == TAGS:
        return all(t["Key"] in instance.tags for t in step.action.params["Tags"])
    return set(step.action.params["Groups"]) <= set(instance.primary_groups)


def _narrowed(step: Step, targets: list[str]) -> Step:
    if step.kind != TAGS or list(step.instance_ids) == targets:
        return step
    return Step(Action(step.action.action, {**step.action.params, "Resources": targets}), tuple(targets), TAGS)


class _Writer:
    """Sends the plan's writes in enforce mode and records per instance what each really did."""

    def __init__(self, ctx: PolicyContext, ec2: Any, items: dict[str, InstancePlan], fresh: bool,
                 age: float | None) -> None:
        self._ctx, self._ec2, self._items, self._fresh, self._age = ctx, ec2, items, fresh, age

    def run(self, steps: list[Step]) -> None:
        for step in steps:
            targets = [i for i in step.instance_ids if self._items[i].status.kind is not oc.OutcomeKind.GONE]
            if targets:
                self._send(_narrowed(step, targets))

    def _send(self, step: Step) -> None:
        try:
            self._ctx.perform(step.action)
        except ClientError as error:
            if is_transient(error):
                raise
            self._refused(step, error)
            return
        for instance_id in step.instance_ids:
            self._done(self._items[instance_id], step)

    def _done(self, item: InstancePlan, step: Step) -> None:
        if step.kind == TAGS:
            item.tags_added = {t["Key"]: t["Value"] for t in step.action.params["Tags"]}
        else:
            item.groups_changed = True

    def _refused(self, step: Step, error: ClientError) -> None:
        code = error_code(error)
        message = str(error.response.get("Error", {}).get("Message", ""))[:200]
        targets = list(step.instance_ids)
        if code == MULTIPLE_INTERFACES and step.action.action == "ec2:ModifyInstanceAttribute":
            self._to_primary_interface(step, code, message)
            return
        if code not in INSTANCE_CODES:
            for instance_id in targets:
                self._items[instance_id].fail(code, f"{step.action.action} failed: {code}: {message}")
            return
        verdicts = judge_refused_write(step, targets, read_instances(self._ec2, targets), code, self._fresh)
        later = [i for i, v in verdicts.items() if v.kind == RETRY_LATER]
        if later:
            age = f"{self._age:.0f} s" if self._age is not None else "moments"
            raise NotYetVisible(f"{step.action.action} on {', '.join(later)} refused with {code} {age} after "
                                f"the launch ({verdicts[later[0]].note}); EC2 is eventually consistent") from error
        again = [i for i, v in verdicts.items() if v.kind == AGAIN]
        for instance_id, verdict in verdicts.items():
            item = self._items[instance_id]
            if verdict.kind == GONE:
                item.gone(verdict.note)
            elif verdict.kind == FAILED:
                item.fail(code, f"{verdict.note}: {message}")
            elif verdict.kind == IN_PLACE:
                item.add_note(f"{'the tags' if step.kind == TAGS else 'the admin group'} were already in "
                              "place when read again")
        if again:  # the refusal was explained by other instances of the call: the rest is sent again
            self._send(_narrowed(step, again))

    def _to_primary_interface(self, step: Step, code: str, message: str) -> None:
        """The instance has several interfaces now: read it again and add the group to its primary interface."""
        (instance_id,) = step.instance_ids
        item = self._items[instance_id]
        instance = read_instances(self._ec2, [instance_id]).get(instance_id)
        if instance is None or instance.state in GONE_STATES:
            item.gone(f"{instance.state if instance else 'not found'} after {code}")
            return
        primary = instance.primary_interface
        if len(instance.interfaces) < 2 or primary is None:
            item.fail(code, f"{step.action.action} failed: {code}: {message}")
            return
        adding = [g for g in step.action.params["Groups"] if g not in item.groups_before]
        groups = [*primary.groups, *(g for g in adding if g not in primary.groups)]
        limit = self._ctx.settings.policies.ec2_compliance.max_groups_per_interface
        item.groups_before, item.groups_after, item.interface = list(primary.groups), groups, primary.eni_id
        item.add_note(f"a network interface was attached after the read: the group goes on the primary "
                      f"interface {primary.eni_id}")
        if groups == list(primary.groups):
            item.add_note("the admin group was already in place when read again")
        elif len(groups) > limit:
            item.fail("too-many-groups", f"the primary interface already has {len(primary.groups)} groups; adding "
                                         f"{', '.join(adding)} would exceed {limit}")
        else:
            self._send(Step(_group_action(instance, groups), (instance_id,), GROUPS))


# --- the check -------------------------------------------------------------------------------------------


def event_age(event_time: str, now: float) -> float | None:
    """Seconds since the event's ``eventTime`` (ISO 8601, UTC); None when it cannot be read."""
    try:
        when = dt.datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return now - when.timestamp()


def check_instances(ctx: PolicyContext, instance_ids: list[str], known: dict[str, Instance] | None = None,
                    launched: str = "") -> Result:
    """Evaluate (and in enforce mode fix) instances; ``known`` lets the sweep pass what it already read;
    ``launched`` is the RunInstances event's time (the sweep's instances were listed, so they exist)."""
    ec2 = ctx.client("ec2")
    standard = ctx.settings.policies.ec2_compliance
    age = event_age(launched, ctx.clock()) if launched else None
    fresh = age is not None and age < standard.fresh_instance_window_seconds
    instances = known if known is not None else read_instances(ec2, instance_ids)
    unseen = [i for i in instance_ids if i not in instances and INSTANCE_ID_RE.fullmatch(i)]
    if fresh and unseen:
        raise NotYetVisible(f"DescribeInstances does not show {', '.join(unseen)} {age:.0f} s after the launch "
                            "(EC2 is eventually consistent)")
    live = [i for i in instances.values() if i.state not in GONE_STATES]
    admin_groups = {vpc: ctx.admin_groups.find(ec2, standard.admin_security_group, ctx.account, ctx.region, vpc)
                    for vpc in sorted({i.vpc_id for i in live if i.vpc_id})}
    exemptions = {i.instance_id: ctx.exemption(i.tags) for i in live}
    result_plan = plan(instances, instance_ids, standard, admin_groups, exemptions)
    items = {p.instance_id: p for p in result_plan.instances}
    if ctx.enforcing:
        _Writer(ctx, ec2, items, fresh, age).run(result_plan.steps)
        for item in result_plan.instances:
            if item.status.kind is oc.OutcomeKind.REMEDIATED and not (item.tags_added or item.groups_changed):
                item.status = oc.COMPLIANT  # what it lacked was in place when read again
    status = overall(result_plan.instances, ctx.enforcing)
    before = {p.instance_id: {"groups": p.groups_before, "missing_tags": p.missing_tags}
              for p in result_plan.instances}
    after = before if not ctx.enforcing else {
        p.instance_id: {"groups": p.groups_after if p.groups_changed else p.groups_before,
                        "tags_added": p.tags_added} for p in result_plan.instances}
    stack = next((p.stack_name for p in result_plan.instances if p.stack_name), "")
    details: dict[str, Any] = {"instances": [p.to_dict() for p in result_plan.instances],
                               "admin_groups": admin_groups}
    if not ctx.enforcing:
        details["planned"] = [a.to_dict() for a in result_plan.actions]
    summary = _summary(result_plan.instances, ctx.enforcing)
    notify = status.kind not in (oc.OutcomeKind.COMPLIANT, oc.OutcomeKind.EXEMPT, oc.OutcomeKind.GONE)
    return Result(status, ", ".join(instance_ids), summary, before, after, details=details, stack_name=stack,
                  notify=notify)


def _summary(plans: list[InstancePlan], enforcing: bool) -> str:
    lines = []
    for p in plans:
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
        lines.append(f"{p.instance_id}: {p.status}" + (f" - {'; '.join(parts)}" if parts else ""))
    return "\n".join(lines)


def evaluate(event: ApiCallEvent, ctx: PolicyContext, resource_ids: list[str]) -> Result:
    return check_instances(ctx, resource_ids, launched=event.event_time)


handler = make_handler(POLICY_ID)
