"""``deploy.py sweep --fix`` against Cloud Custodian (``c7n-org run``) on the embedded AWS, requests counted
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
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

REPOSITORY = Path(__file__).resolve().parent.parent
C7N_VENV = REPOSITORY / "build" / "c7n-venv"
REGION = "us-east-1"
REMEDIATION_ROLE = "OrgGuardRemediation"
ACCESS_ROLE = "OrganizationAccountAccessRole"
ADMIN_GROUP = "administrators"
IMAGE = "ami-12c6146b"  # one of moto's built-in images
CUSTODIAN_TIMEOUT_SECONDS = 1800
TARGET_SPEEDUP = 5.0
TARGET_REQUEST_RATIO = 4.0
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


# --- counting at the server ------------------------------------------------------------------------------


class RequestCounter:
    """Requests the server answered, by ``service:Operation`` (thread-safe; the server is threaded)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)


def _service(environ: dict[str, Any]) -> str:
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    if "Credential=" in authorization:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            return scope[3]
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
    credential = query.get("X-Amz-Credential", [""])[0].split("/")
    return credential[3] if len(credential) >= 4 else "unsigned"


def _s3_operation(environ: dict[str, Any]) -> str:
    method = str(environ.get("REQUEST_METHOD", ""))
    path = str(environ.get("PATH_INFO", "/")).strip("/")
    keys = sorted(k for k in urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")),
                                                   keep_blank_values=True)
                  if not k.startswith("X-Amz-") and k not in ("max-buckets", "bucket-region", "prefix"))
    level = "service" if not path else ("bucket" if "/" not in path else "object")
    return f"{method} {level}" + (f" ?{','.join(keys)}" if keys else "")


def operation(environ: dict[str, Any]) -> str:
    """``service:Operation`` of a request, from the headers, the query or the (buffered) form body."""
    service = _service(environ)
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    if service == "s3":
        return f"s3:{_s3_operation(environ)}"
    action = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", ""))).get("Action")
    if not action and str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
    if action:
        return f"{service}:{action[0]}"
    path = str(environ.get("PATH_INFO", "/")).strip("/").split("/")
    return f"{service}:{environ.get('REQUEST_METHOD', '')} {path[0] if path else ''}".rstrip()


@contextlib.contextmanager
def counting_server(counter: RequestCounter) -> Iterator[Any]:
    """The sandbox's embedded AWS, with moto's application wrapped to count every request it serves."""
    from moto.moto_server import threaded_moto_server

    from sandbox.aws.server import embedded_aws
    from sandbox.aws.strictness import Strictness

    original = threaded_moto_server.DomainDispatcherApplication

    class CountingApplication(original):  # type: ignore[misc, valid-type]
        def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
                counter.add(operation(environ))
            return super().__call__(environ, start_response)

    threaded_moto_server.DomainDispatcherApplication = CountingApplication  # type: ignore[misc]
    try:
        # Buckets without default encryption are an account's from before 2023 (S3 gives every new bucket SSE-S3).
        with embedded_aws(REGION, Strictness(s3_default_encryption=False)) as aws:
            yield aws
    finally:
        threaded_moto_server.DomainDispatcherApplication = original  # type: ignore[misc]


# --- the seed --------------------------------------------------------------------------------------------


@dataclass
class Seed:
    management: str
    accounts: list[str]
    sessions: dict[str, boto3.Session] = field(default_factory=dict)  # through OrganizationAccountAccessRole
    buckets: int = 0
    unencrypted: int = 0
    instances: int = 0
    admin_groups: dict[str, str] = field(default_factory=dict)


def _member_session(management: boto3.Session, account: str) -> boto3.Session:
    credentials = management.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}", RoleSessionName="benchmark-seed")["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=REGION)


def _seed_account(session: boto3.Session, management: str, index: int, buckets: int, instances: int) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{management}:root"}}]}
    session.client("iam").create_role(RoleName=REMEDIATION_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    s3 = session.client("s3")
    for number in range(buckets):
        name = f"bench-{index:02d}-{number:04d}"
        s3.create_bucket(Bucket=name)
        if number % 2:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    ec2 = session.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group = str(ec2.create_security_group(GroupName=ADMIN_GROUP, Description="admins", VpcId=vpc)["GroupId"])
    if instances:
        ec2.run_instances(ImageId=IMAGE, MinCount=instances, MaxCount=instances, InstanceType="t3.micro")
    return group


def seed(aws: Any, accounts: int, buckets: int, instances: int) -> Seed:
    management = aws.session()
    org = management.client("organizations")
    org.create_organization(FeatureSet="ALL")
    management_id = str(org.describe_organization()["Organization"]["MasterAccountId"])
    ids = [str(org.create_account(AccountName=f"bench-{i:02d}", Email=f"bench-{i:02d}@example.com")
               ["CreateAccountStatus"]["AccountId"]) for i in range(accounts)]
    result = Seed(management_id, ids)
    for index, account in enumerate(ids):
        session = _member_session(management, account)
        result.sessions[account] = session
        result.admin_groups[account] = _seed_account(session, management_id, index, buckets, instances)
    result.buckets = accounts * buckets
    result.unencrypted = accounts * (buckets - buckets // 2)
    result.instances = accounts * instances
    hub = management
    hub.client("dynamodb").create_table(
        TableName="orgguard-audit", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    hub.client("sns").create_topic(Name="orgguard-alerts")
    aws.parts.settle()  # the seeded resources predate the sweep: EC2's consistency window is over for them
    return result


# --- verification ----------------------------------------------------------------------------------------


def buckets_correct(seed_: Seed) -> int:
    correct = 0
    for session in seed_.sessions.values():
        s3 = session.client("s3")
        for bucket in s3.list_buckets()["Buckets"]:
            try:
                rules = s3.get_bucket_encryption(Bucket=bucket["Name"])["ServerSideEncryptionConfiguration"]["Rules"]
            except s3.exceptions.ClientError:
                continue
            algorithm = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] if rules else ""
            correct += algorithm in ("AES256", "aws:kms")
    return correct


def instances_correct(seed_: Seed) -> int:
    correct = 0
    for account, session in seed_.sessions.items():
        pages = session.client("ec2").get_paginator("describe_instances").paginate()
        for page in pages:
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    tags = {t["Key"] for t in instance.get("Tags", [])}
                    groups = {g["GroupId"] for g in instance.get("SecurityGroups", [])}
                    correct += {"Owner", "CostCenter"} <= tags and seed_.admin_groups[account] in groups
    return correct


# --- the two runs ----------------------------------------------------------------------------------------


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


# --- report ----------------------------------------------------------------------------------------------


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
    with counting_server(counter) as aws:
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
