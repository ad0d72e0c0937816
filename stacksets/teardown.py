"""``orgguard destroy``: remove the service control policy, the stack instances, both StackSets, the
management account's plain stacks and, when asked, the hub stack; ``plan`` names everything first so the
command can ask for confirmation.

Order: the service control policy first (detached, then deleted), so that nothing it protects stands in the
way; then the regional StackSet (instances of the other regions before the home region's, then the
StackSet), then the global one (its roles are what the regional rules name, and the regional StackSet's
automatic deployment depends on it), then the plain stacks, then the hub, which the spokes point at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import boto3
from botocore.exceptions import ClientError, WaiterError

from handlers.settings import Settings
from stacksets import management_stack, protection
from stacksets.access import AccessError, caller_account, client, error_message, hub_session
from stacksets.api import StackSetApi
from stacksets.errors import RolloutError
from stacksets.instance import Instance
from stacksets.operations import OperationOutcome, Waiter, region_waves
from stacksets.organization import OrgTree, check_caller, load_tree, management_account
from stacksets.parts import spoke_parts
from stacksets.rollout_stackset import deployed_units

HUB_WAITER = {"Delay": 10, "MaxAttempts": 360}


@dataclass
class StackSetPlan:
    name: str
    exists: bool
    instances: list[Instance]
    units: list[str]


@dataclass
class TeardownPlan:
    stacksets: list[StackSetPlan]  # in the order they go: regional, then global
    management_account: str
    management_stacks: list[management_stack.StackResult]  # the plain stacks present
    protection: protection.ProtectionReport | None = None  # what would be detached and deleted
    hub_stack: str = ""  # empty: the hub stays
    hub_location: str = ""
    hub_exists: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def protected(self) -> bool:
        return self.protection is not None and self.protection.action == "deleted"

    @property
    def empty(self) -> bool:
        return not (any(s.exists for s in self.stacksets) or self.management_stacks or self.hub_exists
                    or self.protected)

    def lines(self) -> list[str]:
        """What will go, in words a reviewer can check before saying yes."""
        lines = []
        if self.protection is not None and self.protected:
            targets = ", ".join(self.protection.detached) or "nothing"
            lines.append(f"the service control policy {self.protection.policy} (attached to {targets}), "
                         "first")
        for stackset in self.stacksets:
            if not stackset.exists:
                continue
            if stackset.instances:
                accounts = sorted({i.account for i in stackset.instances})
                regions = sorted({i.region for i in stackset.instances})
                lines.append(
                    f"{len(stackset.instances)} stack instances of StackSet {stackset.name} in "
                    f"{len(accounts)} accounts ({', '.join(accounts)}) and regions {', '.join(regions)}: "
                    "the spoke's stacks in those accounts"
                )
            lines.append(f"the StackSet {stackset.name} itself")
        if self.management_stacks:
            by_stack: dict[str, list[str]] = {}
            for stack in self.management_stacks:
                by_stack.setdefault(stack.stack, []).append(stack.region)
            stacks = "; ".join(f"{name} in {', '.join(regions)}" for name, regions in by_stack.items())
            lines.append(f"the plain stacks in the management account {self.management_account} ({stacks})")
        if self.hub_exists:
            lines.append(
                f"the hub stack {self.hub_stack} in {self.hub_location}: the hub bus, rules, Lambdas, "
                "topic, queues, and the audit table unless the stack retains it"
            )
        return lines


HUB_DELETED, HUB_ABSENT = "deleted", "absent"  # what happened to the hub stack; anything else is its failure


@dataclass
class TeardownReport:
    operations: list[OperationOutcome] = field(default_factory=list)
    protection: protection.ProtectionReport | None = None
    stacksets_deleted: list[str] = field(default_factory=list)
    management: list[management_stack.StackResult] = field(default_factory=list)
    hub: str = ""  # deleted | absent | failed: reason | "" (not asked)

    @property
    def ok(self) -> bool:
        return (
            all(o.succeeded for o in self.operations)
            and all(m.ok for m in self.management)
            and self.hub in ("", HUB_DELETED, HUB_ABSENT)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "operations": [asdict(o) for o in self.operations],
            "protection": self.protection.to_dict() if self.protection else None,
            "stacksets_deleted": self.stacksets_deleted,
            "management_stack": [asdict(m) for m in self.management],
            "hub": self.hub,
        }


def _hub_cloudformation(session: boto3.Session, settings: Settings) -> Any:
    try:
        return client(hub_session(session, settings), "cloudformation", settings.organization.hub_region)
    except AccessError as error:
        raise RolloutError(f"cannot reach the hub account to delete its stack: {error}") from error


def _stack_exists(cfn: Any, name: str) -> bool:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in error_message(error):
            return False
        raise
    return bool(stacks) and stacks[0].get("StackStatus") != "DELETE_COMPLETE"


@dataclass
class Teardown:
    session: boto3.Session
    settings: Settings
    call_as: str
    stream: TextIO | None = None
    make_waiter: Callable[[StackSetApi], Waiter] | None = None

    def plan(self, include_hub: bool) -> TeardownPlan:
        settings, org = self.settings, self.settings.organization
        caller = caller_account(self.session)
        management = management_account(self.session)
        check_caller(self.session, settings, management, caller, self.call_as)
        tree: OrgTree = load_tree(self.session, management)
        stacksets = []
        for part in reversed(spoke_parts(settings)):
            api = StackSetApi(self.session, settings, self.call_as, part.stackset)
            exists = api.describe() is not None
            instances = api.instances() if exists else []
            stacksets.append(StackSetPlan(api.name, exists, instances,
                                          deployed_units(tree, instances, org.target_ous)))
        plan = TeardownPlan(stacksets, tree.management_account, [])
        if caller == tree.management_account:
            present = management_stack.status(self.session, settings, org.regions)
            plan.management_stacks = [s for s in present if s.action == "present"]
        else:
            plan.notes.append(
                "the management account's plain stacks (if any) stay: only its own credentials can delete them"
            )
        try:
            plan.protection = protection.unprotect(self.session, dry_run=True)
        except RolloutError as error:
            plan.notes.append(f"the service control policy (if any) stays: {error}")
        if include_hub:
            plan.hub_stack = settings.hub.stack_name
            plan.hub_location = f"{org.hub_account}/{org.hub_region}"
            plan.hub_exists = _stack_exists(_hub_cloudformation(self.session, settings), plan.hub_stack)
            if not plan.hub_exists:
                plan.notes.append(f"no hub stack {plan.hub_stack} in {plan.hub_location}")
        return plan

    def execute(self, plan: TeardownPlan) -> TeardownReport:
        settings = self.settings
        report = TeardownReport()
        if plan.protected:
            report.protection = protection.unprotect(self.session)
        for stackset in plan.stacksets:
            api = StackSetApi(self.session, settings, self.call_as, stackset.name)
            if stackset.instances:
                self._delete_instances(api, stackset, report)
            if stackset.exists:
                api.delete()
                report.stacksets_deleted.append(api.name)
        if plan.management_stacks:
            report.management = management_stack.delete(self.session, settings, plan.management_stacks)
        if plan.hub_exists:
            report.hub = self._delete_hub(plan.hub_stack)
        elif plan.hub_stack:
            report.hub = HUB_ABSENT
        return report

    def _delete_instances(self, api: StackSetApi, stackset: StackSetPlan, report: TeardownReport) -> None:
        waiter = self.make_waiter(api) if self.make_waiter else Waiter(api, self.stream)
        regions = sorted({i.region for i in stackset.instances})
        accounts = len({i.account for i in stackset.instances})
        for wave in reversed(region_waves(self.settings.organization.spoke_home_region, regions)):
            outcome = waiter.wait(
                api.delete_instances(stackset.units, wave), f"delete {api.name} {'+'.join(wave)}",
                accounts * len(wave)
            )
            report.operations.append(outcome)
            if not outcome.succeeded:
                break
        remaining = api.instances()
        if remaining:
            listed = ", ".join(f"{i.account}/{i.region} {i.status} {i.reason}".rstrip() for i in remaining[:10])
            raise RolloutError(
                f"{len(remaining)} stack instances of {api.name} remain after the delete ({listed}): "
                "see the operation in the CloudFormation console "
                f"(StackSets > {api.name} > Operations), fix the cause and run `orgguard destroy` again"
            )

    def _delete_hub(self, name: str) -> str:
        cfn = _hub_cloudformation(self.session, self.settings)
        try:
            cfn.delete_stack(StackName=name)
            cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=HUB_WAITER)
        except WaiterError as error:
            return f"failed: {error}"
        except ClientError as error:
            return f"failed: {error_message(error)}"
        return HUB_DELETED
