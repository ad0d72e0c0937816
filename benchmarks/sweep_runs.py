"""The two measured runs on the seed: OrgGuard's sweep command in this process, Cloud Custodian's ``c7n-org run``
in its own virtual environment; each gives a ``Measured``."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.sweep_request_counting import RequestCounter
from benchmarks.sweep_seed import REGION, REMEDIATION_ROLE, Seed, buckets_correct, instances_correct

REPOSITORY = Path(__file__).resolve().parent.parent
C7N_VENV = REPOSITORY / "build" / "c7n-venv"
CUSTODIAN_TIMEOUT_SECONDS = 1800
DEAD_PROXY = "http://127.0.0.1:9"  # discard port: nothing listens, so a request to real AWS fails at once

CUSTODIAN_POLICY = """\
policies:
  - name: s3-default-encryption
    resource: aws.s3
    filters:
      - type: bucket-encryption
        state: false
    actions:
      - type: set-bucket-encryption
        crypto: AES256
"""


@dataclass
class Measured:
    tool: str
    seconds: float
    requests: Counter[str]
    buckets_correct: int
    buckets: int
    instances_correct: int | None = None
    instances: int = 0
    detail: str = ""

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def service(self, name: str) -> int:
        return sum(n for op, n in self.requests.items() if op.startswith(f"{name}:"))

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "seconds": round(self.seconds, 2), "requests": self.total,
                "s3_requests": self.service("s3"), "buckets_correct": self.buckets_correct, "buckets": self.buckets,
                "instances_correct": self.instances_correct, "instances": self.instances,
                "by_operation": dict(self.requests.most_common()), "detail": self.detail}


def benchmark_settings(management: str) -> Any:
    from handlers.settings import validate

    return validate({
        "organization": {"management_account": management, "hub_account": management, "hub_region": REGION,
                         "regions": [REGION], "include_management_account": False},
        "policies": {"s3-encryption": {"algorithm": "AES256"}},
    }, "benchmark settings")


def run_orgguard(seed_: Seed, counter: RequestCounter) -> Measured:
    from commands.sweep import parse_options, sweep

    settings = benchmark_settings(seed_.management)
    args = argparse.Namespace(policy=None, accounts=None, regions=None, fix=True, csv=None, workers=16,
                              restart=True, json=True, dry_run=False, profile=None, region=None)
    options = parse_options(args, settings)
    out, err = io.StringIO(), io.StringIO()
    before = counter.snapshot()
    with tempfile.TemporaryDirectory(prefix="orgguard-bench-") as work, _cwd(Path(work)):
        started = time.perf_counter()
        code = sweep(args, settings, options, out, err)
        seconds = time.perf_counter() - started
    requests = counter.snapshot() - before
    if code != 0:
        raise RuntimeError(f"the sweep failed ({code}):\n{err.getvalue()[-3000:]}")
    totals = json.loads(out.getvalue())["totals"]
    return Measured("OrgGuard sweep --fix", seconds, requests, buckets_correct(seed_), seed_.buckets,
                    instances_correct(seed_), seed_.instances,
                    detail=f"fixed {totals.get('remediated', 0)}, compliant {totals.get('compliant', 0)}")


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def bench_pins() -> list[str]:
    with open(REPOSITORY / "pyproject.toml", "rb") as handle:
        extras = tomllib.load(handle)["project"]["optional-dependencies"]
    return [str(p) for p in extras["bench"]]


def custodian_executable() -> Path:
    """``c7n-org`` from $C7N_ORG, build/c7n-venv, or a new build/c7n-venv with the bench extra's pins."""
    named = os.environ.get("C7N_ORG")
    if named:
        return Path(named)
    executable = C7N_VENV / "bin" / "c7n-org"
    if not executable.exists():
        print(f"installing Cloud Custodian ({', '.join(bench_pins())}) into {C7N_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(C7N_VENV)], check=True)
        subprocess.run([str(C7N_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", *bench_pins()],
                       check=True)
    return executable


def run_custodian(seed_: Seed, counter: RequestCounter, executable: Path) -> Measured:
    with tempfile.TemporaryDirectory(prefix="c7n-bench-") as work:
        directory = Path(work)
        accounts = "accounts:\n" + "".join(
            f'  - account_id: "{a}"\n    name: "bench-{i:02d}"\n    regions: ["{REGION}"]\n'
            f'    role: "arn:aws:iam::{a}:role/{REMEDIATION_ROLE}"\n' for i, a in enumerate(seed_.accounts))
        (directory / "accounts.yml").write_text(accounts)
        (directory / "policy.yml").write_text(CUSTODIAN_POLICY)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k in (
            "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION",
            "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED")}
        environment.update({"HTTPS_PROXY": DEAD_PROXY, "https_proxy": DEAD_PROXY,
                            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
        command = [str(executable), "run", "-c", "accounts.yml", "-u", "policy.yml", "-s", "out",
                   "-r", REGION, "--cache-period", "0"]
        before = counter.snapshot()
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=directory, env=environment, capture_output=True, text=True,
                                   timeout=CUSTODIAN_TIMEOUT_SECONDS, check=False)
        seconds = time.perf_counter() - started
        requests = counter.snapshot() - before
        if completed.returncode != 0:
            raise RuntimeError(f"c7n-org failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
        matched = sum(len(json.loads(p.read_text())) for p in directory.glob("out/**/resources.json"))
    return Measured("Cloud Custodian c7n-org", seconds, requests, buckets_correct(seed_), seed_.buckets,
                    detail=f"matched {matched}")
