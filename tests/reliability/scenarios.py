"""One non-compliant resource per guardrail in the member account, the event that announces it, and checks
of the member's state (read back in the member account, never trusted from a response)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from handlers.guardrails.ec2_compliance.settings import Ec2Compliance
from handlers.guardrails.s3_public_access.access_block import FLAGS
from tests.support.world import Member

from . import samples

REQUIRED_TAGS = Ec2Compliance().required_tags


class Clock:
    """A settable clock for the engine's day (not-onboarded notices) and the audit lease."""

    def __init__(self, now: float = 1714564800.0) -> None:  # 2024-05-01T12:00:00Z
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Scenario:
    policy: str
    resource: str
    payload: Callable[[str | None], dict[str, Any]]  # event id (None: a fresh one) -> event
    fixed: Callable[[], bool]  # the member's resource meets the standard
    untouched: Callable[[], bool]  # nothing was changed in the member
    extra: dict[str, str] = field(default_factory=dict)


def build(policy: str, member: Member) -> Scenario:
    account, region = member.account, member.region
    if policy == "vpc-created":
        cidr = "10.20.0.0/16"
        vpc = member.vpc(cidr)
        return Scenario(policy, vpc, lambda eid: samples.vpc_created(account, region, vpc, cidr, eid),
                        fixed=lambda: True, untouched=lambda: True)
    if policy == "s3-encryption":
        bucket = member.bucket()
        return Scenario(policy, bucket,
                        lambda eid: samples.bucket_call(samples.CREATE_BUCKET, account, region, bucket, eid),
                        fixed=lambda: member.encryption(bucket) == {"algorithm": "aws:kms", "bucket_key": True},
                        untouched=lambda: member.encryption(bucket) is None)
    if policy == "ec2-compliance":
        instance, admin = member.instance()

        def fixed() -> bool:
            tags = member.instance_tags(instance)
            return all(tags.get(k) == v for k, v in REQUIRED_TAGS.items()) and admin in member.instance_groups(instance)

        def untouched() -> bool:
            return not set(REQUIRED_TAGS) & set(member.instance_tags(instance)) and \
                admin not in member.instance_groups(instance)

        return Scenario(policy, instance, lambda eid: samples.run_instances(account, region, [instance], eid),
                        fixed=fixed, untouched=untouched, extra={"admin_group": admin})
    if policy == "s3-public-access":  # moto gives a bucket no Block Public Access, as after a delete
        bucket = member.bucket()

        def flags() -> dict[str, Any] | None:
            try:
                response = member.client("s3").get_public_access_block(Bucket=bucket)
                return dict(response["PublicAccessBlockConfiguration"])
            except ClientError:
                return None

        return Scenario(policy, bucket, lambda eid: samples.bucket_call(samples.DELETE_PUBLIC_ACCESS_BLOCK, account,
                                                                        region, bucket, eid),
                        fixed=lambda: flags() == dict.fromkeys(FLAGS, True), untouched=lambda: flags() is None)
    raise ValueError(f"no scenario for {policy}")
