"""``deploy.py stackset``: create or update the two spoke StackSets, reach every governed account and region.

The global StackSet (the roles, home region only) first, waiting for its operations, then the regional one
(the rules, every governed region, home region first), whose automatic deployment depends on the global
one (see ``spoke/__init__.py``). A deployment from before the split is migrated (``stacksets.migration``).

Idempotent: a StackSet is updated only when the rendered template, its parameters or its automatic
deployment differ from what is deployed, and instances are created only where they are missing, so a
second run makes no change. Per StackSet: its definition (and, when it changed, every existing instance,
home region first), then the missing instances and deployment targets (home region first; every target OU
becomes a target in every region of the StackSet even when it holds no account yet, see
``stacksets.targets``), then, with ``retry_failed``, the failed instances (home region on its own first).
Then the plain stacks in the management account, then, with ``protect``, the service control policy.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import boto3

from handlers.settings import Settings
from stacksets import management_stack, migration, protection
from stacksets.access import caller_account
from stacksets.api import StackSetApi
from stacksets.errors import RolloutError
from stacksets.instance import Instance
from stacksets.operations import OperationOutcome, Waiter, region_groups
from stacksets.organization import OrgTree, preflight
from stacksets.parts import GLOBAL, REGIONAL, SpokePart, holds_roles, spoke_parts
from stacksets.stackset_requests import auto_deployment, auto_deployment_differs, parameters_of
from stacksets.targets import NewTarget, describe, needed_units, unregistered

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


def missing_pairs(
    accounts: Iterable[str], regions: Sequence[str], instances: Iterable[Instance]
) -> list[tuple[str, str]]:
    have = {(i.account, i.region) for i in instances}
    return [(a, r) for a in accounts for r in regions if (a, r) not in have]


def deployed_units(tree: OrgTree, instances: Iterable[Instance], target_ous: Sequence[str]) -> list[str]:
    """The OUs that address every existing instance: as StackSets recorded it, else where the account is."""
    units = set()
    for instance in instances:
        if instance.ou:
            units.add(instance.ou)
        elif instance.account in tree.accounts:
            units.add(tree.deployment_unit(instance.account, target_ous))
    return sorted(units)


def _content_changed(current: dict[str, Any], template: str, parameters: dict[str, str]) -> bool:
    return current.get("TemplateBody") != template or parameters_of(current) != parameters


def _retry_groups(failed: Sequence[Instance], home_region: str) -> list[tuple[list[str], list[str]]]:
    """(regions, accounts) groups to update, the home region's groups first and never merged with another
    region's; one group per distinct account set otherwise, so an update never names an account in a region
    where it has no instance."""
    by_region: dict[str, set[str]] = {}
    for instance in failed:
        by_region.setdefault(instance.region, set()).add(instance.account)
    return region_groups(by_region, home_region)


def _rows(
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


SETTING_OF = {GLOBAL: "rollout.global_stackset_name", REGIONAL: "rollout.stackset_name"}


def _check_permission_model(name: str, setting: str, current: dict[str, Any] | None) -> None:
    if current is not None and current.get("PermissionModel", "SERVICE_MANAGED") != "SERVICE_MANAGED":
        raise RolloutError(
            f"StackSet {name} exists with the {current['PermissionModel']} permission model; OrgGuard needs a "
            f"service-managed StackSet: delete it, or set {setting} to another name"
        )


@dataclass
class Rollout:
    session: boto3.Session
    settings: Settings
    call_as: str
    stream: TextIO | None = None
    make_waiter: Callable[[StackSetApi], Waiter] | None = None

    def _waiter(self, api: StackSetApi) -> Waiter:
        return self.make_waiter(api) if self.make_waiter else Waiter(api, self.stream)

    def run(self, retry_failed: bool = False, dry_run: bool = False, protect: bool = False) -> RolloutReport:
        settings, org = self.settings, self.settings.organization
        caller = caller_account(self.session)
        tree = preflight(self.session, settings, caller, self.call_as)
        parts = {part.kind: part for part in spoke_parts(settings)}
        apis = {kind: StackSetApi(self.session, settings, self.call_as, part.stackset) for kind, part in parts.items()}
        current = {kind: api.describe() for kind, api in apis.items()}
        for kind, api in apis.items():
            _check_permission_model(api.name, SETTING_OF[kind], current[kind])
        regional_now = current[REGIONAL]
        legacy = regional_now is not None and holds_roles(
            str(regional_now.get("TemplateBody", "")), f"StackSet {apis[REGIONAL].name}")
        if legacy and current[GLOBAL] is not None:
            raise RolloutError(
                f"StackSet {apis[REGIONAL].name} still holds the OrgGuard roles and StackSet {apis[GLOBAL].name} "
                "exists too: both would own roles of the same names. Remove the instances of "
                f"{apis[GLOBAL].name} that were not made by `deploy.py stackset` (or the StackSet), then run this "
                "again to migrate"
            )
        governed = tree.governed_accounts(org.target_ous)
        report = RolloutReport(dry_run=dry_run)
        if legacy:
            report.migration = migration.plan_lines(settings, apis[REGIONAL].instances())
            if not dry_run:
                stream = self.stream or sys.stderr
                stream.write("".join(f"migration: {line}\n" for line in report.migration))
                stream.flush()

        results: dict[str, StackSetResult] = {}
        if legacy:
            # The old template must let the roles go before the global StackSet can create them (same names).
            results[REGIONAL] = self._stackset(apis[REGIONAL], parts[REGIONAL], regional_now, tree, governed,
                                               auto_deployment(), retry_failed, dry_run, report)
            if dry_run or self._succeeded(report):
                results[GLOBAL] = self._stackset(apis[GLOBAL], parts[GLOBAL], None, tree, governed,
                                                 auto_deployment(), retry_failed, dry_run, report)
            if not dry_run and self._succeeded(report):
                depends = auto_deployment([self._arn(apis[GLOBAL])])
                regional = parts[REGIONAL]
                operation = apis[REGIONAL].update_definition(regional.template, regional.parameters, depends)
                report.operations.append(self._waiter(apis[REGIONAL]).wait(operation, "auto-deployment", 0))
        else:
            results[GLOBAL] = self._stackset(apis[GLOBAL], parts[GLOBAL], current[GLOBAL], tree, governed,
                                             auto_deployment(), retry_failed, dry_run, report)
            if dry_run or self._succeeded(report):
                arn = self._arn(apis[GLOBAL]) if not dry_run else str((current[GLOBAL] or {}).get(
                    "StackSetARN", f"(the ARN of {apis[GLOBAL].name})"))
                results[REGIONAL] = self._stackset(apis[REGIONAL], parts[REGIONAL], regional_now, tree, governed,
                                                   auto_deployment([arn]), retry_failed, dry_run, report)
            else:
                report.notes.append(
                    f"StackSet {apis[REGIONAL].name} was not touched: the operations of {apis[GLOBAL].name} "
                    "(the roles its rules use) did not succeed; fix the cause, then run this again"
                )
        report.stacksets = [results[kind] for kind in (GLOBAL, REGIONAL) if kind in results]
        if dry_run:
            self._protection(report, tree, protect, dry_run=True)
            return report

        instances = [row for row in report.instances if row.status != MISSING]
        if any(not row.in_target_ous for row in instances):
            report.notes.append(
                "accounts outside the target OUs have instances (added by `deploy.py onboard`); updates reach them too"
            )
        inoperable = [row for row in instances if row.status == "INOPERABLE"]
        if inoperable:
            report.notes.append(
                "INOPERABLE instances (" + ", ".join(f"{i.stackset} {i.account}/{i.region}" for i in inoperable)
                + ") cannot be updated: delete them with `aws cloudformation delete-stack-instances ... "
                "--retain-stacks`, delete the stacks in those accounts, then run `deploy.py stackset` again"
            )
        for kind, part in parts.items():
            stray = sorted({row.region for row in instances if row.stackset == part.stackset} - set(part.regions))
            if stray:
                where = "the home region" if kind == GLOBAL else "organization.regions"
                report.notes.append(
                    f"StackSet {part.stackset} has instances in regions outside {where} ({', '.join(stray)}); they "
                    "are left alone: remove them with `aws cloudformation delete-stack-instances`"
                )
        if org.include_management_account:
            if caller == tree.management_account:
                report.management = management_stack.deploy(self.session, settings)
            else:
                report.notes.append(
                    f"include_management_account is set but these credentials are for {caller}: run "
                    f"`deploy.py stackset` once with management-account credentials to deploy its plain stacks"
                )
        self._protection(report, tree, protect, dry_run=False)
        return report

    def _protection(self, report: RolloutReport, tree: OrgTree, protect: bool, dry_run: bool) -> None:
        if protect:
            report.protection = protection.protect(self.session, self.settings, tree, dry_run=dry_run)
            report.notes += report.protection.notes
        else:
            report.notes += protection.inspect(self.session, self.settings)

    @staticmethod
    def _succeeded(report: RolloutReport) -> bool:
        return all(o.succeeded for o in report.operations)

    @staticmethod
    def _arn(api: StackSetApi) -> str:
        described = api.describe()
        if described is None or not described.get("StackSetARN"):
            raise RolloutError(f"StackSet {api.name} has no ARN in DescribeStackSet's answer; run this again")
        return str(described["StackSetARN"])

    def _stackset(
        self,
        api: StackSetApi,
        part: SpokePart,
        current: dict[str, Any] | None,
        tree: OrgTree,
        governed: Sequence[str],
        auto: dict[str, Any],
        retry_failed: bool,
        dry_run: bool,
        report: RolloutReport,
    ) -> StackSetResult:
        """One StackSet: definition, changed instances, missing instances, retries (see the module docstring)."""
        org = self.settings.organization
        home = org.spoke_home_region
        instances = api.instances() if current is not None else []
        changed = current is None or _content_changed(current, part.template, part.parameters)
        auto_changed = current is not None and auto_deployment_differs(current, auto)
        action = "created" if current is None else "updated" if changed or auto_changed else "unchanged"
        missing = missing_pairs(governed, part.regions, instances)
        new = unregistered(org.target_ous, part.regions, api.auto_deployment_targets() if current is not None else {})
        result = StackSetResult(api.name, part.kind, action, created_instances=missing,
                                new_targets=describe(new, tree, governed))
        if dry_run:
            result.retried_instances = [(i.account, i.region) for i in instances if i.failed] if retry_failed else []
            result.instances = _rows(tree, governed, instances, part)
            return result

        waiter = self._waiter(api)
        first = len(report.operations)
        if current is None:
            api.create(part.template, part.parameters, part.description, auto)
        elif changed and instances:
            units = deployed_units(tree, instances, org.target_ous)
            regions = [r for r in part.regions if any(i.region == r for i in instances)]
            report.operations += waiter.run_waves(
                home,
                regions,
                f"update {api.name}",
                len({i.account for i in instances}),
                lambda wave: api.update(part.template, part.parameters, units, wave),
            )
            if auto_changed and self._succeeded(report):
                operation = api.update_definition(part.template, part.parameters, auto)
                report.operations.append(waiter.wait(operation, f"auto-deployment {api.name}", 0))
        elif changed or auto_changed:
            operation = api.update_definition(part.template, part.parameters, auto)
            report.operations.append(waiter.wait(operation, f"update {api.name}", len(instances)))

        needs = needed_units(new, missing, tree, org.target_ous)
        if needs and all(o.succeeded for o in report.operations[first:]):
            for regions, units in region_groups(needs, home, part.regions):
                expected = len(set(tree.accounts_under(units)) & set(governed)) * len(regions)
                outcome = waiter.wait(api.create_instances(units, regions), f"create {api.name} {'+'.join(regions)}",
                                      expected)
                report.operations.append(outcome)
                if not outcome.succeeded:
                    break  # the next regions would fail the same way

        instances = api.instances()
        if retry_failed:
            failed = [i for i in instances if i.failed]
            result.retried_instances = [(i.account, i.region) for i in failed]
            for regions, accounts in _retry_groups(failed, home):
                units = deployed_units(tree, [i for i in failed if i.account in accounts], org.target_ous)
                operation_id = api.update_instances(units, regions, accounts)
                report.operations.append(
                    waiter.wait(operation_id, f"retry {api.name} {'+'.join(regions)}", len(accounts) * len(regions))
                )
            if failed:
                instances = api.instances()
        result.instances = _rows(tree, governed, instances, part)
        return result
