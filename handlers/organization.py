"""The organization's tree of OUs and accounts, and the accounts OrgGuard governs: the one listing of the
organization, used by the rollout (``stacksets.organization``), the sweep and the scheduled reconcile.

The walk reads ``ListOrganizationalUnitsForParent`` and ``ListAccountsForParent`` from the given parents
down (the root for the rollout; the target OUs for the sweep, so the hub needs no ``ListRoots``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handlers.settings import Settings

ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name: str
    parent_id: str  # "" for the root


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    status: str = ACTIVE
    parent_id: str = ""


@dataclass
class OrgTree:
    root_id: str
    management_account: str
    units: dict[str, OrgUnit] = field(default_factory=dict)  # the root is a unit too
    accounts: dict[str, Account] = field(default_factory=dict)

    def child_units(self, unit_id: str) -> list[str]:
        return [u.id for u in self.units.values() if u.parent_id == unit_id]

    def units_under(self, unit_ids: Iterable[str]) -> set[str]:
        """The given units and every unit nested below them."""
        found: set[str] = set()
        pending = [u for u in unit_ids if u in self.units]
        while pending:
            unit = pending.pop()
            if unit not in found:
                found.add(unit)
                pending.extend(self.child_units(unit))
        return found

    def accounts_under(self, unit_ids: Iterable[str]) -> list[str]:
        """Accounts in the units or nested below them, in id order (what a StackSet OU target reaches)."""
        units = self.units_under(unit_ids)
        return sorted(a.id for a in self.accounts.values() if a.parent_id in units)

    def ancestors(self, account_id: str) -> list[str]:
        """The account's parent unit, its parent, ... up to the root."""
        chain = []
        unit = self.accounts[account_id].parent_id
        while unit:
            chain.append(unit)
            unit = self.units[unit].parent_id if unit in self.units else ""
        return chain

    def path(self, account_id: str) -> str:
        """``Root/Workloads/Prod``: readable in a table."""
        return "/".join(self.units[u].name for u in reversed(self.ancestors(account_id)) if u in self.units)

    def deployment_unit(self, account_id: str, target_ous: Iterable[str]) -> str:
        """The unit to name when addressing one account: its target OU if it is under one, else its parent."""
        targets = set(target_ous)
        chain = self.ancestors(account_id)
        return next((u for u in chain if u in targets), chain[0] if chain else self.root_id)

    def governed_accounts(self, target_ous: Iterable[str]) -> list[str]:
        """Active accounts the StackSet reaches: under the target OUs, never the management account."""
        return [
            a
            for a in self.accounts_under(target_ous)
            if a != self.management_account and self.accounts[a].status == ACTIVE
        ]


def walk(org: Any, tree: OrgTree, parents: Iterable[str]) -> OrgTree:
    """Add to ``tree`` every OU and account under ``parents`` (which must be in ``tree.units`` or be OU ids)."""
    pending = list(parents)
    seen: set[str] = set()
    units = org.get_paginator("list_organizational_units_for_parent")
    accounts = org.get_paginator("list_accounts_for_parent")
    while pending:
        parent = pending.pop()
        if parent in seen:
            continue
        seen.add(parent)
        tree.units.setdefault(parent, OrgUnit(parent, parent, ""))
        for page in units.paginate(ParentId=parent):
            for unit in page.get("OrganizationalUnits", []):
                tree.units[unit["Id"]] = OrgUnit(unit["Id"], unit.get("Name", unit["Id"]), parent)
                pending.append(unit["Id"])
        for page in accounts.paginate(ParentId=parent):
            for account in page.get("Accounts", []):
                tree.accounts[account["Id"]] = Account(account["Id"], account.get("Name", ""),
                                                       str(account.get("Status") or account.get("State") or
                                                           ACTIVE), parent)
    return tree


def governed_accounts(org: Any, settings: Settings) -> list[Account]:
    """ACTIVE accounts under the target OUs (all the organization's when none is set), the management
    account only when it is covered; exempt accounts stay in (the sweep reports them as exempt)."""
    organization = settings.organization
    management = organization.management_account
    if organization.target_ous:
        tree = walk(org, OrgTree(root_id="", management_account=management), organization.target_ous)
        found = [tree.accounts[a] for a in tree.accounts_under(organization.target_ous)]
    else:
        found = [Account(a["Id"], a.get("Name", ""), str(a.get("Status") or a.get("State") or ""))
                 for page in org.get_paginator("list_accounts").paginate() for a in page.get("Accounts", [])]
    accounts = {a.id: Account(a.id, a.name) for a in found if a.status == ACTIVE}
    if organization.include_management_account and management not in accounts:
        accounts[management] = Account(management, organization.account_names.get(management, ""))
    if not organization.include_management_account:
        accounts.pop(management, None)
    return sorted(accounts.values(), key=lambda a: a.id)
