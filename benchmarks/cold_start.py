"""What importing a handler module adds to a Lambda cold start, beyond ``import boto3``.

Each handler module is imported in a fresh interpreter (nothing cached in ``sys.modules``) right after
``import boto3``, both timed, repeated, and the medians kept. Byte code comes from a private cache filled
by a first, unmeasured run, so results do not depend on which ``__pycache__`` directories exist locally.
The handler modules must not import Jinja2: it is loaded only when a notification is rendered.
Exit code 1 if a handler module imports Jinja2 (the times are reported, not judged).

    python -m benchmarks.cold_start [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from handlers.registry import POLICIES

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, sys, time
start, start_cpu = time.perf_counter(), time.process_time()
import boto3
loaded, loaded_cpu = time.perf_counter(), time.process_time()
import {module}
done, done_cpu = time.perf_counter(), time.process_time()
print(json.dumps({{"boto3": loaded - start, "added": done - loaded, "added_cpu": done_cpu - loaded_cpu,
                  "boto3_cpu": loaded_cpu - start_cpu, "jinja2": "jinja2" in sys.modules}}))
"""


@dataclass
class Sample:
    boto3_ms: float
    added_ms: float
    boto3_cpu_ms: float  # CPU time: steadier than the wall clock on a busy machine
    added_cpu_ms: float
    jinja2: bool


def import_once(module: str, pycache: str) -> Sample:
    """In a fresh interpreter: ``import boto3``, then ``import module`` (what it adds), and Jinja2's presence."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": pycache})
    completed = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT, env=env,
                               capture_output=True, text=True, check=False, timeout=120)
    if completed.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{completed.stderr}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return Sample(float(result["boto3"]) * 1000, float(result["added"]) * 1000,
                  float(result["boto3_cpu"]) * 1000, float(result["added_cpu"]) * 1000, bool(result["jinja2"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start", description=__doc__)
    parser.add_argument("--repeat", type=int, default=10, help="fresh interpreters per module (median kept)")
    args = parser.parse_args([] if argv is None else argv)
    modules = [policy.module for policy in POLICIES]
    samples: dict[str, list[Sample]] = {m: [] for m in modules}
    with tempfile.TemporaryDirectory(prefix="orgguard-pycache-") as pycache:
        for module in modules:
            import_once(module, pycache)  # compiles into the private cache; not measured
        for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits every module alike
            for module in modules:
                samples[module].append(import_once(module, pycache))
    print(f"Median of {args.repeat} fresh interpreters each, Python {sys.version.split()[0]}; "
          "wall clock (CPU time in brackets).\n")
    print("| handler module | `import boto3` ms | the module adds ms | added | Jinja2 imported |")
    print("|---|---:|---:|---:|---|")
    offenders = []
    for module in modules:
        runs = samples[module]
        boto3_ms, added_ms = statistics.median(s.boto3_ms for s in runs), statistics.median(s.added_ms for s in runs)
        boto3_cpu = statistics.median(s.boto3_cpu_ms for s in runs)
        added_cpu = statistics.median(s.added_cpu_ms for s in runs)
        jinja = any(s.jinja2 for s in runs)
        print(f"| `{module}` | {boto3_ms:.0f} ({boto3_cpu:.0f}) | {added_ms:.0f} ({added_cpu:.0f}) "
              f"| {added_ms / boto3_ms * 100:+.0f}% ({added_cpu / boto3_cpu * 100:+.0f}%) "
              f"| {'yes' if jinja else 'no'} |")
        if jinja:
            offenders.append(module)
    if offenders:
        print(f"Jinja2 is imported at module import by: {', '.join(offenders)} (it must load only when a "
              "notification is rendered)", file=sys.stderr)
        return 1
    print("\nNo handler module imports Jinja2 at import time.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
