"""A burst of mixed CloudTrail events for the sandbox path, each announcing its own fresh resource.

Every governed event names a resource created for it alone (so "exactly one remediation per distinct event"
is checkable); unrelated and failed calls are real samples the spoke must not forward. A tenth of the
events are delivered twice (EventBridge is at-least-once).
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from handlers import outcome as oc

from . import samples
from .sandbox_world import IMAGE, Sandbox

# (kind, percent of the burst)
MIX = (("create-bucket", 25), ("delete-bucket-encryption", 10), ("put-bucket-encryption", 5),
       ("run-instances", 20), ("create-vpc", 10), ("unrelated", 20), ("failed", 10))
REDELIVERED_PERCENT = 10
BUCKET_WRITES = ("s3:PutBucketEncryption",)
INSTANCE_WRITES = ("ec2:CreateTags", "ec2:ModifyInstanceAttribute")


@dataclass
class LoadEvent:
    kind: str
    account: str
    region: str
    record: dict[str, Any]
    resource: str = ""
    expected: str | None = None  # the outcome, or None: the spoke must not forward it
    writes: tuple[str, ...] = ()

    @property
    def event_id(self) -> str:
        return str(self.record["eventID"])


@dataclass
class Burst:
    events: list[LoadEvent]
    redelivered: list[LoadEvent]
    seconds: float = 0.0
    first_delivery: int = 0  # index in the flow's deliveries where this burst starts
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def forwarded(self) -> list[LoadEvent]:
        return [e for e in self.events if e.expected is not None]

    @property
    def puts(self) -> int:
        return len(self.events) + len(self.redelivered)

    def rate(self) -> float:
        return self.puts / self.seconds if self.seconds else 0.0


def counts(n: int) -> dict[str, int]:
    exact = {kind: n * share // 100 for kind, share in MIX}
    exact[MIX[0][0]] += n - sum(exact.values())
    return exact


class Builder:
    """Creates the resources of the burst in the members (as their administrator) and the records naming them."""

    def __init__(self, sandbox: Sandbox, rng: random.Random) -> None:
        self.sandbox = sandbox
        self.rng = rng
        self.targets = [(a, r) for a in sandbox.org.members for r in sandbox.settings.organization.regions]
        self._clients: dict[tuple[str, str, str], Any] = {}

    def client(self, account: str, region: str, service: str) -> Any:
        key = (account, region, service)
        if key not in self._clients:
            self._clients[key] = self.sandbox.member(account, region).client(service)
        return self._clients[key]

    def bucket(self, account: str, region: str) -> str:
        name = f"load-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:20]}"
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        self.client(account, region, "s3").create_bucket(Bucket=name, **location)
        return name

    def event(self, kind: str, account: str, region: str) -> LoadEvent:
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        if kind in ("create-bucket", "delete-bucket-encryption", "put-bucket-encryption"):
            bucket = self.bucket(account, region)
            if kind == "put-bucket-encryption":  # the user set the floor; the standard is aws:kms
                self.client(account, region, "s3").put_bucket_encryption(
                    Bucket=bucket, ServerSideEncryptionConfiguration={
                        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
            sample = {"create-bucket": samples.CREATE_BUCKET,
                      "delete-bucket-encryption": samples.DELETE_BUCKET_ENCRYPTION,
                      "put-bucket-encryption": samples.PUT_BUCKET_ENCRYPTION}[kind]
            record = samples.bucket_call(sample, account, region, bucket, event_id)["detail"]
            return LoadEvent(kind, account, region, record, bucket, oc.REMEDIATED, BUCKET_WRITES)
        if kind == "run-instances":
            instance = self.client(account, region, "ec2").run_instances(
                ImageId=IMAGE, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]["InstanceId"]
            record = samples.run_instances(account, region, [instance], event_id)["detail"]
            return LoadEvent(kind, account, region, record, str(instance), oc.REMEDIATED, INSTANCE_WRITES)
        if kind == "create-vpc":
            cidr = f"10.{self.rng.randrange(256)}.0.0/16"
            vpc = self.client(account, region, "ec2").create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
            record = samples.vpc_created(account, region, str(vpc), cidr, event_id)["detail"]
            return LoadEvent(kind, account, region, record, str(vpc), oc.REPORTED)
        relative = self.rng.choice(samples.UNRELATED) if kind == "unrelated" else samples.FAILED_RUN_INSTANCES
        return LoadEvent(kind, account, region, samples.retarget(relative, account, region, event_id))

    def burst(self, n: int) -> Burst:
        started = time.perf_counter()
        kinds = [kind for kind, count in counts(n).items() for _ in range(count)]
        self.rng.shuffle(kinds)
        events = [self.event(kind, *self.targets[i % len(self.targets)]) for i, kind in enumerate(kinds)]
        # The events keep their samples' eventTime, years ago: the instances they name are long past EC2's
        # consistency window (a "not found" would rightly read as gone for such an event).
        self.sandbox.aws.parts.settle()
        redelivered = self.rng.sample(events, n * REDELIVERED_PERCENT // 100)
        burst = Burst(events, redelivered)
        burst.timings["prepare"] = time.perf_counter() - started
        return burst


def deliver(sandbox: Sandbox, burst: Burst, rng: random.Random) -> None:
    """Put every event (and the redeliveries, mixed in) on the members' buses and let them flow to the end."""
    order = burst.events + burst.redelivered
    rng.shuffle(order)
    burst.first_delivery = len(sandbox.flow.deliveries)
    started = time.perf_counter()
    sandbox.put([(e.account, e.region, e.record) for e in order])
    burst.timings["put"] = time.perf_counter() - started
    sandbox.flow.pump()
    burst.seconds = time.perf_counter() - started
    burst.timings["flow"] = burst.seconds - burst.timings["put"]


def delivered_counts(sandbox: Sandbox, burst: Burst) -> Counter[str]:
    return Counter(sandbox.delivered_event_ids(burst.first_delivery))
