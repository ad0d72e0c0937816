"""AWS API calls per event, per guardrail path, against the minimum each path needs (moto, in-process).

Every call the engine makes goes through a client of the hub's session (DynamoDB, SNS, STS) or of a member
session from ``MemberSessions``; a botocore ``before-call`` hook on each of those sessions counts them. The
engine runs exactly as in Lambda: one ``Runtime`` kept warm across events, real policies, enforcing.
Exit code 1 if any path makes a call beyond its minimum (or ends in an unexpected outcome).

    python -m benchmarks.engine_calls
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from benchmarks.engine_call_events import (
    HUB,
    MEMBER,
    REGION,
    bucket_event,
    create_vpc_event,
    make_vpcs,
    public_access_event,
    run_instances_event,
)
from handlers.audit import AuditLog
from handlers.contract import HUB_HANDLER_ROLE_NAME, TABLE_PARTITION_KEY
from handlers.engine import Runtime, process
from handlers.notify import Notifier
from handlers.registry import guardrail, policy_for
from handlers.sessions import MemberSessions
from handlers.settings import Settings, load
from sandbox.replay.forwarding import envelope_for
from sandbox.replay.org import ACCESS_ROLE, role_session

# --- The minimum calls per event, and why each one is needed --------------------------------------------
AUDIT = Counter({
    "dynamodb.PutItem": 1,  # claim the event id with a conditional write: a duplicate delivery does nothing
    "dynamodb.UpdateItem": 1,  # record the outcome (before/after, actions, actor) and mark the event done
})
NOTIFY = Counter({
    "sns.Publish": 1,  # the e-mail to the administrators
    # The outcome is recorded with the rendered e-mail (notification "pending") before Publish and marked
    # "sent" after it: a retry after a crash can then tell a failed publish (send again) from one that may
    # have gone out (never send twice). Without an e-mail the one outcome write is all.
    # Storm control counts the e-mail in its account x guardrail window first (one conditional ADD, idempotent
    # by event id): past the limit the e-mail is folded into the window's digest instead of sent.
    "dynamodb.UpdateItem": 2,
})
ASSUME = Counter({"sts.AssumeRole": 1})  # a session in the member account: cached per account+region until
#                                          shortly before expiry, so only an account's first event pays it
BUCKET_READ = Counter({"s3.GetBucketEncryption": 1})  # decide from the live configuration, not the event
BUCKET_FIX = Counter({
    "s3.GetBucketTagging": 1,  # only before acting: the exemption tag, and the CloudFormation drift hint
    "s3.PutBucketEncryption": 1,  # the fix
})
BPA_READ = Counter({"s3.GetPublicAccessBlock": 1})  # s3-public-access: the four flags, live
BPA_FIX = Counter({
    "s3.GetBucketTagging": 1,  # only when a flag is off: the exemption and public tags
    "s3.PutPublicAccessBlock": 1,  # the fix: the missing flags on, those on kept
})
POLICY_STATUS = Counter({"s3.GetBucketPolicyStatus": 1})  # after a PutBucketPolicy with a flag off: is it public
VPC_READ = Counter({"ec2.DescribeVpcs": 1})  # the live CIDR, tags and exemption of the new VPC
DUPLICATE = Counter({"dynamodb.PutItem": 1})  # the claim fails and returns the stored item: nothing else


def run_instances_minimum(instances: int, vpcs: int, group_cache_warm: bool) -> Counter[str]:
    return Counter({
        "ec2.DescribeInstances": 1,  # live tags, groups and VPC of every launched instance, in one call
        "ec2.CreateTags": 1,  # every missing tag on every instance at once (a launch's instances share them)
        # the admin group of each VPC; found ids are cached, so a later event in the same VPCs needs none
        "ec2.DescribeSecurityGroups": 0 if group_cache_warm else vpcs,
        "ec2.ModifyInstanceAttribute": instances,  # Groups replaces the set: one call per instance
    }) + NOTIFY + AUDIT


# --- Counting --------------------------------------------------------------------------------------------

class CallCounter:
    """A botocore ``before-call`` handler: fires once per API call (retries happen below it)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1


class CountingMemberSessions(MemberSessions):
    """``MemberSessions`` whose member sessions carry the counter before any client is made from them."""

    def __init__(self, base: boto3.Session, counter: CallCounter) -> None:
        super().__init__(base)
        self._counter = counter
        self._hooked: list[boto3.Session] = []

    def client(self, account: str, region: str, service: str) -> Any:
        session = self.session(account, region)
        if not any(session is hooked for hooked in self._hooked):
            session.events.register("before-call", self._counter)
            self._hooked.append(session)
        return super().client(account, region, service)


@dataclass
class Measured:
    path: str
    calls: Counter[str]
    minimum: Counter[str]
    outcome: str
    expected_outcome: str

    @property
    def over(self) -> dict[str, tuple[int, int]]:
        return {op: (n, self.minimum[op]) for op, n in self.calls.items() if n > self.minimum[op]}

    @property
    def ok(self) -> bool:
        return not self.over and self.outcome == self.expected_outcome


@dataclass
class Bench:
    counter: CallCounter
    runtime: Runtime
    member: boto3.Session  # seeds state; its calls are not counted
    settings: Settings

    def measure(self, path: str, record: dict[str, Any], minimum: Counter[str], expected: str,
                policy_id: str = "") -> Measured:
        """One delivery to ``policy_id`` (default: the first guardrail that names the event)."""
        policy = guardrail(policy_id) if policy_id else policy_for(record["eventSource"], record["eventName"])
        if policy is None:
            raise ValueError(f"no guardrail reacts to {record['eventName']} ({path})")
        self.counter.calls.clear()
        processed = process(envelope_for(record), policy, self.runtime)
        return Measured(path, Counter(self.counter.calls), minimum, processed.outcome, expected)


@contextmanager
def aws_environment_aside() -> Iterator[None]:
    """Dummy credentials and no profile or endpoint, so moto's in-process mock gets every call."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for key in saved:
        del os.environ[key]
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"})
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[key]
        os.environ.pop("MOTO_EC2_LOAD_DEFAULT_AMIS", None)
        os.environ.update(saved)


def build_bench() -> Bench:
    settings = load(None)
    base = boto3.Session(region_name=REGION)
    counter = CallCounter()
    hub = role_session(base, HUB, HUB_HANDLER_ROLE_NAME, REGION, "orgguard")
    hub.events.register("before-call", counter)
    dynamodb = hub.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName=settings.hub.table_name, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": TABLE_PARTITION_KEY, "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": TABLE_PARTITION_KEY, "KeyType": "HASH"}])
    sns = hub.client("sns", region_name=REGION)
    topic = sns.create_topic(Name=settings.hub.topic_name)["TopicArn"]
    audit = AuditLog(dynamodb, settings.hub.table_name)
    runtime = Runtime(settings, CountingMemberSessions(hub, counter), audit, Notifier(sns, topic))
    return Bench(counter, runtime, role_session(base, MEMBER, ACCESS_ROLE, REGION), settings)


# --- Events and the state they left ----------------------------------------------------------------------

def measure_public_access(bench: Bench, s3: Any) -> list[Measured]:
    """s3-public-access: one read when the flags are on; the tags, the fix (and the policy status) when not."""
    bpa = "s3-public-access"
    return [
        bench.measure("bucket made public (DeleteBucketPublicAccessBlock)",
                      public_access_event(s3, "bpa-off-1", "DeleteBucketPublicAccessBlock", False),
                      BPA_READ + BPA_FIX + NOTIFY + AUDIT, "remediated"),
        bench.measure("Block Public Access all on (PutBucketPublicAccessBlock)",
                      public_access_event(s3, "bpa-on-1", "PutBucketPublicAccessBlock", True),
                      BPA_READ + AUDIT, "compliant"),
        bench.measure("public policy, flags off (PutBucketPolicy)",
                      public_access_event(s3, "bpa-policy-1", "PutBucketPolicy", False),
                      BPA_READ + BPA_FIX + POLICY_STATUS + NOTIFY + AUDIT, "remediated"),
        bench.measure("CreateBucket at s3-public-access, flags on (its second guardrail)",
                      public_access_event(s3, "bpa-create-1", "CreateBucket", True), BPA_READ + AUDIT,
                      "compliant", bpa),
    ]


def measure_all(bench: Bench) -> list[Measured]:
    s3 = bench.member.client("s3", region_name=REGION)
    ec2 = bench.member.client("ec2", region_name=REGION)
    admin = bench.settings.policies.ec2_compliance.admin_security_group.name
    results = [bench.measure("non-compliant bucket, first event of the account",
                             bucket_event(s3, "cold-1", False),
                             BUCKET_READ + BUCKET_FIX + NOTIFY + AUDIT + ASSUME, "remediated")]
    noncompliant = bucket_event(s3, "warm-1", False)
    results.append(bench.measure("non-compliant bucket", noncompliant,
                                 BUCKET_READ + BUCKET_FIX + NOTIFY + AUDIT, "remediated"))
    results.append(bench.measure("compliant bucket", bucket_event(s3, "compliant-1", True),
                                 BUCKET_READ + AUDIT, "compliant"))
    bench.runtime.admin_groups.clear()  # the EC2 measurements start without cached admin groups
    for vpcs in (1, 2):
        for instances in (1, 2, 5):
            if instances < vpcs:
                continue
            subnets = make_vpcs(ec2, vpcs, admin)
            where = "1 VPC" if vpcs == 1 else f"{vpcs} VPCs"
            for warm in (False, True):
                event = run_instances_event(ec2, subnets, instances, f"run-{instances}-{vpcs}-{warm}")
                label = f"RunInstances x{instances}, {where}" + (", group cache warm" if warm else "")
                results.append(bench.measure(label, event, run_instances_minimum(instances, vpcs, warm),
                                             "remediated"))
    results += measure_public_access(bench, s3)
    results.append(bench.measure("CreateVpc", create_vpc_event(ec2), VPC_READ + NOTIFY + AUDIT, "reported"))
    results.append(bench.measure("duplicate delivery (non-compliant bucket again)", noncompliant, DUPLICATE,
                                 "skipped:duplicate"))
    return results


def _calls(counter: Counter[str]) -> str:
    return ", ".join(f"{op} {n}" if n > 1 else op for op, n in sorted(counter.items()) if n)


def report(results: list[Measured]) -> int:
    print("| path | calls (operation, count if > 1) | total | minimum |")
    print("|---|---|---:|---:|")
    for m in results:
        print(f"| {m.path} | {_calls(m.calls)} | {sum(m.calls.values())} | {sum(m.minimum.values())} |")
    failures = [m for m in results if not m.ok]
    for m in failures:
        over = ", ".join(f"{op}: {n} > {allowed}" for op, (n, allowed) in sorted(m.over.items()))
        if over:
            print(f"OVER THE MINIMUM: {m.path}: {over}", file=sys.stderr)
        if m.outcome != m.expected_outcome:
            print(f"UNEXPECTED OUTCOME: {m.path}: {m.outcome}, expected {m.expected_outcome}",
                  file=sys.stderr)
    if not failures:
        print(f"\nAll {len(results)} paths at or under their minimum.")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    if argv:
        print(f"usage: python -m benchmarks.engine_calls (no options; got {' '.join(argv)})", file=sys.stderr)
        return 2
    from moto import mock_aws

    from sandbox.aws.moto_s3 import returns_blocked_encryption_types

    returns_blocked_encryption_types()
    with aws_environment_aside(), mock_aws():
        results = measure_all(build_bench())  # a runtime of its own: its admin-group cache starts empty
    return report(results)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
