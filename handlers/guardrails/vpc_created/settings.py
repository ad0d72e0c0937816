"""The ``[policies.vpc-created]`` section: only a mode (the guardrail reports, it never changes a VPC)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.settings_checks import MODES, Checker


@dataclass(frozen=True)
class VpcCreated:
    mode: str = "enforce"


def parse(raw: dict[str, Any], c: Checker, key: str) -> VpcCreated:
    c.unknown(raw, key, {"mode"})
    return VpcCreated(mode=c.string(raw, key, "mode", "enforce", choices=MODES))
