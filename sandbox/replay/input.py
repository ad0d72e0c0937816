"""Read the events a user hands to ``orgguard replay``: one file, any of the shapes CloudTrail data comes in.

A file may hold a bare CloudTrail record, an EventBridge envelope, a JSON array of either, JSON lines
(one record or envelope per line), or a CloudTrail log file (``{"Records": [...]}``, also gzipped as S3
delivers it). A file that is not JSON, or holds no event, gets a reason; items that are not events are
reported one by one while the others still run.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class InputEvent:
    origin: str  # "file.json", "file.json[2]" (array item) or "file.json:3" (line)
    payload: dict[str, Any]


@dataclass
class FileInput:
    path: str
    events: list[InputEvent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.problems)


def looks_like_event(item: Any) -> bool:
    """An EventBridge envelope or a CloudTrail record (what the engine's parser splits)."""
    if not isinstance(item, dict):
        return False
    return any(key in item for key in ("detail", "detail-type", "eventName", "eventSource"))


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(sorted(value)[:5])
        return f"an object without eventName, eventSource or detail (keys: {keys or 'none'})"
    return f"a JSON {type(value).__name__}" if value is not None else "null"


def _json_lines(text: str) -> list[tuple[int, Any]]:
    """Every non-blank line as JSON; raises ValueError naming the first line that is not."""
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            raise ValueError(f"line {number}, column {error.colno}: {error.msg}") from error
    return values


def _top_level_items(value: Any, name: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and isinstance(value.get("Records"), list) and not looks_like_event(value):
        return [(f"{name}[{i}]", item) for i, item in enumerate(value["Records"])]
    if isinstance(value, list):
        return [(f"{name}[{i}]", item) for i, item in enumerate(value)]
    return [(name, value)]


def events_from_text(text: str, name: str) -> FileInput:
    """Pure: the events in ``text``; ``name`` labels where each came from."""
    result = FileInput(name)
    if not text.strip():
        result.problems.append("the file is empty: it holds no event")
        return result
    items: list[tuple[str, Any]]
    try:
        items = _top_level_items(json.loads(text), name)
    except json.JSONDecodeError as whole_error:
        try:
            lines = _json_lines(text)
        except ValueError as line_error:
            first = f"line {whole_error.lineno}, column {whole_error.colno}: {whole_error.msg}"
            reason = first if len(text.splitlines()) < 2 else f"{first} (as JSON lines: {line_error})"
            result.problems.append(f"not JSON: {reason}")
            return result
        items = []
        for number, value in lines:
            if isinstance(value, list):
                items.extend((f"{name}:{number}[{i}]", item) for i, item in enumerate(value))
            else:
                items.append((f"{name}:{number}", value))
    for origin, item in items:
        if looks_like_event(item):
            result.events.append(InputEvent(origin, item))
        else:
            result.problems.append(f"{origin} is not a CloudTrail record or EventBridge event: "
                                   f"{_describe(item)}")
    if not items:
        result.problems.append("it holds no event (an empty array)")
    return result


def read_events(path: str) -> FileInput:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return FileInput(path, problems=[f"cannot read it: {error.strerror or error}"])
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            return FileInput(path, problems=[f"a broken gzip file: {error}"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return FileInput(path, problems=[f"not JSON: not UTF-8 text (byte {error.start})"])
    return events_from_text(text, path)
