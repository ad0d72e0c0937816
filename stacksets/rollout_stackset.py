"""One StackSet's rollout: what is missing, changed or failed compared with the deployment, and the operations
that bring it in line (definition, changed instances, missing instances and targets, retries)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.settings import Settings
from stacksets.api import StackSetApi
from stacksets.instance import Instance
from stacksets.operations import Waiter, region_groups
from stacksets.organization import OrgTree
from stacksets.parts import SpokePart
from stacksets.rollout_report import RolloutReport, StackSetResult, instance_rows, operations_succeeded
from stacksets.stackset_requests import auto_deployment_differs, parameters_of
from stacksets.targets import describe, needed_units, unregistered


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


def content_changed(current: dict[str, Any], template: str, parameters: dict[str, str]) -> bool:
    return current.get("TemplateBody") != template or parameters_of(current) != parameters


def retry_groups(failed: Sequence[Instance], home_region: str) -> list[tuple[list[str], list[str]]]:
    """(regions, accounts) groups to update, the home region's groups first and never merged with another
    region's; one group per distinct account set otherwise, so an update never names an account in a region
    where it has no instance."""
    by_region: dict[str, set[str]] = {}
    for instance in failed:
        by_region.setdefault(instance.region, set()).add(instance.account)
    return region_groups(by_region, home_region)

@dataclass
class StackSetStep:
    """Rolls out one StackSet at a time for a ``Rollout`` run; the operations go into ``report``."""

    settings: Settings
    tree: OrgTree
    governed: Sequence[str]
    retry_failed: bool
    dry_run: bool
    report: RolloutReport
    make_waiter: Callable[[StackSetApi], Waiter]

    def run(self, api: StackSetApi, part: SpokePart, current: dict[str, Any] | None,
            auto: dict[str, Any]) -> StackSetResult:
        """One StackSet: definition, changed instances, missing instances, retries (see ``stacksets.rollout``)."""
        org = self.settings.organization
        instances = api.instances() if current is not None else []
        changed = current is None or content_changed(current, part.template, part.parameters)
        auto_changed = current is not None and auto_deployment_differs(current, auto)
        action = "created" if current is None else "updated" if changed or auto_changed else "unchanged"
        missing = missing_pairs(self.governed, part.regions, instances)
        new = unregistered(org.target_ous, part.regions, api.auto_deployment_targets() if current is not None else {})
        result = StackSetResult(api.name, part.kind, action, created_instances=missing,
                                new_targets=describe(new, self.tree, self.governed))
        if self.dry_run:
            result.retried_instances = (
                [(i.account, i.region) for i in instances if i.failed] if self.retry_failed else [])
            result.instances = instance_rows(self.tree, self.governed, instances, part)
            return result

        waiter = self.make_waiter(api)
        first = len(self.report.operations)
        if current is None:
            api.create(part.template, part.parameters, part.description, auto)
        elif changed or auto_changed:
            self._update(api, part, instances, changed, auto_changed, auto, waiter)

        needs = needed_units(new, missing, self.tree, org.target_ous)
        if needs and all(o.succeeded for o in self.report.operations[first:]):
            self._create_instances(api, part, needs, waiter)

        instances = api.instances()
        if self.retry_failed:
            instances = self._retry(api, instances, result, waiter)
        result.instances = instance_rows(self.tree, self.governed, instances, part)
        return result

    def _update(self, api: StackSetApi, part: SpokePart, instances: Sequence[Instance], changed: bool,
                auto_changed: bool, auto: dict[str, Any], waiter: Waiter) -> None:
        """A changed template reaches the existing instances in waves (home region first), then the automatic
        deployment changes; otherwise the definition alone is updated."""
        org = self.settings.organization
        if changed and instances:
            units = deployed_units(self.tree, instances, org.target_ous)
            regions = [r for r in part.regions if any(i.region == r for i in instances)]
            self.report.operations += waiter.run_waves(
                org.spoke_home_region,
                regions,
                f"update {api.name}",
                len({i.account for i in instances}),
                lambda wave: api.update(part.template, part.parameters, units, wave),
            )
            if auto_changed and operations_succeeded(self.report):
                operation = api.update_definition(part.template, part.parameters, auto)
                self.report.operations.append(waiter.wait(operation, f"auto-deployment {api.name}", 0))
        else:
            operation = api.update_definition(part.template, part.parameters, auto)
            self.report.operations.append(waiter.wait(operation, f"update {api.name}", len(instances)))

    def _create_instances(self, api: StackSetApi, part: SpokePart, needs: dict[str, set[str]],
                          waiter: Waiter) -> None:
        """The missing instances and deployment targets, home region first; stops at the first failure."""
        for regions, units in region_groups(needs, self.settings.organization.spoke_home_region, part.regions):
            expected = len(set(self.tree.accounts_under(units)) & set(self.governed)) * len(regions)
            outcome = waiter.wait(api.create_instances(units, regions), f"create {api.name} {'+'.join(regions)}",
                                  expected)
            self.report.operations.append(outcome)
            if not outcome.succeeded:
                break  # the next regions would fail the same way

    def _retry(self, api: StackSetApi, instances: list[Instance], result: StackSetResult,
               waiter: Waiter) -> list[Instance]:
        """Update the failed instances again (home region on its own first); returns the instances after."""
        org = self.settings.organization
        failed = [i for i in instances if i.failed]
        result.retried_instances = [(i.account, i.region) for i in failed]
        for regions, accounts in retry_groups(failed, org.spoke_home_region):
            units = deployed_units(self.tree, [i for i in failed if i.account in accounts], org.target_ous)
            operation_id = api.update_instances(units, regions, accounts)
            self.report.operations.append(
                waiter.wait(operation_id, f"retry {api.name} {'+'.join(regions)}", len(accounts) * len(regions))
            )
        return api.instances() if failed else instances
