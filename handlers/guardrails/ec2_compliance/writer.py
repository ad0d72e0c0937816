"""Sending an EC2 plan's writes, and learning from a refused one what each instance really got."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.errors import NotYetVisible, error_code, is_transient
from handlers.guardrails.ec2_compliance.instances import GONE_STATES, NOT_FOUND, Instance, read_instances
from handlers.guardrails.ec2_compliance.plan import GROUPS, TAGS, InstancePlan, Step, group_action
from handlers.outcome import Action

if TYPE_CHECKING:
    from handlers.context import PolicyContext

WRONG_STATE = "IncorrectInstanceState"
# Codes with which EC2 refuses a write because of an instance's existence or state: the instances of the call
# are read again to learn which one it was and why.
INSTANCE_CODES = (NOT_FOUND, WRONG_STATE, "InvalidNetworkInterfaceID.NotFound")
# ModifyInstanceAttribute Groups on an instance that has several network interfaces ("There are multiple interfaces
# attached to instance ..."): one was attached after the read (EKS's VPC CNI attaches them right after launch).
MULTIPLE_INTERFACES = "InvalidInstanceID"


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


class Writer:
    """Sends the plan's writes in enforce mode and records per instance what each really did."""

    def __init__(self, ctx: PolicyContext, items: dict[str, InstancePlan], fresh: bool, age: float | None,
                 max_groups: int) -> None:
        self._ctx, self._ec2, self._items, self._fresh, self._age = ctx, ctx.client("ec2"), items, fresh, age
        self._max_groups = max_groups

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
        limit = self._max_groups
        item.groups_before, item.groups_after, item.interface = list(primary.groups), groups, primary.eni_id
        item.add_note(f"a network interface was attached after the read: the group goes on the primary "
                      f"interface {primary.eni_id}")
        if groups == list(primary.groups):
            item.add_note("the admin group was already in place when read again")
        elif len(groups) > limit:
            item.fail("too-many-groups", f"the primary interface already has {len(primary.groups)} groups; adding "
                                         f"{', '.join(adding)} would exceed {limit}")
        else:
            self._send(Step(group_action(instance, groups), (instance_id,), GROUPS))


