"""The scheduled reconcile on the embedded AWS: the hub deployed from its synthesized template, its reconcile
functions run from that template (handler, environment, execution role) by the sandbox's Lambda runner, the
queue between them delivered as the template's event source mapping says, and the member accounts' resources
that no event ever announced brought to the standard.

The schedule and the queue's event source mapping are played by ``sandbox/world/reconcile_run.py``: moto runs no
schedule, and would run the worker in Docker for each message. The start function reads the organization as the
hub (a delegated reader of Organizations), as on AWS.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers.adapters import reconcile as reconcile_lambda
from handlers.batch import reconcile
from handlers.contract import ENV_RECONCILE_QUEUE_URL
from handlers.registry import guardrails
from handlers.settings import Settings
from sandbox.aws.server import EmbeddedAws, embedded_aws
from sandbox.world.baseline import set_up_account
from sandbox.world.hub import DeployedHub, deploy_hub, synthesize_hub
from sandbox.world.identities import account_admin
from sandbox.world.lambda_runner import (
    LAMBDA_SERVICE,
    FunctionSpec,
    LambdaRunner,
    cold_start,
    environment,
    load_handler,
)
from sandbox.world.mailbox import Mailbox
from sandbox.world.moto_gaps import moto_skips_quietly as quiet_moto
from sandbox.world.organization import HUB_REGION, SandboxOrganization, create_organization, sandbox_settings
from sandbox.world.reconcile_run import (
    START_HANDLER,
    WORKER_HANDLER,
    deliver_queue,
    scheduled_event,
    switch_off_moto_mappings,
)
from sandbox.world.template import referenced_logical_id
from stacksets.operations import Waiter
from stacksets.rollout import Rollout

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

IMAGE = "ami-12c6146b"  # one of moto's built-in images
KMS_STANDARD = {"SSEAlgorithm": "aws:kms", "BucketKeyEnabled": True}
SSE_S3 = {"SSEAlgorithm": "AES256", "BucketKeyEnabled": False}  # what S3 gives every new bucket


@dataclass
class World:
    management: boto3.Session
    org: SandboxOrganization
    settings: Settings
    hub: DeployedHub
    runner: LambdaRunner
    mailbox: Mailbox
    legacy: dict[str, dict[str, str]]  # account -> what existed before OrgGuard (purpose -> id)
    aws: EmbeddedAws

    def settle(self) -> None:
        """Let time pass: instances launched so far are past EC2's consistency window, as resources a scheduled
        sweep finds have long been (a write right after a launch may be refused "not found" on AWS too)."""
        self.aws.parts.settle()

    def member(self, account: str, region: str) -> boto3.Session:
        return account_admin(self.management, account, region, "e2e-inspector").session(region)

    def function(self, handler: str) -> FunctionSpec:
        return next(spec for spec in self.runner.functions.values() if spec.handler == handler)


def _roll_out_the_spoke(management: boto3.Session, settings: Settings) -> None:
    """The real spoke, by the real rollout: its OrgGuardRemediation is the role the reconcile assumes."""
    report = Rollout(management, settings, "SELF", stream=io.StringIO(),
                     make_waiter=lambda api: Waiter(api, io.StringIO(), poll_seconds=0.1)).run()
    if not report.ok:
        raise RuntimeError(f"the spoke rollout failed: {report.to_dict()}")


def _legacy_resources(session: boto3.Session, region: str, account: str, exempt_tag: str) -> dict[str, str]:
    """Resources from before OrgGuard: nothing announced them, only a sweep can find them. S3 gave every bucket
    SSE-S3; the floor bucket's owners put it explicitly."""
    s3 = session.client("s3")
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    names = {"plain": f"legacy-{region}-{account}", "floor": f"aes-{region}-{account}",
             "exempt": f"keep-{region}-{account}"}
    for name in names.values():
        s3.create_bucket(Bucket=name, **location)
    s3.put_bucket_encryption(Bucket=names["floor"], ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_tagging(Bucket=names["exempt"], Tagging={"TagSet": [{"Key": exempt_tag, "Value": "all"}]})
    instance = session.client("ec2").run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1,
                                                   InstanceType="t3.micro")["Instances"][0]["InstanceId"]
    return {**names, "instance": str(instance)}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    cold_start()
    with quiet_moto(), embedded_aws(HUB_REGION) as aws:
        management = aws.session()
        org = create_organization(management)
        settings = sandbox_settings(org)
        legacy: dict[str, dict[str, str]] = {}
        for account in org.members:
            set_up_account(management, account, settings)
            for region in settings.organization.regions:
                session = account_admin(management, account, region).session(region)
                for purpose, name in _legacy_resources(session, region, account, settings.exemptions.tag).items():
                    legacy.setdefault(account, {})[f"{region}/{purpose}"] = name
        aws.parts.settle()  # the legacy resources are from before OrgGuard
        _roll_out_the_spoke(management, settings)
        template, asset_dir = synthesize_hub(settings, tmp_path_factory.mktemp("hub"))
        hub_session = account_admin(management, org.hub_account, HUB_REGION).session()
        hub = deploy_hub(hub_session, settings, template, asset_dir, org.organization_id)
        runner = LambdaRunner(aws.service_session(LAMBDA_SERVICE, org.hub_account), hub.resolver)
        switch_off_moto_mappings(hub)
        mailbox = Mailbox(hub_session, HUB_REGION, hub.output("TopicArn"))
        yield World(management, org, settings, hub, runner, mailbox, legacy, aws)
    cold_start()


def start(world: World) -> dict[str, Any]:
    """The schedule fires: the start function runs as deployed (handler, environment, execution role)."""
    return world.runner.invoke(world.function(START_HANDLER), scheduled_event(world.hub, "2030-01-15T03:00:00Z"))


def encryption(session: boto3.Session, bucket: str) -> dict[str, Any] | None:
    try:
        rule = session.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"][0]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError":
            return None
        raise
    return {**rule["ApplyServerSideEncryptionByDefault"], "BucketKeyEnabled": rule.get("BucketKeyEnabled", False)}


def test_the_template_wires_a_schedule_to_the_start_and_the_queue_to_the_worker(world: World) -> None:
    resolver = world.hub.resolver
    start_spec, worker_spec = world.function(START_HANDLER), world.function(WORKER_HANDLER)
    schedules = [resolver.properties(r) for r, _ in resolver.of_type("AWS::Events::Rule")
                 if "ScheduleExpression" in resolver.properties(r)]
    [reconcile] = [s for s in schedules
                   if start_spec.logical_id in [referenced_logical_id(t["Arn"]) for t in s["Targets"]]]
    assert reconcile["ScheduleExpression"] == world.settings.hub.reconcile_schedule
    assert [referenced_logical_id(t["Arn"]) for t in reconcile["Targets"]] == [start_spec.logical_id]
    mapping = next(resolver.properties(r) for r, _ in resolver.of_type("AWS::Lambda::EventSourceMapping"))
    assert referenced_logical_id(mapping["FunctionName"]) == worker_spec.logical_id
    assert int(mapping["BatchSize"]) == 1
    assert worker_spec.environment["ORGGUARD_AUDIT_TABLE"] == world.settings.hub.table_name


def test_a_scheduled_reconcile_brings_what_no_event_announced_to_the_standard(world: World) -> None:
    started = start(world)
    results = deliver_queue(world.hub, world.runner)

    regions = world.settings.organization.regions
    assert started["queued"] == len(world.org.members) * len(regions)
    assert sorted((r["account"], r["region"]) for r in results) == sorted(
        (a, r) for a in world.org.members for r in regions)
    assert all(r["status"] == "done" for r in results)
    admin_group = world.settings.policies.ec2_compliance.admin_security_group.name
    for account in world.org.members:
        for region in regions:
            session = world.member(account, region)
            legacy = {k.split("/", 1)[1]: v for k, v in world.legacy[account].items() if k.startswith(region)}
            assert encryption(session, legacy["plain"]) == KMS_STANDARD
            assert encryption(session, legacy["floor"]) == KMS_STANDARD
            assert encryption(session, legacy["exempt"]) == SSE_S3  # as S3 made it, untouched
            instance = session.client("ec2").describe_instances(InstanceIds=[legacy["instance"]])[
                "Reservations"][0]["Instances"][0]
            assert {"Owner", "CostCenter"} <= {t["Key"] for t in instance.get("Tags", [])}
            assert admin_group in {g["GroupName"] for g in instance["SecurityGroups"]}

    table = world.hub.client("dynamodb")
    items = [i for page in table.get_paginator("scan").paginate(TableName=world.settings.hub.table_name)
             for i in page["Items"] if i["pk"]["S"].startswith(f"sweep#{started['run']}#")]
    outcomes = sorted(i["outcome"]["S"] for i in items)
    members = len(world.org.members) * len(regions)
    assert outcomes.count("remediated") == 3 * members  # two buckets and one instance per account-region
    assert outcomes.count("exempt") == members
    assert all(i["source"]["S"] == "reconcile" for i in items)

    mail = world.mailbox.collect()
    assert len(mail) == members
    for account in world.org.members:
        name = world.org.names[account]
        assert sum(1 for m in mail if m.subject == f"[OrgGuard] {name}: sweep 3 fixed, 0 reported") == 2
        assert any(world.legacy[account][f"{regions[0]}/plain"] in m.body for m in mail)

    again = start(world)
    repeat = deliver_queue(world.hub, world.runner)
    assert again["run"] != started["run"]
    assert all(r["counts"]["remediated"] == 0 and not r["notified"] for r in repeat)
    assert world.mailbox.collect() == []


class OutOfTime:
    """The worker's Lambda context near the end of its time: each invocation may check one page only."""

    aws_request_id = "e2e-continuation"

    def get_remaining_time_in_millis(self) -> int:
        return 1000


def _meets_standard(instance: dict[str, Any], admin_group: str) -> bool:
    tags = {t["Key"] for t in instance.get("Tags", [])}
    return {"Owner", "CostCenter"} <= tags and admin_group in {g["GroupName"] for g in instance["SecurityGroups"]}


def test_a_worker_out_of_time_continues_in_new_messages_until_every_resource_is_swept_once(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    account, region = world.org.members[0], HUB_REGION
    session = world.member(account, region)
    s3, ec2 = session.client("s3"), session.client("ec2")
    for i in range(5):
        s3.create_bucket(Bucket=f"part-{i}-{account}")
    ec2.run_instances(ImageId=IMAGE, MinCount=3, MaxCount=3, InstanceType="t3.micro")
    world.settle()
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]
               if (s3.get_bucket_location(Bucket=b["Name"])["LocationConstraint"] or "us-east-1") == region]
    instances = [i for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                                             "Values": ["pending", "running", "stopping", "stopped"]}])[
        "Reservations"] for i in r["Instances"]]
    admin_group = world.settings.policies.ec2_compliance.admin_security_group.name
    exempt = {b for b in buckets if world.settings.exemptions.tag in {
        t["Key"] for t in (s3.get_bucket_tagging(Bucket=b)["TagSet"] if b.startswith("keep-") else [])}}
    to_fix = ([b for b in buckets if b not in exempt and encryption(session, b) != KMS_STANDARD]
              + [i["InstanceId"] for i in instances if not _meets_standard(i, admin_group)])
    assert len(to_fix) >= 8

    spec = world.function(WORKER_HANDLER)
    queue_url = spec.environment[ENV_RECONCILE_QUEUE_URL]  # the worker queues its continuations here
    sqs = world.hub.client("sqs")
    [first] = reconcile.plan_messages([reconcile.Account(account, world.org.names[account])], (region,),
                                      "reconcile-20300116T030000Z-parts", reconcile.active_policies(world.settings))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(first))
    monkeypatch.setattr(reconcile_lambda, "PAGE_SIZE", 2)
    reconcile_lambda.RUNTIME.reset()  # a cold worker, built with the small page
    parts: list[dict[str, Any]] = []
    try:
        while True:
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages", [])
            if not batch:
                break
            event = {"Records": [{"messageId": batch[0]["MessageId"], "body": batch[0]["Body"],
                                  "eventSource": "aws:sqs", "awsRegion": HUB_REGION}]}
            with environment(world.runner.runtime_environment(spec)):  # the worker's own environment and role
                parts.extend(load_handler(spec.handler)(event, OutOfTime())["results"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=batch[0]["ReceiptHandle"])
            assert len(parts) < 100, "the continuation does not end"
    finally:
        reconcile_lambda.RUNTIME.reset()

    assert len(parts) > 3 and [p["part"] for p in parts] == list(range(1, len(parts) + 1))
    assert all(p["status"] == "done" and sum(p["counts"].values()) <= 2 for p in parts)
    assert [p["resumed_at"] for p in parts[1:]] == [p["continued_at"] for p in parts[:-1]]
    assert parts[-1]["continued_at"] is None
    # Every resource swept exactly once across the parts by each guardrail that sweeps its kind (a bucket by both
    # S3 guardrails): each counted once per guardrail, each fix made once.
    bucket_guardrails = sum(1 for g in guardrails() if g.sweepable and g.resource_type == "AWS::S3::Bucket")
    assert sum(sum(p["counts"].values()) for p in parts) == len(buckets) * bucket_guardrails + len(instances)
    assert sum(p["counts"]["remediated"] for p in parts) == len(to_fix)
    assert sum(p["counts"]["exempt"] for p in parts) == len(exempt)
    assert all(encryption(session, b) == KMS_STANDARD for b in buckets if b not in exempt)
    described = [i for r in ec2.describe_instances(InstanceIds=[i["InstanceId"] for i in instances])["Reservations"]
                 for i in r["Instances"]]
    assert all(_meets_standard(i, admin_group) for i in described)
    world.mailbox.collect()
