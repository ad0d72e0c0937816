"""End to end through the sandbox path: member default bus -> spoke rule -> hub bus -> hub rules -> the
in-process Lambda runner. One module, one sandbox (bringing one up costs tens of seconds, and the embedded
AWS is one per process):

- load and duplicates: a burst of mixed events, a tenth delivered twice: exactly one remediation per distinct
  governed event, none lost (each has its audit outcome), nothing forwarded that the spoke must drop; storm
  control: at most ``storm_limit`` e-mails per account x guardrail window, one digest per window with the
  rest once the digest schedule runs past the window, every event in exactly one e-mail or digest; the rate
  is printed. The default suite runs ``DEFAULT_BURST`` events; ``pytest -m slow``
  runs the full 5,000 (embedded moto serves each API call over HTTP, about a dozen per event);
- loops: OrgGuard's own writes, recorded by the CloudTrail emulator, are neither forwarded nor acted on;
- nothing lost: dead-lettered events are replayed by ``orgguard redrive``, idempotently.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

import deploy
from commands import redrive as redrive_command
from handlers.audit import AuditLog
from handlers.contract import HUB_HANDLER_ROLE_NAME
from handlers.registry import CLOUDTRAIL_DETAIL_TYPE, REMEDIATION_ROLE_NAME
from sandbox.world.baseline import developer
from sandbox.world.cloudtrail import CloudTrail, envelope_source
from sandbox.world.identities import assume_role
from sandbox.world.lambda_runner import LAMBDA_SERVICE

from . import samples
from .burst_checks import bucket_fixed, check_burst, instance_fixed
from .load import Builder, Burst, deliver
from .sandbox_world import IMAGE, Sandbox, running_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

DEFAULT_BURST = 300
FULL_BURST = 5000


@pytest.fixture(scope="module")
def sandbox(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch_module.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # no built-in images: faster accounts
    with running_sandbox() as running:
        yield running


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def report(capsys: pytest.CaptureFixture[str], label: str, burst: Burst) -> None:
    with capsys.disabled():
        print(f"\n[load] {label}: {len(burst.events)} events ({len(burst.forwarded)} governed) + "
              f"{len(burst.redelivered)} redeliveries through the sandbox path in {burst.seconds:.1f}s: "
              f"{burst.rate():.1f} events/s (put {burst.timings['put']:.1f}s, flow {burst.timings['flow']:.1f}s; "
              f"resources prepared in {burst.timings['prepare']:.1f}s)", file=sys.stderr)


def test_a_burst_with_redeliveries_is_handled_exactly_once(sandbox: Sandbox,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(7)
    burst = Builder(sandbox, rng).burst(DEFAULT_BURST)
    deliver(sandbox, burst, rng)
    report(capsys, "default burst", burst)
    check_burst(sandbox, burst)


@pytest.mark.slow
def test_five_thousand_events_with_redeliveries(sandbox: Sandbox, capsys: pytest.CaptureFixture[str],
                                                request: pytest.FixtureRequest) -> None:
    if "slow" not in (request.config.getoption("-m") or ""):
        pytest.skip("the full 5,000-event burst runs with `pytest -m slow` (several minutes on moto)")
    rng = random.Random(5000)
    burst = Builder(sandbox, rng).burst(FULL_BURST)
    deliver(sandbox, burst, rng)
    report(capsys, "full burst", burst)
    check_burst(sandbox, burst)


# --- loops --------------------------------------------------------------------------------------------------


def replay_as_orgguard(sandbox: Sandbox, trail: CloudTrail, account: str, region: str,
                       actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make OrgGuard's recorded calls again through OrgGuardRemediation, assumed from the hub's handler role
    as the Lambdas do, with CloudTrail watching: the records are exactly what OrgGuard's writes produce."""
    lambda_service = sandbox.aws.service_session(LAMBDA_SERVICE, sandbox.org.hub_account)
    handler = assume_role(lambda_service, sandbox.org.hub_account, HUB_HANDLER_ROLE_NAME, "orgguard-hub", region)
    remediation = assume_role(handler.session(region), account, REMEDIATION_ROLE_NAME, "orgguard", region)
    session = trail.watch(remediation, region)
    first = len(trail.records)
    for action in actions:
        service, operation = action["action"].split(":", 1)
        getattr(session.client(service), xform_name(operation))(**action["params"])
    return [r for r in trail.records[first:] if not r["readOnly"]]


def test_orgguards_own_writes_are_neither_forwarded_nor_acted_on(sandbox: Sandbox) -> None:
    account, region = sandbox.org.members[0], sandbox.settings.organization.regions[-1]
    trail = CloudTrail()
    person = trail.watch(developer(sandbox.management, account, "dana", region), region)
    bucket = f"loop-{account}"
    person.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    person.client("ec2").run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    sandbox.flow.pump()
    actions = []
    for name in ("CreateBucket", "RunInstances"):
        item = sandbox.audit_item(trail.last(name)["eventID"])
        assert item is not None and item["outcome"] == "remediated", (name, item)
        actions += json.loads(item["actions"])
    assert {a["action"] for a in actions} == {"s3:PutBucketEncryption", "ec2:CreateTags", "ec2:ModifyInstanceAttribute"}
    sandbox.mailbox.collect()
    mails_before = len(sandbox.mailbox.emails)
    fixed = sandbox.member(account, region).client("s3").get_bucket_encryption(Bucket=bucket)

    own = replay_as_orgguard(sandbox, trail, account, region, actions)
    assert {r["eventName"] for r in own} == {"PutBucketEncryption", "CreateTags", "ModifyInstanceAttribute"}
    assert all(f":assumed-role/{REMEDIATION_ROLE_NAME}/" in r["userIdentity"]["arn"] for r in own)
    delivered_before = len(sandbox.flow.deliveries)
    sandbox.flow.pump()
    assert sandbox.delivered_event_ids(delivered_before) == [], "the spoke forwarded OrgGuard's own writes"
    assert all(sandbox.audit_item(r["eventID"]) is None for r in own)

    # A spoke without the filter (an old version, a hand-made rule): the hub's rules and the engine's gate.
    sandbox.hub.client("events").put_events(Entries=[
        {"Source": envelope_source(r), "DetailType": CLOUDTRAIL_DETAIL_TYPE, "Detail": json.dumps(r),
         "EventBusName": sandbox.settings.hub.bus_name} for r in own])
    sandbox.flow.pump()
    reached = {d.event["detail"]["eventName"]: d.result for d in sandbox.flow.deliveries[delivered_before:]}
    assert set(reached) == {"PutBucketEncryption"}, "only a call some policy reacts to reaches a Lambda"
    assert reached["PutBucketEncryption"]["outcome"] == "skipped:own-remediation"
    assert not reached["PutBucketEncryption"]["actions"]
    assert sandbox.member(account, region).client("s3").get_bucket_encryption(Bucket=bucket)[
        "ServerSideEncryptionConfiguration"] == fixed["ServerSideEncryptionConfiguration"]
    assert sandbox.mailbox.collect() == [] and len(sandbox.mailbox.emails) == mails_before, "no e-mail about OrgGuard"


# --- nothing lost: redrive ----------------------------------------------------------------------------------


def redrive(sandbox: Sandbox, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, dict[str, Any]]:
    """``orgguard redrive --json`` as an operator runs it, with the management account's credentials."""
    capsys.readouterr()
    args = deploy.build_parser("redrive").parse_args(["redrive", "--json", *flags])
    code = redrive_command.run(args, sandbox.settings)
    captured = capsys.readouterr()
    assert captured.out, captured.err
    return code, json.loads(captured.out)


def by_queue(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for message in document["messages"]:
        grouped.setdefault(message["queue"], []).append(message)
    return grouped


def strand_dead_letters(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, account: str,
                        region: str) -> tuple[str, dict[str, Any], str]:
    """Three dead letters, as the hub leaves them: a bucket event in a rule's DLQ, an instance event in a Lambda's
    on-failure destination, and a reconcile work item. Returns the bucket, its event and the instance."""
    member = sandbox.member(account, region)
    sqs = sandbox.hub.client("sqs")

    # The hub bus could not hand an event to the s3-encryption Lambda: EventBridge put it in the rule's DLQ.
    bucket = f"redrive-{account}"
    member.client("s3").create_bucket(Bucket=bucket)
    bucket_event = samples.bucket_call(samples.CREATE_BUCKET, account, region, bucket)
    sqs.send_message(QueueUrl=sandbox.queue_url("orgguard-s3-encryption-dlq"), MessageBody=json.dumps(bucket_event))

    # DynamoDB is down: the ec2-compliance Lambda fails on every attempt and Lambda sends the event to its
    # on-failure destination (the sandbox's flow plays Lambda's asynchronous retries).
    instance = member.client("ec2").run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1,
                                                  InstanceType="t3.micro")["Instances"][0]["InstanceId"]
    instance_event = samples.run_instances(account, region, [instance])["detail"]
    sandbox.aws.parts.settle()  # the sample's eventTime is years ago: the instance is past EC2's consistency window
    outage = ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected outage"},
                          "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutItem")
    with monkeypatch.context() as patch:
        patch.setattr(AuditLog, "claim", lambda *args, **kwargs: (_ for _ in ()).throw(outage))
        first = len(sandbox.flow.deliveries)
        sandbox.put([(account, region, instance_event)])
        sandbox.flow.pump()
    (failed,) = sandbox.flow.deliveries[first:]
    assert failed.dead_lettered and failed.attempts == 3
    assert sandbox.messages_in("orgguard-ec2-compliance-failures") == 1

    # Something no guardrail handles: a reconcile work item the worker gave up on.
    sqs.send_message(QueueUrl=sandbox.queue_url("orgguard-reconcile-worker-dlq"),
                     MessageBody=json.dumps({"account": account, "region": region}))
    return bucket, bucket_event, instance


def test_dead_letters_are_redriven_once_after_the_fix(sandbox: Sandbox, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    account, region = sandbox.org.members[1], sandbox.settings.organization.regions[0]
    sqs = sandbox.hub.client("sqs")
    bucket, bucket_event, instance = strand_dead_letters(sandbox, monkeypatch, account, region)

    code, dry = redrive(sandbox, capsys, "--dry-run")
    assert code == 0 and dry["dry_run"] and dry["deleted"] == 0
    assert {m["policy"]: m["outcome"] for m in dry["messages"] if m["policy"]} == {
        "s3-encryption": "reported", "ec2-compliance": "reported"}
    assert sandbox.audit_item(bucket_event["detail"]["eventID"]) is None, "a dry run records nothing"

    code, done = redrive(sandbox, capsys)
    assert code == 1, "the reconcile item stays, and the exit status says so"
    queues = by_queue(done)
    assert [(m["outcome"], m["deleted"]) for m in queues["orgguard-s3-encryption-dlq"]] == [("remediated", True)]
    assert [(m["kind"], m["outcome"], m["deleted"]) for m in queues["orgguard-ec2-compliance-failures"]] == [
        ("lambda-failure", "remediated", True)]
    assert [m["deleted"] for m in queues["orgguard-reconcile-worker-dlq"]] == [False]
    clients: dict[Any, Any] = {}
    admin_group = sandbox.settings.policies.ec2_compliance.admin_security_group.name
    assert bucket_fixed(sandbox, clients, account, region, bucket)
    assert instance_fixed(sandbox, clients, account, region, instance, admin_group)
    mails = sandbox.mailbox.collect()
    assert sorted(m.subject.split(": ", 1)[1].split()[1] for m in mails) == sorted([bucket, instance])  # after the noun

    # The same dead letter once more (a second copy, or a redrive run twice): a duplicate, deleted, no action.
    sqs.send_message(QueueUrl=sandbox.queue_url("orgguard-s3-encryption-dlq"), MessageBody=json.dumps(bucket_event))
    code, again = redrive(sandbox, capsys, "--queue", "orgguard-s3-encryption-dlq")
    assert code == 0
    assert [(m["outcome"], m["deleted"]) for m in again["messages"]] == [("skipped:duplicate", True)]
    item = sandbox.audit_item(bucket_event["detail"]["eventID"])
    assert item is not None and item["outcome"] == "remediated" and len(json.loads(item["actions"])) == 1
    assert sandbox.mailbox.collect() == []
    assert sandbox.messages_in("orgguard-s3-encryption-dlq") == 0
    assert sandbox.messages_in("orgguard-ec2-compliance-failures") == 0
    assert sandbox.messages_in("orgguard-reconcile-worker-dlq") == 1
