"""``orgguard sweep --fix`` against Cloud Custodian (``c7n-org run``) on the embedded AWS, requests counted
at the server.

    python -m benchmarks.sweep_vs_custodian [--accounts 10] [--buckets 200] [--instances 50] [--json FILE]

The seed, made fresh and identical for each tool in the same run: an organization of ``--accounts`` member
accounts, each with ``--buckets`` buckets in us-east-1 (half without default encryption, half AES256), an
``administrators`` security group in its default VPC and ``--instances`` untagged instances, and the
``OrgGuardRemediation`` role both tools act through. OrgGuard's standard is set to AES256 (like with like).

- OrgGuard: the sweep command's code, in this process, over the organization (both sweepable policies:
  the buckets *and* the instances), auditing in a hub table and mailing a summary per account.
- Cloud Custodian: ``c7n-org run --cache-period 0`` with the policy ``aws.s3`` / filter
  ``bucket-encryption state: false`` / action ``set-bucket-encryption crypto: AES256`` over the same
  accounts' ``OrgGuardRemediation`` roles (``accounts.yml``), in its own process, pointed at the embedded
  AWS through ``AWS_ENDPOINT_URL``. Any HTTPS request that would leave the machine goes to a dead proxy.

Requests are counted by a WSGI wrapper around moto's server application (the server the sandbox starts),
per service and operation; the seeding and the final verification are not counted. Every bucket of every
account is checked at the end (default encryption present), and for OrgGuard every instance (tags, group).

Cloud Custodian cannot be installed into the project's ``.venv``: c7n 0.9.53 pins boto3 1.43, the project
pins 1.44. It runs from its own virtual environment (``C7N_ORG`` names its ``c7n-org``; otherwise
``build/c7n-venv`` is created on first use with the pins of pyproject's ``bench`` extra).

The bounds this benchmark checks (exit status 1 when broken): OrgGuard at least 5x faster in wall time and
at least 4x fewer requests than Custodian, every bucket correct for both.

This module holds the report, the bounds and ``main``; the counting is in ``sweep_request_counting``, the seed
and its check in ``sweep_seed``, the two runs in ``sweep_runs``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.sweep_request_counting import RequestCounter, counting_server
from benchmarks.sweep_runs import Measured, custodian_executable, run_custodian, run_orgguard
from benchmarks.sweep_seed import REGION, seed

TARGET_SPEEDUP = 5.0
TARGET_REQUEST_RATIO = 4.0


def table(orgguard: Measured, custodian: Measured | None, seed_size: str) -> str:
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}x" if b else "-"

    lines = [f"Seed: {seed_size}", "",
             "| | OrgGuard `sweep --fix` | Cloud Custodian `c7n-org run` | Custodian / OrgGuard |",
             "|---|---:|---:|---:|"]
    o, c = orgguard, custodian
    rows = [("wall time", f"{o.seconds:.1f} s", f"{c.seconds:.1f} s" if c else "-",
             ratio(c.seconds, o.seconds) if c else "-"),
            ("API requests (at the server)", f"{o.total:,}", f"{c.total:,}" if c else "-",
             ratio(c.total, o.total) if c else "-"),
            ("S3 requests", f"{o.service('s3'):,}", f"{c.service('s3'):,}" if c else "-",
             ratio(c.service("s3"), o.service("s3")) if c else "-"),
            ("S3 requests per bucket", f"{o.service('s3') / o.buckets:.2f}",
             f"{c.service('s3') / c.buckets:.2f}" if c else "-", ""),
            ("buckets correct at the end", f"{o.buckets_correct:,}/{o.buckets:,}",
             f"{c.buckets_correct:,}/{c.buckets:,}" if c else "-", "")]
    lines.extend(f"| {name} | {mine} | {theirs} | {r} |" for name, mine, theirs, r in rows)
    lines.append(f"| instances tagged + admin group | {orgguard.instances_correct:,}/{orgguard.instances:,} | "
                 "not in its policy | |")
    return "\n".join(lines)


def breakdown(measured: Measured, top: int = 12) -> str:
    rows = [f"  {n:>7,}  {op}" for op, n in measured.requests.most_common(top)]
    rest = measured.total - sum(n for _, n in measured.requests.most_common(top))
    if rest:
        rows.append(f"  {rest:>7,}  (other)")
    return f"{measured.tool} ({measured.detail}):\n" + "\n".join(rows)


def check_bounds(orgguard: Measured, custodian: Measured | None) -> list[str]:
    problems = []
    if orgguard.buckets_correct != orgguard.buckets:
        problems.append(f"OrgGuard left {orgguard.buckets - orgguard.buckets_correct} bucket(s) wrong")
    if orgguard.instances_correct != orgguard.instances:
        problems.append(f"OrgGuard left {orgguard.instances - (orgguard.instances_correct or 0)} instance(s) wrong")
    if custodian is None:
        return problems
    if custodian.buckets_correct != custodian.buckets:
        problems.append(f"Custodian left {custodian.buckets - custodian.buckets_correct} bucket(s) wrong")
    if custodian.seconds < TARGET_SPEEDUP * orgguard.seconds:
        problems.append(f"OrgGuard is only {custodian.seconds / orgguard.seconds:.1f}x faster "
                        f"(target {TARGET_SPEEDUP:.0f}x)")
    if custodian.total < TARGET_REQUEST_RATIO * orgguard.total:
        problems.append(f"OrgGuard makes only {custodian.total / orgguard.total:.1f}x fewer requests "
                        f"(target {TARGET_REQUEST_RATIO:.0f}x)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep_vs_custodian", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--buckets", type=int, default=200, help="per account")
    parser.add_argument("--instances", type=int, default=50, help="per account")
    parser.add_argument("--skip-custodian", action="store_true", help="measure OrgGuard only")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args([] if argv is None else argv)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    executable = None if args.skip_custodian else custodian_executable()
    counter = RequestCounter()
    size = (f"{args.accounts} accounts x {args.buckets} buckets (half unencrypted, half AES256) and "
            f"{args.instances} untagged instances each, {REGION}")
    with counting_server(counter, REGION) as aws:
        seed_ = seed(aws, args.accounts, args.buckets, args.instances)
        orgguard = run_orgguard(seed_, counter)
        custodian = None
        if executable is not None:
            aws.reset()
            seed_ = seed(aws, args.accounts, args.buckets, args.instances)
            custodian = run_custodian(seed_, counter, executable)
    print(table(orgguard, custodian, size))
    print()
    for measured in (orgguard, custodian):
        if measured is not None:
            print(breakdown(measured))
    if args.json:
        Path(args.json).write_text(json.dumps({"seed": size, "orgguard": orgguard.to_dict(),
                                               "custodian": custodian.to_dict() if custodian else None}, indent=2))
    problems = check_bounds(orgguard, custodian)
    for problem in problems:
        print(f"BOUND BROKEN: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
