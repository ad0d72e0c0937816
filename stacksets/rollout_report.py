"""What ``orgguard stackset`` reports: a row per stack instance, a result per StackSet, the rollout report and
the notes on instances it leaves alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from stacksets import management_stack, protection
from stacksets.instance import Instance
from stacksets.operations import OperationOutcome
from stacksets.organization import OrgTree
from stacksets.parts import GLOBAL, REGIONAL, SpokePart
from stacksets.targets import NewTarget

MISSING = "MISSING"


@dataclass(frozen=True)
class InstanceRow:
    account: str
    name: str
    region: str
    status: str
    detailed: str
    reason: str
    in_target_ous: bool = True
    stackset: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "CURRENT"


@dataclass
class StackSetResult:
    name: str
    part: str  # GLOBAL | REGIONAL
    action: str  # created | updated | unchanged (with dry_run: what would happen)
    created_instances: list[tuple[str, str]] = field(default_factory=list)
    retried_instances: list[tuple[str, str]] = field(default_factory=list)
    instances: list[InstanceRow] = field(default_factory=list)
    new_targets: list[NewTarget] = field(default_factory=list)  # OUs made deployment targets (with dry_run: to be)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stackset": self.name,
            "part": self.part,
            "action": self.action,
            "created_instances": [list(pair) for pair in self.created_instances],
            "new_targets": [asdict(target) for target in self.new_targets],
            "retried_instances": [list(pair) for pair in self.retried_instances],
            "instances": [asdict(row) for row in self.instances],
        }


@dataclass
class RolloutReport:
    dry_run: bool = False
    stacksets: list[StackSetResult] = field(default_factory=list)  # global first
    operations: list[OperationOutcome] = field(default_factory=list)
    management: list[management_stack.StackResult] = field(default_factory=list)
    migration: list[str] = field(default_factory=list)  # the plan, when a single-StackSet spoke was migrated
    protection: protection.ProtectionReport | None = None
    notes: list[str] = field(default_factory=list)

    def stackset(self, part: str) -> StackSetResult:
        return next(s for s in self.stacksets if s.part == part)

    @property
    def instances(self) -> list[InstanceRow]:
        return [row for result in self.stacksets for row in result.instances]

    @property
    def failed_instances(self) -> list[InstanceRow]:
        return [row for row in self.instances if not row.ok]

    @property
    def ok(self) -> bool:
        if self.dry_run:
            return True
        operations_ok = all(o.succeeded for o in self.operations)
        reached = {s.part for s in self.stacksets} == {GLOBAL, REGIONAL}
        return operations_ok and reached and not self.failed_instances and all(m.ok for m in self.management)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "stacksets": [s.to_dict() for s in self.stacksets],
            "operations": [asdict(o) for o in self.operations],
            "instances": [asdict(row) for row in self.instances],
            "management_stack": [asdict(m) for m in self.management],
            "migration": self.migration,
            "protection": self.protection.to_dict() if self.protection else None,
            "notes": self.notes,
        }


def operations_succeeded(report: RolloutReport) -> bool:
    return all(o.succeeded for o in report.operations)


def instance_rows(
    tree: OrgTree, governed: Sequence[str], instances: Sequence[Instance], part: SpokePart
) -> list[InstanceRow]:
    regions = list(part.regions)
    regions += sorted({i.region for i in instances} - set(regions))
    by_pair = {(i.account, i.region): i for i in instances}
    governed_set = set(governed)
    accounts = sorted(governed_set | {i.account for i in instances})
    rows = []
    for account in accounts:
        name = tree.accounts[account].name if account in tree.accounts else "(not in the organization)"
        for region in regions:
            instance = by_pair.get((account, region))
            if instance is None:
                if account in governed_set and region in part.regions:
                    rows.append(InstanceRow(account, name, region, MISSING, "", "no stack instance",
                                            stackset=part.stackset))
                continue
            rows.append(
                InstanceRow(
                    account,
                    name,
                    region,
                    instance.status,
                    instance.detailed,
                    instance.reason,
                    account in governed_set,
                    part.stackset,
                )
            )
    return rows


def instance_notes(report: RolloutReport, parts: Mapping[str, SpokePart]) -> list[str]:
    """Notes on the instances a rollout reaches or leaves alone: outside the target OUs, INOPERABLE, in stray
    regions."""
    notes = []
    instances = [row for row in report.instances if row.status != MISSING]
    if any(not row.in_target_ous for row in instances):
        notes.append(
            "accounts outside the target OUs have instances (added by `orgguard onboard`); updates reach them too"
        )
    inoperable = [row for row in instances if row.status == "INOPERABLE"]
    if inoperable:
        notes.append(
            "INOPERABLE instances (" + ", ".join(f"{i.stackset} {i.account}/{i.region}" for i in inoperable)
            + ") cannot be updated: delete them with `aws cloudformation delete-stack-instances ... "
            "--retain-stacks`, delete the stacks in those accounts, then run `orgguard stackset` again"
        )
    for kind, part in parts.items():
        stray = sorted({row.region for row in instances if row.stackset == part.stackset} - set(part.regions))
        if stray:
            where = "the home region" if kind == GLOBAL else "organization.regions"
            notes.append(
                f"StackSet {part.stackset} has instances in regions outside {where} ({', '.join(stray)}); they "
                "are left alone: remove them with `aws cloudformation delete-stack-instances`"
            )
    return notes
