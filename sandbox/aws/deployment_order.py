"""The order of a StackSet automatic deployment, which AWS chooses and nobody can set.

An automatic deployment (an account joins a target OU) takes no operation preferences: StackSets deploys one
region at a time in an order of its own (public cloudformation-coverage-roadmap issues #1429, #1208, #2158). Code
that only works for one order is a bug that a fixed emulation would hide, so the sandbox draws the order from a
seed, per StackSet and account, and tests choose it: an explicit region order (``regions``: these first, in this
order; any others follow in the drawn order), and, for StackSets that do not depend on each other (which AWS may
run in any order, or side by side), which of them goes first (``stacksets``).

The draw is ``random.Random`` seeded with a string (the seed, the StackSet, the account): the same on every run and
every machine, independent of the order in which accounts join.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_SEED = 1429  # the roadmap issue that asks AWS for a settable order


@dataclass(frozen=True)
class DeploymentOrder:
    seed: int = DEFAULT_SEED
    regions: tuple[str, ...] = ()  # explicit: these regions first, in this order
    stacksets: tuple[str, ...] = ()  # explicit: among StackSets ready together, these first, in this order

    def regions_for(self, regions: Iterable[str], stackset: str, account: str) -> list[str]:
        """The order in which ``stackset`` reaches ``regions`` of ``account``."""
        pool = sorted(set(regions))
        first = [r for r in self.regions if r in pool]
        rest = [r for r in pool if r not in first]
        random.Random(f"{self.seed}:{stackset}:{account}").shuffle(rest)
        return first + rest

    def next_stackset(self, ready: Sequence[str], account: str) -> str:
        """Which of the StackSets ``ready`` to deploy (nothing holds any of them back) goes next."""
        named = [s for s in self.stacksets if s in ready]
        if named:
            return named[0]
        pool = sorted(set(ready))
        return random.Random(f"{self.seed}:{account}:{'|'.join(pool)}").choice(pool)
