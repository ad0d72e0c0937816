"""Deployment targets: the (OU, region) pairs a StackSet deploys to automatically, and which ones to register.

A service-managed StackSet deploys automatically only to the OUs (or root) that CreateStackInstances named, in the
regions it named them with; ListStackSetAutoDeploymentTargets lists them (botocore's CloudFormation model:
``OrganizationalUnitId`` and ``Regions`` per target). CreateStackInstances with an OU that holds no account
creates no instance, but the operation succeeds and makes the OU a target, so the first account moved into it later
gets the StackSet without anyone acting (the model does not say so in words; pulumi/pulumi-aws#2839 reports the
operation succeeding on an empty OU, done "to enable automatic deployment on that OU"). Deriving the calls from the
instances alone would never name an empty OU, so the OU would never be a target. The rollout therefore registers
every target OU in every region of the StackSet (the home region for the roles' StackSet), empty or not, and only
the pairs ListStackSetAutoDeploymentTargets does not list yet, so a second run registers nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from stacksets.organization import OrgTree

Target = tuple[str, str]  # (OU or root id, region)


@dataclass(frozen=True)
class NewTarget:
    """A target OU that becomes a deployment target of a StackSet in ``regions`` (for the report)."""

    ou: str
    name: str
    regions: tuple[str, ...]
    accounts: int  # governed accounts in it now (0: only accounts moved in later get the StackSet, automatically)

    @property
    def line(self) -> str:
        held = "no account yet" if not self.accounts else f"{self.accounts} account(s)"
        return f"OU {self.ou} ({self.name}, {held}) in {', '.join(self.regions)}"


def unregistered(target_ous: Sequence[str], regions: Sequence[str],
                 targeted: Mapping[str, Iterable[str]]) -> list[Target]:
    """The (OU, region) pairs of the settings that are not deployment targets yet, in the configured order."""
    have = {(ou, region) for ou, listed in targeted.items() for region in listed}
    return [(ou, region) for ou in target_ous for region in regions if (ou, region) not in have]


def needed_units(new: Iterable[Target], missing: Iterable[tuple[str, str]], tree: OrgTree,
                 target_ous: Sequence[str]) -> dict[str, set[str]]:
    """Per region, the OUs to name in CreateStackInstances: those to register, and those holding an account that
    has no instance there (addressed through the target OU above it, as the StackSet reaches it)."""
    units: dict[str, set[str]] = {}
    for ou, region in new:
        units.setdefault(region, set()).add(ou)
    for account, region in missing:
        units.setdefault(region, set()).add(tree.deployment_unit(account, target_ous))
    return units


def describe(new: Sequence[Target], tree: OrgTree, governed: Sequence[str]) -> list[NewTarget]:
    """The pairs to register, one row per OU (the report's and ``--dry-run``'s words)."""
    by_ou: dict[str, list[str]] = {}
    for ou, region in new:
        by_ou.setdefault(ou, []).append(region)
    governed_set = set(governed)
    rows = []
    for ou, regions in by_ou.items():
        name = tree.units[ou].name if ou in tree.units else ou
        accounts = len([a for a in tree.accounts_under([ou]) if a in governed_set])
        rows.append(NewTarget(ou, name, tuple(regions), accounts))
    return rows
