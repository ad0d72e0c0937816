"""What the StackSet calls tell StackSet automatic deployment: each service-managed StackSet's AutoDeployment
(from CreateStackSet and UpdateStackSet) and its deployment targets (from CreateStackInstances and
DeleteStackInstances), which moto drops."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.aws.stackset_autodeploy_moto import moto_stackset
from sandbox.aws.wire import AwsCall

SERVICE_MANAGED = "SERVICE_MANAGED"
FILTERS_THAT_NARROW = ("INTERSECTION",)


@dataclass
class TrackedStackSet:
    """What the part knows of one service-managed StackSet."""

    arn: str
    name: str
    admin_account: str  # the account whose CloudFormation holds it (management or delegated administrator)
    region: str
    enabled: bool = False
    retain: bool = False
    depends_on: tuple[str, ...] = ()  # StackSet ARNs
    targets: dict[str, set[str]] = field(default_factory=dict)  # OU (or root) id -> regions


@dataclass
class StackSetTracker:
    """The tracked StackSets by ARN, safe to use from the gateway's threads."""

    _stacksets: dict[str, TrackedStackSet] = field(default_factory=dict)  # by ARN
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self._stacksets.clear()

    def named(self, name: str) -> TrackedStackSet | None:
        with self._lock:
            return next((s for s in self._stacksets.values() if s.name == name), None)

    def name_of(self, arn: str) -> str:
        """The StackSet's name, or the ARN when it is not tracked."""
        with self._lock:
            tracked = self._stacksets.get(arn)
        return tracked.name if tracked is not None else arn

    def of_call(self, call: AwsCall) -> TrackedStackSet | None:
        """The tracked StackSet a CloudFormation call names."""
        stackset = moto_stackset(call)
        if stackset is None:
            return None
        with self._lock:
            return self._stacksets.get(stackset.arn)

    def targets(self, arn: str) -> dict[str, set[str]]:
        """A copy of the StackSet's deployment targets ({} when it is not tracked)."""
        with self._lock:
            tracked = self._stacksets.get(arn)
            return {unit: set(regions) for unit, regions in tracked.targets.items()} if tracked else {}

    def enabled(self) -> list[TrackedStackSet]:
        with self._lock:
            return [s for s in self._stacksets.values() if s.enabled]

    def stackset_written(self, call: AwsCall) -> bool:
        """CreateStackSet or UpdateStackSet: remember the AutoDeployment; False for a self-managed StackSet."""
        stackset = moto_stackset(call)
        if stackset is None or stackset.permission_model != SERVICE_MANAGED:
            return False
        admin, region = stackset.arn.split(":")[4], stackset.arn.split(":")[3]
        with self._lock:
            tracked = self._stacksets.setdefault(stackset.arn, TrackedStackSet(stackset.arn, stackset.name, admin,
                                                                               region))
            if "AutoDeployment.Enabled" in call.params:
                tracked.enabled = _true(call.params["AutoDeployment.Enabled"])
            if "AutoDeployment.RetainStacksOnAccountRemoval" in call.params:
                tracked.retain = _true(call.params["AutoDeployment.RetainStacksOnAccountRemoval"])
            if any(key.startswith("AutoDeployment.") for key in call.params):
                tracked.depends_on = tuple(str(arn) for arn in call.listed("AutoDeployment.DependsOn"))
        return True

    def stackset_deleted(self, call: AwsCall) -> None:
        name = str(call.params.get("StackSetName", ""))
        with self._lock:
            for arn, tracked in list(self._stacksets.items()):
                if name in (tracked.name, arn) or arn.endswith(f"/{name}"):
                    del self._stacksets[arn]

    def instances_created(self, call: AwsCall) -> None:
        self._change_targets(call, lambda have, regions: have | regions)

    def instances_deleted(self, call: AwsCall) -> None:
        self._change_targets(call, lambda have, regions: have - regions)

    def _change_targets(self, call: AwsCall, update: Callable[[set[str], set[str]], set[str]]) -> None:
        """Apply a CreateStackInstances or DeleteStackInstances to the OUs' regions (an OU left with none goes)."""
        change = self._target_change(call)
        if change is None:
            return
        tracked, regions, units = change
        with self._lock:
            for unit in units:
                left = update(tracked.targets.get(unit, set()), regions)
                if left:
                    tracked.targets[unit] = left
                else:
                    tracked.targets.pop(unit, None)

    def _target_change(self, call: AwsCall) -> tuple[TrackedStackSet, set[str], list[str]] | None:
        """(StackSet, regions, OUs) a CreateStackInstances or DeleteStackInstances names as deployment targets;
        None when it is not a tracked StackSet's or it is narrowed to listed accounts."""
        tracked = self.of_call(call)
        if tracked is None or _narrowed(call):
            return None
        units = [str(u) for u in call.listed("DeploymentTargets.OrganizationalUnitIds")]
        return tracked, set(map(str, call.listed("Regions"))), units


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


def _narrowed(call: AwsCall) -> bool:
    """Targets narrowed to listed accounts: those accounts are reached, their OU does not become a target."""
    kind = str(call.params.get("DeploymentTargets.AccountFilterType", "NONE"))
    return kind in FILTERS_THAT_NARROW or (bool(call.listed("DeploymentTargets.Accounts")) and kind == "NONE")
