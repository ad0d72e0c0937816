"""The one way tests write a settings file for a command that touches a real account (moto here).

Such commands take their settings only from a complete ``--config`` file, so a test builds the settings it
means (a mapping, or validated ``Settings``), and ``write_settings`` turns them into TOML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from handlers.settings import Settings

# The repository's sample settings file: complete, every key commented; the settings tests read it.
EXAMPLE = Path(__file__).resolve().parents[2] / "orgguard.example.toml"
BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def organization_raw(management: str, hub: str, hub_region: str, regions: list[str],
                     target_ous: list[str] | None = None, **organization: Any) -> dict[str, Any]:
    """A complete file for this organization: every key a real-account command requires is set."""
    return {
        "organization": {"management_account": management, "hub_account": hub, "hub_region": hub_region,
                         "regions": regions, "target_ous": target_ous or ["ou-abcd-11111111"], **organization},
        "notifications": {"emails": ["cloud-admins@example.com"]},
    }


def _key(name: str) -> str:
    return name if BARE_KEY.fullmatch(name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"no TOML for {value!r}")


def settings_toml(raw: Mapping[str, Any]) -> str:
    """TOML for a settings mapping: top-level values first, each table with its values (inner tables inline)."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in raw.items() if not isinstance(v, Mapping)]
    for name, table in raw.items():
        if isinstance(table, Mapping):
            lines += ["", f"[{_key(name)}]", *(f"{_key(k)} = {_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def write_settings(directory: Path, settings: Settings | Mapping[str, Any], name: str = "orgguard.toml") -> Path:
    path = Path(directory) / name
    raw = settings.to_dict() if isinstance(settings, Settings) else settings
    path.write_text(settings_toml(raw))
    return path
