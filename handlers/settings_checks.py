"""The building blocks of settings validation: a checker that collects one message per problem, and the
shapes shared by several sections (account ids, regions, tag keys, modes). Guardrails validate their own
section with these (``Guardrail.parse_settings``), so every message reads the same."""

from __future__ import annotations

import json
import re
from typing import Any

MODES = ("enforce", "report", "off")
ACCOUNT_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$", re.UNICODE)
NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MODE_KEY = "mode"


class SettingsError(ValueError):
    """Raised with every problem found; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "settings") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n{lines}")


class Checker:
    """Walks a raw mapping, collecting one message per problem (key, value, what is allowed)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.missing: set[str] = set()  # required keys already reported as missing: no second message

    def problem(self, key: str, value: Any, allowed: str) -> None:
        if key not in self.missing:
            self.problems.append(f"{key} = {show(value)}: {allowed}")

    def required(self, raw: dict[str, Any], required: dict[str, str]) -> None:
        """One message per required key (``table.name`` -> what to put there) the file does not set."""
        for key, what in required.items():
            table, name = key.split(".")
            section = raw.get(table)
            if not isinstance(section, dict) or name not in section:
                self.missing.add(key)
                self.problems.append(f"{key}: missing; set {what}")

    def table(self, raw: Any, key: str) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(key, raw, "must be a table")
            return {}
        return raw

    def unknown(self, raw: dict[str, Any], key: str, known: set[str]) -> None:
        for name in sorted(set(raw) - known):
            self.problems.append(f"{key}.{name}: unknown key (allowed: {', '.join(sorted(known))})")

    def string(self, raw: dict[str, Any], key: str, name: str, default: str, pattern: re.Pattern[str] | None = None,
               allowed: str = "", choices: tuple[str, ...] = (), empty_ok: bool = True) -> str:
        value = raw.get(name, default)
        full = f"{key}.{name}"
        if not isinstance(value, str):
            self.problem(full, value, f"must be a string{'; ' + allowed if allowed else ''}")
            return default
        if choices and value not in choices:
            self.problem(full, value, f"must be one of {', '.join(repr(c) for c in choices)}")
            return default
        if value == "" and empty_ok:
            return value
        if value == "" or (pattern is not None and not pattern.fullmatch(value)):
            self.problem(full, value, allowed or "is not valid")
            return default
        return value

    def boolean(self, raw: dict[str, Any], key: str, name: str, default: bool) -> bool:
        value = raw.get(name, default)
        if not isinstance(value, bool):
            self.problem(f"{key}.{name}", value, "must be true or false")
            return default
        return value

    def integer(self, raw: dict[str, Any], key: str, name: str, default: int, low: int, high: int) -> int:
        value = raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{key}.{name}", value, f"must be an integer from {low} to {high}")
            return default
        if not low <= value <= high:
            self.problem(f"{key}.{name}", value, f"must be from {low} to {high}")
            return default
        return value

    def strings(self, raw: dict[str, Any], key: str, name: str, default: list[str], pattern: re.Pattern[str],
                allowed: str, non_empty: bool = False) -> tuple[str, ...]:
        value = raw.get(name, default)
        full = f"{key}.{name}"
        if not isinstance(value, list):
            self.problem(full, value, f"must be a list of strings, each {allowed}")
            return tuple(default)
        good = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not pattern.fullmatch(item):
                self.problem(f"{full}[{index}]", item, allowed)
            elif item in good:
                self.problem(f"{full}[{index}]", item, "is listed twice")
            else:
                good.append(item)
        if non_empty and not value:
            self.problem(full, value, "must list at least one")
        return tuple(good)

    def string_map(self, raw: dict[str, Any], key: str, name: str, default: dict[str, str],
                   key_pattern: re.Pattern[str], key_allowed: str,
                   value_pattern: re.Pattern[str] | None = None, value_allowed: str = "",
                   max_value: int = 256) -> dict[str, str]:
        value = raw.get(name, default)
        full = f"{key}.{name}"
        if not isinstance(value, dict):
            self.problem(full, value, "must be a table of strings")
            return dict(default)
        good: dict[str, str] = {}
        for k, v in value.items():
            if not key_pattern.fullmatch(k):
                self.problem(f"{full}.{k}", v, key_allowed)
            elif not isinstance(v, str) or len(v) > max_value:
                self.problem(f"{full}.{k}", v, f"must be a string of at most {max_value} characters")
            elif value_pattern is not None and not value_pattern.fullmatch(v):
                self.problem(f"{full}.{k}", v, value_allowed)
            else:
                good[k] = v
        return good


def show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
