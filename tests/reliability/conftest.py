"""Fixtures of the reliability tests: moto with the caller's AWS environment set aside, and the world."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from botocore.retries.standard import ExponentialBackoff
from moto import mock_aws

from sandbox.moto_s3 import returns_blocked_encryption_types

from .samples import SAMPLES
from .world import World, build_world


def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("AWS_", "ORGGUARD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))
    # moto creates ~1,300 images (with volumes and snapshots) per EC2 account and region otherwise; the
    # tests launch from a fixed image id and moto does not validate it.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


class _PathList(list[str]):
    """boto3 appends its data path to the loader of every new session: keep one copy."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@pytest.fixture(scope="module", autouse=True)
def _one_model_loader() -> Iterator[None]:
    """Every boto3 session of these tests shares one botocore loader, so service models (EC2's is large)
    are parsed once per module instead of once per session: the engine makes a session per AssumeRole."""
    loader = botocore.loaders.create_loader()
    loader._search_paths = _PathList(loader.search_paths)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(botocore.session, "create_loader", lambda *args, **kwargs: loader)
        yield


@pytest.fixture(autouse=True)
def _samples_present() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"the CloudTrail samples are not at {SAMPLES}")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries as configured, without sleeping between attempts."""

    def immediately(self: Any, context: Any) -> float:
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", immediately)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_backoff: None) -> Iterator[World]:
    _clean_environment(monkeypatch, tmp_path)
    returns_blocked_encryption_types()
    with mock_aws():
        yield build_world()


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for a module whose tests only add events (Hypothesis runs many examples in one test)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clean_environment(monkeypatch, tmp_path_factory.mktemp("aws"))
        returns_blocked_encryption_types()
        with mock_aws():
            yield build_world()
