"""``deploy.py stackset``: create or update the spoke StackSet, reach every governed account and region.

Idempotent: the StackSet is updated only when the rendered template, its parameters or its automatic
deployment differ from what is deployed, and instances are created only where they are missing, so a
second run makes no change. Order: the StackSet definition (and, when it changed, every existing instance,
home region first), then the missing instances (home region first), then, with ``retry_failed``, the
failed instances, then the plain stack in the management account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import boto3

from handlers.settings import Settings
from spoke.render import render_spoke, spoke_parameters
from stacksets import management_stack
from stacksets.access import caller_account
from stacksets.api import AUTO_DEPLOYMENT, Instance, StackSetApi, parameters_of
from stacksets.errors import RolloutError
from stacksets.operations import OperationOutcome, Waiter
from stacksets.organization import OrgTree, preflight

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

    @property
    def ok(self) -> bool:
        return self.status == "CURRENT"


@dataclass
class RolloutReport:
    stackset: str
    action: str  # created | updated | unchanged (with dry_run: what would happen)
    dry_run: bool = False
    created_instances: list[tuple[str, str]] = field(default_factory=list)
    retried_instances: list[tuple[str, str]] = field(default_factory=list)
    operations: list[OperationOutcome] = field(default_factory=list)
    instances: list[InstanceRow] = field(default_factory=list)
    management: list[management_stack.StackResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed_instances(self) -> list[InstanceRow]:
        return [row for row in self.instances if not row.ok]

    @property
    def ok(self) -> bool:
        if self.dry_run:
            return True
        operations_ok = all(o.succeeded for o in self.operations)
        return operations_ok and not self.failed_instances and all(m.ok for m in self.management)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stackset": self.stackset,
            "action": self.action,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "created_instances": [list(pair) for pair in self.created_instances],
            "retried_instances": [list(pair) for pair in self.retried_instances],
            "operations": [asdict(o) for o in self.operations],
            "instances": [asdict(row) for row in self.instances],
            "management_stack": [asdict(m) for m in self.management],
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


def _needs_update(current: dict[str, Any], template: str, parameters: dict[str, str]) -> bool:
    if current.get("TemplateBody") != template or parameters_of(current) != parameters:
        return True
    auto = current.get("AutoDeployment")
    # Only the keys OrgGuard sets: AWS may return others (DependsOn) that must not force an update.
    return auto is not None and any(auto.get(key) != value for key, value in AUTO_DEPLOYMENT.items())


def _retry_groups(failed: Sequence[Instance], home_region: str) -> list[tuple[list[str], list[str]]]:
    """(regions, accounts) groups to update, home region's group first; one group per distinct account set,
    so an update never names an account in a region where it has no instance."""
    by_region: dict[str, set[str]] = {}
    for instance in failed:
        by_region.setdefault(instance.region, set()).add(instance.account)
    groups: dict[tuple[str, ...], list[str]] = {}
    for region in sorted(by_region, key=lambda r: (r != home_region, r)):
        groups.setdefault(tuple(sorted(by_region[region])), []).append(region)
    ordered = sorted(groups.items(), key=lambda item: home_region not in item[1])
    return [(regions, list(accounts)) for accounts, regions in ordered]


def _rows(
    tree: OrgTree, settings: Settings, governed: Sequence[str], instances: Sequence[Instance]
) -> list[InstanceRow]:
    regions = list(settings.organization.regions)
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
                if account in governed_set and region in settings.organization.regions:
                    rows.append(InstanceRow(account, name, region, MISSING, "", "no stack instance"))
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
                )
            )
    return rows


@dataclass
class Rollout:
    session: boto3.Session
    settings: Settings
    call_as: str
    stream: TextIO | None = None
    make_waiter: Callable[[StackSetApi], Waiter] | None = None

    def run(self, retry_failed: bool = False, dry_run: bool = False) -> RolloutReport:
        settings, org = self.settings, self.settings.organization
        caller = caller_account(self.session)
        tree = preflight(self.session, settings, caller, self.call_as)
        template, parameters = render_spoke(settings), spoke_parameters(settings)
        api = StackSetApi(self.session, settings, self.call_as)
        waiter = self.make_waiter(api) if self.make_waiter else Waiter(api, self.stream)

        current = api.describe()
        if current is not None and current.get("PermissionModel", "SERVICE_MANAGED") != "SERVICE_MANAGED":
            raise RolloutError(
                f"StackSet {api.name} exists with the {current['PermissionModel']} permission model; "
                "OrgGuard "
                f"needs a service-managed StackSet: delete it, or set rollout.stackset_name to another name"
            )
        instances = api.instances() if current is not None else []
        changed = current is None or _needs_update(current, template, parameters)
        action = "created" if current is None else "updated" if changed else "unchanged"
        governed = tree.governed_accounts(org.target_ous)
        missing = missing_pairs(governed, org.regions, instances)
        report = RolloutReport(api.name, action, dry_run=dry_run, created_instances=missing)
        home = org.spoke_home_region
        if dry_run:
            report.retried_instances = [(i.account, i.region) for i in instances if i.failed] if retry_failed else []
            report.instances = _rows(tree, settings, governed, instances)
            return report

        if current is None:
            api.create(template, parameters)
        elif changed and instances:
            units = deployed_units(tree, instances, org.target_ous)
            regions = [r for r in org.regions if any(i.region == r for i in instances)]
            report.operations += waiter.run_waves(
                home,
                regions,
                "update",
                len({i.account for i in instances}),
                lambda wave: api.update(template, parameters, units, wave),
            )
        elif changed:
            report.operations.append(waiter.wait(api.update_definition(template, parameters), "update", 0))

        if missing and all(o.succeeded for o in report.operations):
            regions = [r for r in org.regions if any(pair[1] == r for pair in missing)]
            report.operations += waiter.run_waves(
                home,
                regions,
                "create",
                len(governed),
                lambda wave: api.create_instances(org.target_ous, wave),
            )

        instances = api.instances()
        if retry_failed:
            failed = [i for i in instances if i.failed]
            report.retried_instances = [(i.account, i.region) for i in failed]
            for regions, accounts in _retry_groups(failed, home):
                units = deployed_units(tree, [i for i in failed if i.account in accounts], org.target_ous)
                operation_id = api.update_instances(units, regions, accounts)
                report.operations.append(
                    waiter.wait(operation_id, f"retry {'+'.join(regions)}", len(accounts) * len(regions))
                )
            if failed:
                instances = api.instances()

        report.instances = _rows(tree, settings, governed, instances)
        if any(not row.in_target_ous for row in report.instances):
            report.notes.append(
                "accounts outside the target OUs have instances (added by `deploy.py onboard`); updates reach them too"
            )
        inoperable = [i for i in instances if i.status == "INOPERABLE"]
        if inoperable:
            report.notes.append(
                "INOPERABLE instances (" + ", ".join(f"{i.account}/{i.region}" for i in inoperable) + ") cannot be "
                "updated: delete them with `aws cloudformation delete-stack-instances ... --retain-stacks`, "
                "delete "
                "the stacks in those accounts, then run `deploy.py stackset` again"
            )
        stray = sorted({i.region for i in instances} - set(org.regions))
        if stray:
            report.notes.append(
                f"instances exist in regions no longer in organization.regions ({', '.join(stray)}); "
                "they are left alone: remove them with `aws cloudformation delete-stack-instances`"
            )
        if org.include_management_account:
            if caller == tree.management_account:
                report.management = management_stack.deploy(self.session, settings, template, parameters)
            else:
                report.notes.append(
                    f"include_management_account is set but these credentials are for {caller}: run "
                    f"`deploy.py stackset` once with management-account credentials to deploy its plain stack"
                )
        return report
