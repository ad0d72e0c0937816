"""Shared by every test tier; kept minimal. Tier-specific fixtures live in each tier's conftest.py, helpers
shared by tiers in ``tests/support``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The CDK's jsii runtime warns on every start about Node 20's end of life; the Makefile sets this too, so a
# bare `pytest` run behaves like `make test`. It must be set before anything imports aws_cdk.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

TESTS = Path(__file__).resolve().parent
# Each tier is a folder of tests/ and a marker (declared in pyproject.toml): ``pytest -m unit`` runs tests/unit.
TIERS = ("unit", "functional", "infra", "e2e", "reliability", "security")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with the tier of its folder, unless it declares a tier itself (a reliability test that
    runs the embedded AWS end to end is ``e2e``), so each test has exactly one tier marker."""
    for item in items:
        if any(item.get_closest_marker(tier) for tier in TIERS):
            continue
        tier = Path(item.path).resolve().relative_to(TESTS).parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: {tier} is not a test tier of tests/conftest.py ({TIERS})")
        item.add_marker(tier)


@pytest.fixture(autouse=True)
def _needs_samples(request: pytest.FixtureRequest) -> None:
    """A test marked ``needs_samples(path)`` skips when the CloudTrail samples are absent; under CI it fails."""
    marker = request.node.get_closest_marker("needs_samples")
    if marker is not None:
        from tests.support.samples import require_samples

        require_samples(*marker.args)
