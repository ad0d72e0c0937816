"""Fixtures of the reliability tests: moto with the caller's AWS environment set aside (``tests/support``), and
the world, every engine client wired through this tier's fault ``Injector``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff

from tests.support.moto_env import moto, new_loader, share_model_loader
from tests.support.samples import require_samples
from tests.support.world import World, build_world

from .faults import Injector
from .samples import SAMPLES


@pytest.fixture(scope="module", autouse=True)
def _one_model_loader() -> Iterator[None]:
    """Every boto3 session of a module shares one botocore loader, its own (the sandbox's path tests are
    among these modules), so service models are parsed once per module instead of once per session."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        share_model_loader(monkeypatch, new_loader())
        yield


@pytest.fixture(autouse=True)
def _samples_present() -> None:
    require_samples(SAMPLES)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries as configured, without sleeping between attempts."""

    def immediately(self: Any, context: Any) -> float:
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", immediately)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_backoff: None) -> Iterator[World]:
    with moto(monkeypatch, tmp_path, share_loader=False):
        yield build_world(Injector())


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for a module whose tests only add events (Hypothesis runs many examples in one test)."""
    with pytest.MonkeyPatch.context() as monkeypatch, moto(monkeypatch, tmp_path_factory.mktemp("aws"),
                                                                 share_loader=False):
        yield build_world(Injector())
