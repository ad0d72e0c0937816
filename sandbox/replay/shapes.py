"""CloudTrail's JSON renderings that replay reads, and what seeding a replayed event returns.

CloudTrail turns XML APIs (EC2, S3) into JSON mechanically: a list is ``{"items": [...]}`` (EC2) or the
element name (S3: ``{"Tag": ...}``), and a list of one is often a bare object instead of an array.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


class SeedError(Exception):
    """The embedded AWS refused to create the state the event describes."""


@dataclass
class Seeded:
    detail: dict[str, Any]  # the CloudTrail record, ids rewritten to the embedded AWS's
    notes: list[str] = field(default_factory=list)


def items(value: Any) -> list[Any]:
    """CloudTrail's XML lists: ``{"items": [...]}``, a bare object for one element, or a list."""
    if isinstance(value, dict) and "items" in value:
        value = value["items"]
    if isinstance(value, dict):
        return [value]
    return list(value) if isinstance(value, list) else []


def text(value: Any) -> str:
    if isinstance(value, dict):  # some records wrap scalars: {"value": "p2.xlarge"}
        value = value.get("value")
    return value if isinstance(value, str) else ""


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def number(value: Any) -> int | None:
    """An integer field (``deviceIndex``); some renderings give it as a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def tag_pairs(value: Any) -> dict[str, str]:
    """Tags in any of CloudTrail's renderings -> ``{key: value}``.

    EC2: ``{"items": [{"key", "value"}]}`` or a list; S3: ``{"Tag": {"Key", "Value"}}`` for one tag,
    ``{"Tag": [...]}`` for several, or a list.
    """
    if isinstance(value, dict) and ("Tag" in value or "tag" in value):
        value = value.get("Tag", value.get("tag"))
    pairs: dict[str, str] = {}
    for tag in items(value):
        if not isinstance(tag, dict):
            continue
        key = text(tag.get("key", tag.get("Key")))
        if key:
            pairs[key] = text(tag.get("value", tag.get("Value")))
    return pairs


def event_date(detail: dict[str, Any]) -> date | None:
    """The day of ``eventTime`` (ISO, or test data's ``2024-12-12 16:04:32.000000000``); None if unreadable."""
    try:
        return date.fromisoformat(text(detail.get("eventTime"))[:10])
    except ValueError:
        return None
