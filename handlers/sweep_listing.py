"""What a sweep lists: the governed accounts of the organization, and the buckets of an account-region with
their tags (one paged ``ListBuckets``, one paged ``tag:GetResources``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from handlers.settings import Settings


@dataclass(frozen=True)
class Account:
    id: str
    name: str


def _active(raw: dict[str, Any]) -> bool:
    return str(raw.get("State") or raw.get("Status") or "") == "ACTIVE"


def _units_under(org: Any, roots: Iterable[str]) -> list[str]:
    found: list[str] = []
    pending = list(roots)
    while pending:
        parent = pending.pop()
        if parent in found:
            continue
        found.append(parent)
        pages = org.get_paginator("list_children").paginate(ParentId=parent, ChildType="ORGANIZATIONAL_UNIT")
        for page in pages:
            pending.extend(child["Id"] for child in page.get("Children", []))
    return found


def governed_accounts(org: Any, settings: Settings) -> list[Account]:
    """ACTIVE accounts under the target OUs (all the organization's when none is set), the management
    account only when it is covered; exempt accounts stay in (the sweep reports them as exempt)."""
    organization = settings.organization
    raw_accounts: list[dict[str, Any]] = []
    if organization.target_ous:
        for unit in _units_under(org, organization.target_ous):
            for page in org.get_paginator("list_accounts_for_parent").paginate(ParentId=unit):
                raw_accounts.extend(page.get("Accounts", []))
    else:
        for page in org.get_paginator("list_accounts").paginate():
            raw_accounts.extend(page.get("Accounts", []))
    accounts = {a["Id"]: Account(a["Id"], a.get("Name", "")) for a in raw_accounts if _active(a)}
    management = organization.management_account
    if organization.include_management_account and management not in accounts:
        accounts[management] = Account(management, organization.account_names.get(management, ""))
    if not organization.include_management_account:
        accounts.pop(management, None)
    return sorted(accounts.values(), key=lambda a: a.id)
