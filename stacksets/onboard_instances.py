"""``orgguard onboard``'s first step: the accounts' stack instances, without racing an automatic deployment.

Right after an account moves into a target OU, the StackSets' automatic deployment to it is under way: its
instances are listed PENDING, then RUNNING (StackInstanceStatus.DetailedStatus), and while that operation runs
StackSets refuses another one on the same StackSet with ``OperationInProgressException`` ("Only one operation can be
performed for a stack set at a given time": botocore's CloudFormation model). So, per StackSet (the roles' first):

1. wait while any of the accounts' instances is PENDING or RUNNING (``Waiter.settle``: the waiter's poll interval,
   timeout and progress bar); those are not failures, and creating them again would race the deployment;
2. create only the instances still missing (accounts missing the same regions share one operation per wave, the home
   region first);
3. on ``OperationInProgressException``, wait one poll interval and start again from 1 (at most ``BUSY_RETRIES``
   times): the operation that was running may be the automatic deployment creating the very instances that were
   missing, which 1 then waits for instead of creating them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from stacksets.api import StackSetApi
from stacksets.errors import OperationInProgress, RolloutError
from stacksets.instance import Instance
from stacksets.operations import OperationOutcome, Waiter, region_waves
from stacksets.organization import OrgTree
from stacksets.parts import SpokePart
from stacksets.progress import ProgressBar

BUSY_RETRIES = 30  # with the default poll of 10 s: five minutes of another operation before giving up
Added = set[tuple[str, str, str]]  # (StackSet, account, region) created by this run


@dataclass
class InstanceEnsurer:
    """Creates the missing instances of ``members`` for each part; ``operations`` collects every operation's end."""

    tree: OrgTree
    target_ous: Sequence[str]
    home_region: str
    waiter_for: Callable[[StackSetApi], Waiter]
    operations: list[OperationOutcome] = field(default_factory=list)

    def ensure(self, api: StackSetApi, part: SpokePart, members: Sequence[str], added: Added) -> list[Instance]:
        """The part's instances once the members' are settled and the missing ones created; adds to ``added``."""
        waiter = self.waiter_for(api)
        attempts = 0
        while True:
            instances = waiter.settle(members, f"automatic deployment {api.name}") if members else api.instances()
            groups = _missing(part, members, instances)
            if not groups or not all(o.succeeded for o in self.operations):
                return instances  # nothing to create, or a failed operation (of the roles) leaves this part alone
            try:
                for regions, accounts in groups.items():
                    self._create(api, waiter, part, regions, accounts, added)
                return api.instances()
            except OperationInProgress as busy:
                attempts += 1
                if attempts > BUSY_RETRIES:
                    raise RolloutError(f"{busy} (gave up after {BUSY_RETRIES} retries)") from busy
                ProgressBar(f"onboard {api.name}", waiter.stream).finish(
                    f"another operation is running on the StackSet; waiting {waiter.poll_seconds:.0f}s, then "
                    f"retry {attempts}/{BUSY_RETRIES}")
                waiter.sleep(waiter.poll_seconds)

    def _create(self, api: StackSetApi, waiter: Waiter, part: SpokePart, regions: Sequence[str],
                accounts: Sequence[str], added: Added) -> None:
        """One operation per wave for ``accounts``, each addressed through its OU and filtered to itself."""
        units = sorted({self.tree.deployment_unit(a, self.target_ous) for a in accounts})
        for wave in region_waves(self.home_region, regions):
            operation = api.create_instances(units, wave, accounts=accounts)
            outcome = waiter.wait(operation, f"onboard {api.name} {'+'.join(wave)}", len(accounts) * len(wave))
            self.operations.append(outcome)
            if not outcome.succeeded:
                return
            added |= {(part.stackset, a, r) for a in accounts for r in wave}


def _missing(part: SpokePart, members: Sequence[str], instances: Sequence[Instance]) -> dict[tuple[str, ...],
                                                                                            list[str]]:
    """Regions without any instance (a PENDING or RUNNING one is being created) -> the accounts missing them."""
    have = {(i.account, i.region) for i in instances}
    groups: dict[tuple[str, ...], list[str]] = {}
    for account in members:
        missing = tuple(r for r in part.regions if (account, r) not in have)
        if missing:
            groups.setdefault(missing, []).append(account)
    return groups
