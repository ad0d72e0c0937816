"""``orgguard.example.toml`` from the guardrails: its ``[policies.<id>]`` sections are each guardrail's
``example``, in registry order, between the hand-written sections before and after them.

``python -m commands.example_config`` rewrites the file; a test fails when the file and the guardrails
disagree, so a new guardrail appears in the example by declaring its ``example``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from handlers.registry import guardrails

EXAMPLE_FILE = Path(__file__).resolve().parent.parent / "orgguard.example.toml"
POLICIES_START = "[policies."
AFTER_POLICIES = "[exemptions]"


def policies_part() -> str:
    return "".join(f"[policies.{g.id}]\n{g.example.rstrip()}\n\n" for g in guardrails())


def render(current: str) -> str:
    """``current`` with its policy sections replaced by the guardrails' own."""
    start, end = current.find(POLICIES_START), current.find(AFTER_POLICIES)
    if start < 0 or end < start:
        raise ValueError(f"the example must hold {POLICIES_START}...] sections followed by {AFTER_POLICIES}")
    return current[:start] + policies_part() + current[end:]


def main() -> int:
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    updated = render(text)
    if updated != text:
        EXAMPLE_FILE.write_text(updated, encoding="utf-8")
        print(f"{EXAMPLE_FILE.name}: policy sections rewritten from the guardrails", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
