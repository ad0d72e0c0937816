"""The synthesized hub template, from the hub's CDK app, cached: the CDK's synthesis takes seconds.

The cache entry is keyed by everything the template depends on (``synthesis_key``) and is only ever written
whole: synthesized aside, then renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from handlers.settings import Settings

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
SYNTH_CACHE = REPOSITORY_ROOT / "build" / "sandbox"


CACHE_ENTRIES = 8


def synthesis_key(settings: Settings) -> str:
    """What the synthesized hub depends on: the settings, the hub and handlers code, the CDK version."""
    digest = hashlib.sha256(settings.to_json().encode())
    digest.update(importlib.metadata.version("aws-cdk-lib").encode())
    for root in (REPOSITORY_ROOT / "hub", REPOSITORY_ROOT / "handlers"):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(REPOSITORY_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def synthesize_hub(settings: Settings, cache_dir: Path = SYNTH_CACHE) -> tuple[dict[str, Any], Path]:
    """The hub template (cdk-nag off: the suite runs it once, validated) and the Lambda asset directory.

    The CDK's synthesis takes seconds, so the result is kept under ``cache_dir`` keyed by ``synthesis_key``;
    a cache entry is only ever written whole (synthesized aside, then renamed into place).
    """
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from hub.app import ASSET_DIR, TEMPLATE_FILE, synth_hub

    entry = cache_dir / f"hub-{synthesis_key(settings)}"
    if not (entry / TEMPLATE_FILE).is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        entries = sorted(cache_dir.glob("hub-*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[CACHE_ENTRIES - 1:]:  # the demo's, the tests' and replay's settings each keep one
            shutil.rmtree(stale, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".synth-") as work:
            synth_hub(settings, Path(work) / "out", validate=False)
            with contextlib.suppress(OSError):  # another process wrote the same entry meanwhile
                (Path(work) / "out").rename(entry)
    with contextlib.suppress(OSError):
        os.utime(entry)  # most recently used: kept longest
    return json.loads((entry / TEMPLATE_FILE).read_text()), entry / ASSET_DIR
