"""The parameters of StackSet requests: definition, automatic deployment, targets, operation preferences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.settings import Settings

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
# New accounts in the target OUs get the spoke on their own; an account leaving them loses it.
AUTO_DEPLOYMENT = {"Enabled": True, "RetainStacksOnAccountRemoval": False}
# Lets StackSets queue non-conflicting operations instead of refusing them.
MANAGED_EXECUTION = {"Active": True}
ACCOUNT_FILTER_INTERSECTION = "INTERSECTION"


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


def definition(template: str, parameters: dict[str, str]) -> dict[str, Any]:
    """What defines the StackSet itself, the same on create and on every update (AutoDeployment aside)."""
    return {
        "TemplateBody": template,
        "Parameters": parameter_list(parameters),
        "Capabilities": CAPABILITIES,
        "PermissionModel": "SERVICE_MANAGED",
        "ManagedExecution": MANAGED_EXECUTION,
    }


def parameter_list(parameters: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]


def parameters_of(stack_set: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack_set.get("Parameters", [])}
