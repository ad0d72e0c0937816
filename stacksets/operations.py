"""Running StackSet operations to the end: waves of regions, waiting with a progress bar.

The roles live in their own StackSet, deployed (home region only) before the rules' StackSet, so no region
of the rules depends on another any more. An operation still runs the home region first, on its own, and
only then the other regions (in parallel unless the settings ask for SEQUENTIAL): a template or parameter
that fails fails in one region, where the roles are, before it reaches every other. A single operation with
``RegionOrder`` would need ``SEQUENTIAL`` for every region, which makes a rollout to many regions many times
slower.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from stacksets.api import StackSetApi
from stacksets.errors import RolloutError
from stacksets.instance import Instance
from stacksets.progress import ProgressBar

TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
FINISHED_RESULTS = ("SUCCEEDED", "FAILED", "CANCELLED")
# StackInstanceStatus.DetailedStatus of an instance an operation has yet to start or is working on (botocore's
# CloudFormation model): not a failure, only not done yet.
IN_PROGRESS = ("PENDING", "RUNNING")
POLL_SECONDS = 10.0
# A StackSet operation over thousands of accounts can run for hours; give up only when clearly stuck.
TIMEOUT_SECONDS = 6 * 3600.0


def region_waves(home_region: str, regions: Sequence[str]) -> list[list[str]]:
    """``[[home], [the others]]``, leaving out empty waves and keeping the configured order."""
    first = [r for r in regions if r == home_region]
    rest = [r for r in regions if r != home_region]
    return [wave for wave in (first, rest) if wave]


def region_groups(members: Mapping[str, Collection[str]], home_region: str,
                  order: Sequence[str] = ()) -> list[tuple[list[str], list[str]]]:
    """(regions, members) groups from the members (accounts or OUs) each region needs, one operation each.

    The home region's group comes first and is never merged with another region's (a template that fails, fails
    where the roles are, before it reaches every other region); the other regions that need the same members share
    one group, so a call never names a member in a region that does not need it. Regions keep ``order`` (the
    configured order, which SEQUENTIAL operations follow), then alphabetical.
    """
    rank = {region: index for index, region in enumerate(order)}
    regions = sorted((r for r in members if members[r]),
                     key=lambda r: (r != home_region, rank.get(r, len(rank)), r))
    groups: dict[tuple[bool, tuple[str, ...]], list[str]] = {}
    for region in regions:
        groups.setdefault((region == home_region, tuple(sorted(set(members[region])))), []).append(region)
    ordered = sorted(groups.items(), key=lambda item: not item[0][0])
    return [(grouped, list(names)) for (_, names), grouped in ordered]


@dataclass
class OperationOutcome:
    operation_id: str
    status: str
    failures: list[dict[str, Any]] = field(default_factory=list)  # results with Status FAILED

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


@dataclass
class Waiter:
    """Waits for operations; ``sleep`` and ``poll_seconds`` are there so tests need not wait."""

    api: StackSetApi
    stream: TextIO | None = None
    poll_seconds: float = POLL_SECONDS
    timeout_seconds: float = TIMEOUT_SECONDS
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def wait(self, operation_id: str, label: str, expected: int) -> OperationOutcome:
        bar = ProgressBar(label, self.stream, clock=self.clock)
        started = self.clock()
        while True:
            status = str(self.api.operation(operation_id).get("Status", ""))
            results = self.api.operation_results(operation_id)
            done = sum(1 for r in results if r.get("Status") in FINISHED_RESULTS)
            failed = [r for r in results if r.get("Status") == "FAILED"]
            if results:
                note = f"{status.lower()}" + (f", {len(failed)} failed" if failed else "")
                bar.update(done, max(expected, len(results)), note)
            else:  # nothing to count (yet, or ever: moto reports none for OU targets): said once, not a 0/N bar
                bar.say_once("the service reported no per-account results; waiting for the operation's status")
            if status in TERMINAL:
                bar.finish(f"operation {operation_id} {status}" + (f" ({len(failed)} failed)" if failed else ""))
                return OperationOutcome(operation_id, status, failed)
            if self.clock() - started > self.timeout_seconds:
                raise RolloutError(
                    f"operation {operation_id} on StackSet {self.api.name} is still {status} after "
                    f"{self.timeout_seconds:.0f}s: follow it in the CloudFormation console (StackSets > "
                    f"{self.api.name} > Operations) and run `orgguard status` when it ends"
                )
            self.sleep(self.poll_seconds)

    def settle(self, accounts: Collection[str], label: str) -> list[Instance]:
        """The StackSet's instances once none of ``accounts``' is PENDING or RUNNING, polled with a progress bar.

        Right after an account joins a target OU, the automatic deployment to it is under way: its instances are
        listed PENDING, then RUNNING, before they end (StackInstanceStatus.DetailedStatus in botocore's model).
        Those are not failures, and creating them again would race that deployment. On timeout the instances are
        returned as they are, so the caller reports what is still in progress instead of failing everything.
        """
        bar: ProgressBar | None = None
        started = self.clock()
        while True:
            instances = self.api.instances()
            mine = [i for i in instances if i.account in accounts]
            busy = [i for i in mine if i.detailed in IN_PROGRESS]
            if not busy:
                if bar is not None:
                    bar.update(len(mine), len(mine))
                    bar.finish(f"{len(mine)} instance(s) done")
                return instances
            bar = bar or ProgressBar(label, self.stream, clock=self.clock)
            counts = Counter(i.detailed.lower() for i in busy)
            bar.update(len(mine) - len(busy), len(mine), ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
            if self.clock() - started > self.timeout_seconds:
                bar.finish(f"{len(busy)} instance(s) still in progress after {self.timeout_seconds:.0f}s")
                return instances
            self.sleep(self.poll_seconds)

    def run_waves(
        self,
        home_region: str,
        regions: Sequence[str],
        label: str,
        expected_per_region: int,
        start: Callable[[list[str]], str],
    ) -> list[OperationOutcome]:
        """Start one operation per wave (home region first) and wait for each before the next.

        A wave that fails beyond the failure tolerance stops the rollout: the next wave would fail the same
        way.
        """
        outcomes = []
        for wave in region_waves(home_region, regions):
            operation_id = start(wave)
            outcome = self.wait(operation_id, f"{label} {'+'.join(wave)}", expected_per_region * len(wave))
            outcomes.append(outcome)
            if not outcome.succeeded:
                break
        return outcomes
