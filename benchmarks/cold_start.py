"""What importing a handler module costs a Lambda cold start, with the SDK the asset vendors and without it.

The Lambda asset is built (``hub.asset``) into a temporary directory. Each handler module is then imported in
a fresh interpreter (nothing cached in ``sys.modules``) right after ``import boto3``, both timed, repeated, and
the medians kept, two ways: from the built asset with its vendored SDK first on ``sys.path`` (what the Lambda
runs), and from the repository with the SDK of the build machine's site-packages (what the asset held before
it vendored one). Each probe reports which boto3 it imported, so the two cannot be confused. Byte code comes
from a private cache filled by a first, unmeasured run, so results do not depend on which ``__pycache__``
directories exist locally. The asset's size is printed too (files, bytes, zipped with deflate).
The handler modules must not import Jinja2: it is loaded only when a notification is rendered.
Exit code 1 if a handler module imports Jinja2 or a probe imported the wrong SDK (times are reported, not
judged).

    python -m benchmarks.cold_start [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from handlers.registry import POLICIES
from hub.asset import VENDORED, build_lambda_asset

ROOT = Path(__file__).resolve().parents[1]
SDK = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
PROBE = """
import json, sys, time
start, start_cpu = time.perf_counter(), time.process_time()
import boto3
loaded, loaded_cpu = time.perf_counter(), time.process_time()
import {module}
done, done_cpu = time.perf_counter(), time.process_time()
print(json.dumps({{"boto3": loaded - start, "added": done - loaded, "added_cpu": done_cpu - loaded_cpu,
                  "boto3_cpu": loaded_cpu - start_cpu, "jinja2": "jinja2" in sys.modules,
                  "boto3_file": boto3.__file__}}))
"""


@dataclass
class Sample:
    boto3_ms: float
    added_ms: float
    boto3_cpu_ms: float  # CPU time: steadier than the wall clock on a busy machine
    added_cpu_ms: float
    jinja2: bool
    boto3_file: str


def import_once(module: str, pycache: str, path: Path) -> Sample:
    """In a fresh interpreter with ``path`` first on ``sys.path``: ``import boto3``, then ``import module``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"PYTHONPATH": str(path), "PYTHONPYCACHEPREFIX": pycache})
    completed = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=path, env=env,
                               capture_output=True, text=True, check=False, timeout=120)
    if completed.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{completed.stderr}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return Sample(float(result["boto3"]) * 1000, float(result["added"]) * 1000,
                  float(result["boto3_cpu"]) * 1000, float(result["added_cpu"]) * 1000, bool(result["jinja2"]),
                  str(result["boto3_file"]))


def asset_size(root: Path, without: tuple[str, ...] = ()) -> tuple[int, int, int]:
    """(files, bytes, bytes zipped with deflate) of the asset, leaving out the top-level names ``without``."""
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and p.relative_to(root).parts[0].removesuffix(".py") not in without
                   and not (without and p.parent.name == "THIRD_PARTY_LICENSES"
                            and p.name.rsplit("-", 1)[0] in {d for i, d in VENDORED if i in without}))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root))
    return len(files), sum(p.stat().st_size for p in files), len(buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start", description=__doc__)
    parser.add_argument("--repeat", type=int, default=10, help="fresh interpreters per module (median kept)")
    args = parser.parse_args([] if argv is None else argv)
    modules = [policy.module for policy in POLICIES]
    with tempfile.TemporaryDirectory(prefix="orgguard-cold-") as work:
        asset = build_lambda_asset(Path(work) / "asset")
        sources = {"vendored (asset)": asset, "site-packages": ROOT}
        samples: dict[tuple[str, str], list[Sample]] = {(m, s): [] for m in modules for s in sources}
        pycache = str(Path(work) / "pycache")
        for module in modules:
            for path in sources.values():
                import_once(module, pycache, path)  # compiles into the private cache; not measured
        for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits every case alike
            for module in modules:
                for source, path in sources.items():
                    samples[(module, source)].append(import_once(module, pycache, path))
        with_sdk, without_sdk = asset_size(asset), asset_size(asset, SDK)
    print(f"Median of {args.repeat} fresh interpreters each, Python {sys.version.split()[0]}; "
          "wall clock (CPU time in brackets).\n")
    print("| handler module | SDK | `import boto3` ms | the module adds ms | Jinja2 imported |")
    print("|---|---|---:|---:|---|")
    problems = []
    for module in modules:
        for source, path in sources.items():
            runs = samples[(module, source)]
            boto3_ms = statistics.median(s.boto3_ms for s in runs)
            added_ms = statistics.median(s.added_ms for s in runs)
            boto3_cpu = statistics.median(s.boto3_cpu_ms for s in runs)
            added_cpu = statistics.median(s.added_cpu_ms for s in runs)
            jinja = any(s.jinja2 for s in runs)
            print(f"| `{module}` | {source} | {boto3_ms:.0f} ({boto3_cpu:.0f}) | {added_ms:.0f} ({added_cpu:.0f}) "
                  f"| {'yes' if jinja else 'no'} |")
            if jinja:
                problems.append(f"{module} imports Jinja2 at module import (it must load only when a "
                                "notification is rendered)")
            in_asset = {s.boto3_file.startswith(str(asset)) for s in runs}
            if in_asset != {path == asset}:
                problems.append(f"{module} with the {source} SDK imported boto3 from {runs[0].boto3_file}")
    print("\n| Lambda asset | files | bytes | zipped (deflate) |\n|---|---:|---:|---:|")
    print(f"| without the SDK | {without_sdk[0]} | {without_sdk[1]:,} | {without_sdk[2]:,} |")
    print(f"| with the vendored SDK | {with_sdk[0]} | {with_sdk[1]:,} | {with_sdk[2]:,} |")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print("\nNo handler module imports Jinja2 at import time; each probe imported the SDK it was meant to.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
