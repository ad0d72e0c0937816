"""The real CloudTrail samples (``../shared/cloudtrail-samples``, beside the repository). A test that needs them
skips, saying why, when they are absent; under CI (``CI=true``) it fails instead, so a CI run that lost the
samples cannot pass by skipping every test that reads them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "cloudtrail-samples"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_samples(path: Path = SAMPLES) -> None:
    """Skip (fail under CI) unless ``path``, the samples or a part of them, is there."""
    if path.exists():
        return
    message = f"the CloudTrail samples are not at {path} (CI checks out ../shared)"
    if in_ci():
        pytest.fail(f"{message}; CI=true, so this fails instead of skipping", pytrace=False)
    pytest.skip(message)


def needs_samples(path: Path = SAMPLES) -> pytest.MarkDecorator:
    """Mark a test (or ``pytestmark`` a module) that reads ``path``: ``tests/conftest.py`` calls ``require_samples``
    before the test runs."""
    return pytest.mark.needs_samples(path)
