"""What the sweep tests share: the S3 standard and a weaker encryption, the sweep's clients with every API call
counted, launching instances, and a sweep's findings by resource."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import boto3

from handlers.batch.records import TargetResult
from handlers.sessions import SWEEP_CONFIG, MemberSessions

from .members import Member, Network
from .moto_env import HUB_REGION

KMS_STANDARD = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True,
                 "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]
AES = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}  # allows SSE-C uploads
TODAY = dt.date(2030, 1, 15)
IMAGE = "ami-12c6146b"  # one of moto's built-in images (describing images to find one costs seconds)


class CountingClients(MemberSessions):
    """The sweep's own clients, with every API call it makes counted (the call budget is the property)."""

    def __init__(self, base: boto3.Session, anchor: str) -> None:
        super().__init__(base, config=SWEEP_CONFIG, anchor_region=anchor)
        self.calls: Counter[str] = Counter()
        self._hooked: set[int] = set()

    def client(self, account: str, region: str, service: str) -> Any:
        client = super().client(account, region, service)
        if id(client) not in self._hooked:
            self._hooked.add(id(client))
            client.meta.events.register("before-call", self._count)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1


def launch(owner: Member, network: Network, count: int = 1, tags: dict[str, str] | None = None) -> list[str]:
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    spec = [{"ResourceType": "instance", "Tags": tag_list}] if tag_list else []
    response = owner.client("ec2").run_instances(
        ImageId=IMAGE, MinCount=count, MaxCount=count, InstanceType="t3.micro", SubnetId=network.subnet_id,
        SecurityGroupIds=[network.app_group], TagSpecifications=spec)
    return [i["InstanceId"] for i in response["Instances"]]


def clients_for(base: boto3.Session | None = None) -> CountingClients:
    return CountingClients(base or boto3.Session(region_name=HUB_REGION), HUB_REGION)


def by_resource(result: TargetResult) -> dict[str, Any]:
    return {f.resource: f for f in result.findings}
