"""Reading fields of a CloudTrail event's ``detail``, which may be malformed (replayed or hand-written input).

One home for helpers that were copied into handlers/registry.py, handlers/events.py,
sandbox/replay_forwarding.py and sandbox/replay_run.py. The copies differed, and each caller keeps its
behaviour:

- ``text`` accepts only strings (anything else reads as ""): what the sandbox's forwarding and replay
  explanations used, since ``eventSource``/``eventName`` are strings or absent;
- ``scalar_text`` also renders numbers (not booleans) and cuts to ``limit`` characters: what the event
  parser (handlers/events.py) used for the fields it copies into an ``ApiCallEvent``;
- ``items`` unwraps CloudTrail's rendering of XML lists (``{"items": [...]}``), tolerating null, a bare
  object or a plain list; ``params``/``response`` are ``requestParameters``/``responseElements`` when they
  are objects, else empty (handlers/registry.py).

Standard library only: the Lambda asset and the sandbox both import it.
"""

from __future__ import annotations

from typing import Any


def text(value: Any) -> str:
    """``value`` when it is a string, else ""."""
    return value if isinstance(value, str) else ""


def scalar_text(value: Any, limit: int) -> str:
    """A string or number (not a boolean) as text of at most ``limit`` characters, else ""."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)[:limit]
    return ""


def items(value: Any) -> list[Any]:
    """CloudTrail renders XML lists as ``{"items": [...]}``; tolerate null, a bare object or a list."""
    if isinstance(value, dict):
        value = value.get("items", [])
    if isinstance(value, dict):
        return [value]
    return list(value) if isinstance(value, list) else []


def params(detail: dict[str, Any]) -> dict[str, Any]:
    """``requestParameters`` when it is an object, else {}."""
    found = detail.get("requestParameters")
    return found if isinstance(found, dict) else {}


def response(detail: dict[str, Any]) -> dict[str, Any]:
    """``responseElements`` when it is an object, else {}."""
    found = detail.get("responseElements")
    return found if isinstance(found, dict) else {}
