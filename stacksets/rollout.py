"""``orgguard stackset``: create or update the two spoke StackSets, reach every governed account and region.

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

One StackSet's rollout is ``stacksets.rollout_stackset``; the report is ``stacksets.rollout_report``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import boto3

from handlers.settings import Settings
from stacksets import management_stack, migration, protection
from stacksets.access import caller_account
from stacksets.api import StackSetApi
from stacksets.errors import RolloutError
from stacksets.operations import Waiter
from stacksets.organization import OrgTree, preflight
from stacksets.parts import GLOBAL, REGIONAL, SpokePart, holds_roles, spoke_parts
from stacksets.rollout_report import RolloutReport, StackSetResult, instance_notes, operations_succeeded
from stacksets.rollout_stackset import StackSetStep
from stacksets.stackset_requests import auto_deployment

SETTING_OF = {GLOBAL: "rollout.global_stackset_name", REGIONAL: "rollout.stackset_name"}


def _check_permission_model(name: str, setting: str, current: dict[str, Any] | None) -> None:
    if current is not None and current.get("PermissionModel", "SERVICE_MANAGED") != "SERVICE_MANAGED":
        raise RolloutError(
            f"StackSet {name} exists with the {current['PermissionModel']} permission model; OrgGuard needs a "
            f"service-managed StackSet: delete it, or set {setting} to another name"
        )


def _is_legacy(apis: dict[str, StackSetApi], current: dict[str, dict[str, Any] | None]) -> bool:
    """Whether the regional StackSet still holds the roles (a deployment from before the split) and must be
    migrated; refuses when the global StackSet exists too."""
    for kind, api in apis.items():
        _check_permission_model(api.name, SETTING_OF[kind], current[kind])
    regional_now = current[REGIONAL]
    legacy = regional_now is not None and holds_roles(
        str(regional_now.get("TemplateBody", "")), f"StackSet {apis[REGIONAL].name}")
    if legacy and current[GLOBAL] is not None:
        raise RolloutError(
            f"StackSet {apis[REGIONAL].name} still holds the OrgGuard roles and StackSet {apis[GLOBAL].name} "
            "exists too: both would own roles of the same names. Remove the instances of "
            f"{apis[GLOBAL].name} that were not made by `orgguard stackset` (or the StackSet), then run this "
            "again to migrate"
        )
    return legacy


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
        settings = self.settings
        caller = caller_account(self.session)
        tree = preflight(self.session, settings, caller, self.call_as)
        parts = {part.kind: part for part in spoke_parts(settings)}
        apis = {kind: StackSetApi(self.session, settings, self.call_as, part.stackset) for kind, part in parts.items()}
        current = {kind: api.describe() for kind, api in apis.items()}
        legacy = _is_legacy(apis, current)
        report = RolloutReport(dry_run=dry_run)
        step = StackSetStep(settings, tree, tree.governed_accounts(settings.organization.target_ous), retry_failed,
                            dry_run, report, self._waiter)
        if legacy:
            self._announce_migration(report, apis[REGIONAL])
            results = self._migrate(step, apis, parts, current)
        else:
            results = self._roll_out(step, apis, parts, current)
        report.stacksets = [results[kind] for kind in (GLOBAL, REGIONAL) if kind in results]
        if not dry_run:
            report.notes += instance_notes(report, parts)
            self._management_stacks(report, caller, tree)
        self._protection(report, tree, protect, dry_run=dry_run)
        return report

    def _announce_migration(self, report: RolloutReport, regional: StackSetApi) -> None:
        report.migration = migration.plan_lines(self.settings, regional.instances())
        if not report.dry_run:
            stream = self.stream or sys.stderr
            stream.write("".join(f"migration: {line}\n" for line in report.migration))
            stream.flush()

    def _migrate(self, step: StackSetStep, apis: dict[str, StackSetApi], parts: dict[str, SpokePart],
                 current: dict[str, dict[str, Any] | None]) -> dict[str, StackSetResult]:
        """A spoke from before the split: the regional StackSet lets the roles go, the global one creates them,
        then the regional StackSet's automatic deployment depends on the global one."""
        results: dict[str, StackSetResult] = {}
        report = step.report
        # The old template must let the roles go before the global StackSet can create them (same names).
        results[REGIONAL] = step.run(apis[REGIONAL], parts[REGIONAL], current[REGIONAL], auto_deployment())
        if step.dry_run or operations_succeeded(report):
            results[GLOBAL] = step.run(apis[GLOBAL], parts[GLOBAL], None, auto_deployment())
        if not step.dry_run and operations_succeeded(report):
            depends = auto_deployment([self._arn(apis[GLOBAL])])
            regional = parts[REGIONAL]
            operation = apis[REGIONAL].update_definition(regional.template, regional.parameters, depends)
            report.operations.append(self._waiter(apis[REGIONAL]).wait(operation, "auto-deployment", 0))
        return results

    def _roll_out(self, step: StackSetStep, apis: dict[str, StackSetApi], parts: dict[str, SpokePart],
                  current: dict[str, dict[str, Any] | None]) -> dict[str, StackSetResult]:
        """The global StackSet, then (when its operations succeeded) the regional one depending on it."""
        results: dict[str, StackSetResult] = {}
        report = step.report
        results[GLOBAL] = step.run(apis[GLOBAL], parts[GLOBAL], current[GLOBAL], auto_deployment())
        if step.dry_run or operations_succeeded(report):
            arn = self._arn(apis[GLOBAL]) if not step.dry_run else str((current[GLOBAL] or {}).get(
                "StackSetARN", f"(the ARN of {apis[GLOBAL].name})"))
            results[REGIONAL] = step.run(apis[REGIONAL], parts[REGIONAL], current[REGIONAL], auto_deployment([arn]))
        else:
            report.notes.append(
                f"StackSet {apis[REGIONAL].name} was not touched: the operations of {apis[GLOBAL].name} "
                "(the roles its rules use) did not succeed; fix the cause, then run this again"
            )
        return results

    def _management_stacks(self, report: RolloutReport, caller: str, tree: OrgTree) -> None:
        if not self.settings.organization.include_management_account:
            return
        if caller == tree.management_account:
            report.management = management_stack.deploy(self.session, self.settings)
        else:
            report.notes.append(
                f"include_management_account is set but these credentials are for {caller}: run "
                f"`orgguard stackset` once with management-account credentials to deploy its plain stacks"
            )

    def _protection(self, report: RolloutReport, tree: OrgTree, protect: bool, dry_run: bool) -> None:
        if protect:
            report.protection = protection.protect(self.session, self.settings, tree, dry_run=dry_run)
            report.notes += report.protection.notes
        else:
            report.notes += protection.inspect(self.session, self.settings)

    @staticmethod
    def _arn(api: StackSetApi) -> str:
        described = api.describe()
        if described is None or not described.get("StackSetARN"):
            raise RolloutError(f"StackSet {api.name} has no ARN in DescribeStackSet's answer; run this again")
        return str(described["StackSetARN"])
