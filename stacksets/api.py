"""The StackSet calls OrgGuard makes, each with ``CallAs`` and with the errors users meet explained.

One place builds the requests, so every operation carries the same operation preferences and the same
``CallAs``, and an ``OperationInProgressException`` or a trusted-access error reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.exceptions import ClientError

from handlers.settings import Settings
from stacksets.access import client, error_code, error_message
from stacksets.errors import OperationInProgress, RolloutError
from stacksets.organization import ENABLE_TRUSTED_ACCESS

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
# New accounts in the target OUs get the spoke on their own; an account leaving them loses it.
AUTO_DEPLOYMENT = {"Enabled": True, "RetainStacksOnAccountRemoval": False}
# Lets StackSets queue non-conflicting operations instead of refusing them.
MANAGED_EXECUTION = {"Active": True}
ACCOUNT_FILTER_INTERSECTION = "INTERSECTION"

T = TypeVar("T")


@dataclass(frozen=True)
class Instance:
    account: str
    region: str
    status: str  # CURRENT | OUTDATED | INOPERABLE
    detailed: str  # PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | INOPERABLE | SKIPPED_SUSPENDED_ACCOUNT
    reason: str
    drift: str
    ou: str

    @property
    def failed(self) -> bool:
        """Out of date after an operation that ended: what ``update_stack_instances`` can retry.

        INOPERABLE instances (a failed delete) cannot be updated; they are reported, not retried.
        """
        return self.status == "OUTDATED" and self.detailed not in (
            "PENDING",
            "RUNNING",
            "SKIPPED_SUSPENDED_ACCOUNT",
        )

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Instance:
        return cls(
            account=summary["Account"],
            region=summary["Region"],
            status=summary.get("Status", ""),
            detailed=summary.get("StackInstanceStatus", {}).get("DetailedStatus", ""),
            reason=summary.get("StatusReason", ""),
            drift=summary.get("DriftStatus", "NOT_CHECKED"),
            ou=summary.get("OrganizationalUnitId", ""),
        )


def auto_deployment(depends_on: Sequence[str] = ()) -> dict[str, Any]:
    """AutoDeployment, sequenced after the StackSets named (their ARNs) when an account joins a target OU."""
    auto: dict[str, Any] = dict(AUTO_DEPLOYMENT)
    if depends_on:
        auto["DependsOn"] = sorted(depends_on)
    return auto


def auto_deployment_differs(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    """Whether the deployed AutoDeployment differs from ``desired`` in what OrgGuard sets.

    A StackSet described without AutoDeployment (moto keeps none) is taken as deployed as asked.
    """
    auto = current.get("AutoDeployment")
    if auto is None:
        return False
    if any(auto.get(key) != value for key, value in AUTO_DEPLOYMENT.items()):
        return True
    return set(auto.get("DependsOn") or []) != set(desired.get("DependsOn") or [])


def operation_preferences(settings: Settings, regions: Sequence[str]) -> dict[str, Any]:
    rollout = settings.rollout
    preferences: dict[str, Any] = {
        "RegionConcurrencyType": rollout.region_concurrency,
        "MaxConcurrentPercentage": rollout.max_concurrent_percentage,
        "FailureTolerancePercentage": rollout.failure_tolerance_percentage,
        # Keeps the concurrency at MaxConcurrentPercentage even when the tolerance is lower.
        "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
    }
    if rollout.region_concurrency == "SEQUENTIAL" and regions:
        preferences["RegionOrder"] = list(regions)
    return preferences


def deployment_targets(units: Sequence[str], accounts: Sequence[str] = ()) -> dict[str, Any]:
    """OU targets; with ``accounts``, only those accounts inside the OUs (service-managed StackSets cannot
    name an account on its own)."""
    targets: dict[str, Any] = {"OrganizationalUnitIds": sorted(set(units))}
    if accounts:
        targets["Accounts"] = sorted(set(accounts))
        targets["AccountFilterType"] = ACCOUNT_FILTER_INTERSECTION
    return targets


class StackSetApi:
    """One StackSet (by default the regional spoke's, ``rollout.stackset_name``)."""

    def __init__(self, session: boto3.Session, settings: Settings, call_as: str, name: str | None = None) -> None:
        self.cfn = client(session, "cloudformation")
        self.settings = settings
        self.name = name or settings.rollout.stackset_name
        self.call_as = call_as

    def _call(self, what: Callable[..., T], **params: Any) -> T:
        try:
            return what(StackSetName=self.name, CallAs=self.call_as, **params)
        except ClientError as error:
            raise self._explain(error) from error

    def _explain(self, error: ClientError) -> RolloutError:
        code, message = error_code(error), error_message(error)
        lowered = message.lower()
        if code == "OperationInProgressException":
            return OperationInProgress(
                f"another operation on StackSet {self.name} is still running: wait for it to finish "
                f"(`aws cloudformation list-stack-set-operations --stack-set-name {self.name} "
                f"--call-as {self.call_as}`), then run this again"
            )
        if "trusted access" in lowered or "organizations access" in lowered:
            return RolloutError(f"CloudFormation StackSets says: {message}. {ENABLE_TRUSTED_ACCESS}")
        if "delegated admin" in lowered or "management account" in lowered or "master account" in lowered:
            return RolloutError(
                f"CloudFormation StackSets says: {message}. Run with the management account's credentials "
                "(--call-as SELF) or from a registered delegated administrator (--call-as DELEGATED_ADMIN)"
            )
        if code == "StackSetNotEmptyException":
            return RolloutError(
                f"StackSet {self.name} still has stack instances: run `deploy.py status` to see them, then "
                "`deploy.py destroy` again"
            )
        return RolloutError(f"StackSet {self.name}: {code}: {message}")

    def describe(self) -> dict[str, Any] | None:
        try:
            stack_set = self.cfn.describe_stack_set(StackSetName=self.name, CallAs=self.call_as)["StackSet"]
        except ClientError as error:
            if error_code(error) == "StackSetNotFoundException":
                return None
            raise self._explain(error) from error
        return None if stack_set.get("Status") == "DELETED" else dict(stack_set)

    def instances(self) -> list[Instance]:
        found: list[Instance] = []
        pages = self.cfn.get_paginator("list_stack_instances")
        try:
            for page in pages.paginate(StackSetName=self.name, CallAs=self.call_as):
                found.extend(Instance.from_summary(s) for s in page.get("Summaries", []))
        except ClientError as error:
            if error_code(error) == "StackSetNotFoundException":
                return []
            raise self._explain(error) from error
        return sorted(found, key=lambda i: (i.account, i.region))

    def auto_deployment_targets(self) -> dict[str, set[str]]:
        """The OUs (or root) this StackSet deploys to automatically, each with its regions; {} without the StackSet.

        ListStackSetAutoDeploymentTargets answers one ``OrganizationalUnitId`` and its ``Regions`` per target
        (botocore's CloudFormation model). An OU becomes a target when CreateStackInstances names it, even with no
        account in it, and only then does an account moved into it get the StackSet automatically. botocore has no
        paginator for this operation: ``NextToken`` is followed here (an empty one means the last page, per the
        model).
        """
        targets: dict[str, set[str]] = {}
        token = ""
        while True:
            page_token = {"NextToken": token} if token else {}
            try:
                page = self.cfn.list_stack_set_auto_deployment_targets(
                    StackSetName=self.name, CallAs=self.call_as, **page_token)
            except ClientError as error:
                if error_code(error) == "StackSetNotFoundException":
                    return {}
                raise self._explain(error) from error
            for summary in page.get("Summaries", []):
                targets.setdefault(str(summary["OrganizationalUnitId"]), set()).update(summary.get("Regions", []))
            token = str(page.get("NextToken") or "")
            if not token:
                return targets

    def create(self, template: str, parameters: dict[str, str], description: str,
               auto: dict[str, Any] | None = None) -> None:
        self._call(
            self.cfn.create_stack_set,
            Description=description,
            **_definition(template, parameters),
            AutoDeployment=auto or auto_deployment(),
        )

    def update(self, template: str, parameters: dict[str, str], units: Sequence[str], regions: Sequence[str]) -> str:
        """Update the template and parameters, and the instances of ``units`` in ``regions``.

        No AutoDeployment here: UpdateStackSet takes it only without DeploymentTargets and Regions (botocore's
        CloudFormation model); ``update_definition`` changes it.
        """
        return str(
            self._call(
                self.cfn.update_stack_set,
                **_definition(template, parameters),
                DeploymentTargets=deployment_targets(units),
                Regions=list(regions),
                OperationPreferences=operation_preferences(self.settings, regions),
            )["OperationId"]
        )

    def update_definition(self, template: str, parameters: dict[str, str], auto: dict[str, Any] | None = None) -> str:
        """Update the StackSet with its AutoDeployment and no targets: every instance, all regions at once.

        Used when the StackSet has no instances yet, or when the template is the deployed one already (only
        AutoDeployment changes), so the order of the regions does not matter.
        """
        return str(
            self._call(
                self.cfn.update_stack_set,
                **_definition(template, parameters),
                AutoDeployment=auto or auto_deployment(),
                # No RegionOrder: no regions are named, and the order does not matter here.
                OperationPreferences=operation_preferences(self.settings, ()),
            )["OperationId"]
        )

    def create_instances(self, units: Sequence[str], regions: Sequence[str], accounts: Sequence[str] = ()) -> str:
        return str(
            self._call(
                self.cfn.create_stack_instances,
                DeploymentTargets=deployment_targets(units, accounts),
                Regions=list(regions),
                OperationPreferences=operation_preferences(self.settings, regions),
            )["OperationId"]
        )

    def update_instances(self, units: Sequence[str], regions: Sequence[str], accounts: Sequence[str]) -> str:
        return str(
            self._call(
                self.cfn.update_stack_instances,
                DeploymentTargets=deployment_targets(units, accounts),
                Regions=list(regions),
                OperationPreferences=operation_preferences(self.settings, regions),
            )["OperationId"]
        )

    def delete_instances(self, units: Sequence[str], regions: Sequence[str]) -> str:
        return str(
            self._call(
                self.cfn.delete_stack_instances,
                DeploymentTargets=deployment_targets(units),
                Regions=list(regions),
                RetainStacks=False,
                OperationPreferences=operation_preferences(self.settings, regions),
            )["OperationId"]
        )

    def delete(self) -> None:
        self._call(self.cfn.delete_stack_set)

    def operation(self, operation_id: str) -> dict[str, Any]:
        return dict(self._call(self.cfn.describe_stack_set_operation, OperationId=operation_id)["StackSetOperation"])

    def operation_results(self, operation_id: str) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        pages = self.cfn.get_paginator("list_stack_set_operation_results")
        try:
            for page in pages.paginate(StackSetName=self.name, CallAs=self.call_as, OperationId=operation_id):
                results.extend(page.get("Summaries", []))
        except ClientError as error:
            raise self._explain(error) from error
        return results


def _definition(template: str, parameters: dict[str, str]) -> dict[str, Any]:
    """What defines the StackSet itself, the same on create and on every update (AutoDeployment aside)."""
    return {
        "TemplateBody": template,
        "Parameters": _parameter_list(parameters),
        "Capabilities": CAPABILITIES,
        "PermissionModel": "SERVICE_MANAGED",
        "ManagedExecution": MANAGED_EXECUTION,
    }


def _parameter_list(parameters: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]


def parameters_of(stack_set: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack_set.get("Parameters", [])}
