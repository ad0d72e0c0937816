"""Running StackSet automatic deployments to one account as AWS does: dependencies first, each StackSet one
region at a time in a drawn order, the first failed region stopping it; ``Deployment`` records each one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.aws.deployment_order import DeploymentOrder
from sandbox.aws.stackset_autodeploy_moto import backend_stackset
from sandbox.aws.stackset_autodeploy_tracking import TrackedStackSet
from sandbox.aws.stackset_instances import RegionResult, deploy

NOT_STARTED = "NOT_STARTED"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

# A planned deployment: the StackSet, the OU it reaches the account through, and the regions.
Plan = tuple[TrackedStackSet, str, set[str]]


@dataclass(frozen=True)
class Deployment:
    """One StackSet's automatic deployment to one account."""

    stackset: str
    account: str
    ou: str
    regions: tuple[str, ...]  # in the order deployed (empty when it did not start)
    outcome: str  # SUCCEEDED | FAILED | NOT_STARTED
    results: tuple[RegionResult, ...] = ()
    reason: str = ""

    @property
    def line(self) -> str:
        if self.outcome == NOT_STARTED:
            return f"auto-deployment {self.stackset} to {self.account}: not started ({self.reason})"
        return f"auto-deployment {self.stackset} to {self.account}: {', '.join(self.regions)}"


@dataclass
class AccountDeployer:
    """Deploys (or removes) StackSets for one account; appends each ``Deployment`` to ``deployments``."""

    order: DeploymentOrder
    announce: Callable[[str], None]
    on_region: Callable[[RegionResult], None] | None
    name_of: Callable[[str], str]  # a StackSet's name from its ARN
    deployments: list[Deployment]
    lock: threading.Lock  # guards ``deployments``

    def run(self, account: str, plans: list[Plan]) -> None:
        """Deploy the planned StackSets to ``account``: dependencies first, each one region at a time."""
        pending = {tracked.arn: (tracked, ou, regions) for tracked, ou, regions in plans}
        outcome: dict[str, str] = {}
        while pending:
            blocked = {arn: dep for arn, (tracked, _, _) in pending.items() for dep in tracked.depends_on
                       if outcome.get(dep) in (FAILED, NOT_STARTED)}
            for arn, dependency in blocked.items():
                tracked, ou, _ = pending.pop(arn)
                name = self.name_of(dependency)
                self._record(Deployment(tracked.name, account, ou, (), NOT_STARTED,
                                        reason=f"it depends on {name}, whose deployment to {account} did not succeed"))
                outcome[arn] = NOT_STARTED
            ready = [arn for arn, (tracked, _, _) in pending.items()
                     if all(dep not in pending for dep in tracked.depends_on)]
            if not ready:
                for arn, (tracked, ou, _) in list(pending.items()):
                    self._record(Deployment(tracked.name, account, ou, (), NOT_STARTED,
                                            reason="its AutoDeployment.DependsOn forms a cycle"))
                    outcome[arn] = NOT_STARTED
                return
            names = {pending[arn][0].name: arn for arn in ready}
            chosen = names[self.order.next_stackset(sorted(names), account)]
            tracked, ou, regions = pending.pop(chosen)
            outcome[chosen] = self._deploy(tracked, account, ou, regions)

    def remove(self, tracked: TrackedStackSet, account: str) -> None:
        """The account left the StackSet's targets: delete its instances."""
        stackset = backend_stackset(tracked.admin_account, tracked.region, tracked.name)
        if stackset is None:
            return
        regions = sorted({i.region_name for i in stackset.instances.stack_instances if i.account_id == account})
        if regions:
            stackset.instances.delete([account], regions)
            self.announce(f"auto-deployment {tracked.name}: {account} left its target OUs; its stack instances in "
                          f"{', '.join(regions)} were deleted (RetainStacksOnAccountRemoval is false)")

    def _deploy(self, tracked: TrackedStackSet, account: str, ou: str, regions: set[str]) -> str:
        stackset = backend_stackset(tracked.admin_account, tracked.region, tracked.name)
        if stackset is None:
            return NOT_STARTED
        missing = [r for r in regions if stackset.instances.get_instance(account, r) is None]
        if not missing:
            return SUCCEEDED  # the account has this StackSet's instances already: nothing to do
        ordered = self.order.regions_for(missing, tracked.name, account)
        self.announce(f"auto-deployment {tracked.name} to {account}: {', '.join(ordered)}")
        results = deploy(stackset, account, ou, ordered, self.on_region)
        failure = next((r for r in results if not r.ok), None)
        result = FAILED if failure is not None else SUCCEEDED
        reason = ""
        if failure is not None:
            cancelled = [r.region for r in results[failure.position + 1:]]
            reason = f"{failure.region} failed: {failure.reason}"
            self.announce(f"auto-deployment {tracked.name} to {account} stopped: {reason}"
                          + (f"; cancelled: {', '.join(cancelled)}" if cancelled else ""))
        with self.lock:
            self.deployments.append(Deployment(tracked.name, account, ou, tuple(ordered), result, tuple(results),
                                               reason))
        return result

    def _record(self, deployment: Deployment) -> None:
        self.announce(deployment.line)
        with self.lock:
            self.deployments.append(deployment)
