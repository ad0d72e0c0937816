"""The ``[policies]`` table of the settings: one section per guardrail in force, each its guardrail's type."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from handlers.registry import guardrails


class Policies(Mapping[str, Any]):
    """The ``[policies.<id>]`` sections by guardrail id, each of its guardrail's ``settings_type``.

    ``policies.s3_encryption`` reads as ``policies.section("s3-encryption")``. Built with the defaults of
    every guardrail in force unless given.
    """

    def __init__(self, sections: Mapping[str, Any] | None = None) -> None:
        given = dict(sections or {})
        self._sections = {g.id: given.pop(g.id, None) or g.default_settings() for g in guardrails()}
        self._sections.update(given)

    def section(self, guardrail_id: str) -> Any:
        try:
            return self._sections[guardrail_id]
        except KeyError:
            raise KeyError(f"no settings section for guardrail {guardrail_id!r} "
                           f"(known: {', '.join(self._sections)})") from None

    def mode(self, guardrail_id: str) -> str:
        return str(self.section(guardrail_id).mode)

    def with_section(self, guardrail_id: str, section: Any) -> Policies:
        return Policies({**self._sections, guardrail_id: section})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.section(name.replace("_", "-"))
        except KeyError as error:
            raise AttributeError(str(error)) from None

    def __getitem__(self, guardrail_id: str) -> Any:
        return self._sections[guardrail_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sections)

    def __len__(self) -> int:
        return len(self._sections)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policies) and self._sections == other._sections

    def __hash__(self) -> int:
        return hash(tuple(self._sections))

    def __repr__(self) -> str:
        return f"Policies({self._sections!r})"
