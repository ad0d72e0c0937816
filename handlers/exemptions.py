"""Exemptions (pure): by account, or by a resource tag naming policy ids or "all", optionally until a date."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from handlers.contract import EXEMPT_TAG_ALL

if TYPE_CHECKING:
    from handlers.settings import Exemptions


def account_exempt(account: str, exemptions: Exemptions) -> bool:
    return account in exemptions.accounts


def tag_exemption(tags: dict[str, str], policy_id: str, exemptions: Exemptions, today: dt.date) -> str | None:
    """The reason the resource is exempt from ``policy_id``, or None.

    ``orgguard:exempt`` holds policy ids or ``all`` separated by commas, spaces, ``;``, ``/`` or ``+``
    (tag values cannot hold every character on every service). An ``orgguard:exempt-until`` date in the
    past, or one that is not YYYY-MM-DD, ends the exemption (fail closed: a typo must not exempt forever).
    """
    if not exemptions.tag or exemptions.tag not in tags:
        return None
    raw = tags[exemptions.tag]
    names = {n.strip().lower() for n in raw.replace(";", ",").replace("/", ",").replace("+", ",")
             .replace(" ", ",").split(",") if n.strip()}
    if policy_id not in names and EXEMPT_TAG_ALL not in names:
        return None
    until = tags.get(exemptions.until_tag, "").strip()
    if until:
        try:
            end = dt.date.fromisoformat(until)
        except ValueError:
            return None
        if end < today:
            return None
        return f"tag {exemptions.tag}={raw} until {until}"
    return f"tag {exemptions.tag}={raw}"


def tags_to_dict(tag_list: object) -> dict[str, str]:
    """AWS tag lists (``[{"Key":..,"Value":..}]``) to a dict; tolerate odd shapes."""
    tags: dict[str, str] = {}
    if isinstance(tag_list, list):
        for tag in tag_list:
            if isinstance(tag, dict) and isinstance(tag.get("Key"), str):
                tags[tag["Key"]] = str(tag.get("Value", ""))
    return tags
