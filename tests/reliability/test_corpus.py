"""The corpus: nasty inputs found once (by hand or by Hypothesis), kept as regression tests.

Each ``corpus/*.json`` holds a payload, the policy it is delivered to, the exact outcome it must end in, and
optionally state to create first and text the e-mail must show. Big payloads are stored small: ``pad``
names a field and the length of the string put there before delivery. A case with ``known_bug`` is an
expected failure (strict: it fails the suite once the bug is fixed, so the mark gets removed).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.world import World

from .outcomes import assert_ends_in_an_outcome, mail_mentioning

CORPUS = Path(__file__).resolve().parent / "corpus"
REQUIRED_KINDS = {"missing", "null", "wrong-type", "oversized", "odd-bucket-name", "unicode", "template-syntax",
                  "256kb"}


def corpus_cases() -> list[tuple[str, dict[str, Any]]]:
    return [(path.stem, json.loads(path.read_text())) for path in sorted(CORPUS.glob("*.json"))]


def expand(case: dict[str, Any]) -> Any:
    payload = copy.deepcopy(case["payload"])
    pad = case.get("pad")
    if pad:
        node = payload
        for step in pad["path"][:-1]:
            node = node[step]
        node[pad["path"][-1]] = pad.get("char", "A") * int(pad["length"])
    return payload


def test_the_corpus_holds_every_kind_of_nasty_input() -> None:
    kinds = {kind for _, case in corpus_cases() for kind in case["kinds"]}
    assert kinds >= REQUIRED_KINDS, REQUIRED_KINDS - kinds


def _params() -> list[Any]:
    return [pytest.param(name, case, id=name, marks=[pytest.mark.xfail(strict=True, reason=case["known_bug"])]
                         if "known_bug" in case else []) for name, case in corpus_cases()]


@pytest.mark.parametrize(("name", "case"), _params())
def test_corpus_case(world: World, name: str, case: dict[str, Any]) -> None:
    payload = expand(case)
    detail = payload.get("detail", payload) if isinstance(payload, dict) else {}
    for setup in case.get("setup", []):
        if setup["kind"] == "bucket":
            world.member.bucket(setup["name"])
        elif setup["kind"] == "vpc-named":
            detail["responseElements"]["vpc"]["vpcId"] = world.member.vpc("10.60.0.0/16", name=setup["name"])
        else:
            raise ValueError(f"{name}: unknown setup {setup['kind']!r}")
    result = assert_ends_in_an_outcome(world, payload, case["policy"], world.runtime())
    assert result.outcome == case["outcome"], case["description"]
    for text in case.get("email_contains", []):
        mail_mentioning(world, text)
