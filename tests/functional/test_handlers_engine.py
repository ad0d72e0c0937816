"""The pipeline around the policies, on moto: bad input, accounts without the spoke, and the Lambda adapter
working from its environment alone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from handlers import engine
from handlers.audit import AuditLog, ClaimStatus, InFlight, event_key
from handlers.contract import ENV_AUDIT_TABLE, ENV_POLICY, ENV_SETTINGS, ENV_TOPIC_ARN
from handlers.registry import CLOUDTRAIL_DETAIL_TYPE, POLICIES, policies_for, record_key_suffix
from handlers.settings import SettingsError
from tests.support.events import bucket_event, load_event, retarget, run_instances_event, vpc_event
from tests.support.handlers import MEMBER_NAME, Hub, engine_client, fail_calls, run, runtime, settings_for
from tests.support.members import Member, bucket_encryption, launch, make_bucket, make_network
from tests.support.moto_env import HUB_REGION, TABLE_NAME, client_error
from tests.support.samples import needs_samples

REPO = Path(__file__).resolve().parents[2]
BUCKET_SAMPLE = "records/panther__PutBucketEncryption__1.json"


def malformed_payloads(member: Member) -> list[tuple[str, Any, str]]:
    good = retarget(load_event(BUCKET_SAMPLE), member)
    truncated = json.dumps({"detail-type": CLOUDTRAIL_DETAIL_TYPE, "detail": good})[:150]

    def without(*keys: str) -> dict[str, Any]:
        return {k: v for k, v in good.items() if k not in keys}

    return [
        ("list", [good], "rejected:not-an-object"),
        ("null", None, "rejected:not-an-object"),
        ("truncated-json-string", truncated, "rejected:not-an-object"),
        ("empty-object", {}, "rejected:not-cloudtrail"),
        ("no-event-name", without("eventName"), "rejected:no-event-name"),
        ("event-name-not-a-string", {**good, "eventName": ["PutBucketEncryption"]}, "rejected:no-event-name"),
        ("no-event-source", without("eventSource"), "rejected:no-event-source"),
        ("bad-account", {**good, "recipientAccountId": "12345", "userIdentity": {"accountId": "abc"}},
         "rejected:no-account"),
        ("no-region", without("awsRegion"), "rejected:no-region"),
        ("wrong-detail-type", {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
         "rejected:wrong-detail-type"),
        ("envelope-without-detail", {"detail-type": CLOUDTRAIL_DETAIL_TYPE, "account": member.account},
         "rejected:no-detail"),
    ]


def test_malformed_events_are_rejected_audited_and_never_raise(hub: Hub, member: Member) -> None:
    rt = runtime(hub, settings_for(member))
    for name, payload, outcome in malformed_payloads(member):
        first = run(payload, "s3-encryption", rt)
        again = run(payload, "s3-encryption", rt)  # a poison event delivered twice: same key, no new work
        assert (first.outcome, first.event_id) == (again.outcome, again.event_id), name
        assert first.outcome == outcome, name
        assert first.event_id.startswith("rejected#sha256-"), name
        item = hub.item(first.event_id)
        assert item is not None, name
        assert (item["outcome"], item["policy"]) == (outcome, "s3-encryption"), name
        assert item["summary"], name
    assert rt.members.assume_calls == 0
    assert hub.mail() == []
    stored = hub.keys()
    assert stored and all(k.startswith("rejected#") for k in stored)


@pytest.mark.parametrize("request_parameters", ["null", None, "absent"])
def test_bucket_event_without_request_parameters_is_rejected(hub: Hub, member: Member,
                                                             request_parameters: str | None) -> None:
    rt = runtime(hub, settings_for(member))
    event = retarget(load_event(BUCKET_SAMPLE), member)
    if request_parameters == "absent":
        del event["requestParameters"]
    else:
        event["requestParameters"] = request_parameters

    processed = run(event, "s3-encryption", rt)

    assert processed.outcome == "rejected:no-resource-id"
    assert rt.members.assume_calls == 0
    assert hub.event_item(event["eventID"])["outcome"] == "rejected:no-resource-id"
    assert hub.mail() == []


def deny_assume_role(code: str = "AccessDenied") -> boto3.Session:
    base = boto3.Session(region_name=HUB_REGION)
    fail_calls(base.events, "sts", "AssumeRole", code, times=1000, status=403)
    return base


def test_account_without_the_spoke_is_not_onboarded_and_mailed_once_a_day(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "not-onboarded-1")
    net = make_network(member)
    rt = runtime(hub, settings_for(member), base=deny_assume_role())
    first = bucket_event(BUCKET_SAMPLE, member, bucket)
    second = vpc_event("records/spotlight__CreateVpc__1.json", member, net.vpc_id, "10.20.0.0/16")

    outcomes = [run(first, "s3-encryption", rt).outcome, run(second, "vpc-created", rt).outcome]

    assert outcomes == ["not-onboarded", "not-onboarded"]
    assert bucket_encryption(member, bucket) is None
    for event, resource in ((first, bucket), (second, net.vpc_id)):
        item = hub.event_item(event["eventID"])
        assert (item["outcome"], item["resource"], item["severity"]) == ("not-onboarded", resource, "high")
        assert "AccessDenied" in item["summary"]
    [mail] = hub.mail()
    assert mail.attributes == {"account": member.account, "policy": "s3-encryption", "outcome": "not-onboarded",
                               "severity": "high"}
    assert "not onboarded" in mail.subject and MEMBER_NAME in mail.subject and len(mail.subject) <= 100
    assert f"orgguard onboard {member.account}" in mail.body
    assert "AccessDenied" in mail.body and bucket in mail.body
    stored = hub.keys()
    assert any(k.startswith(f"notice#not-onboarded#{member.account}#") for k in stored)


def test_throttled_assume_role_is_retried_not_recorded_as_not_onboarded(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "not-onboarded-2")
    base = boto3.Session(region_name=HUB_REGION)
    fail_calls(base.events, "sts", "AssumeRole", "Throttling", times=1)
    rt = runtime(hub, settings_for(member), base=base)
    event = bucket_event(BUCKET_SAMPLE, member, bucket)

    with pytest.raises(Exception, match="Throttling"):
        run(event, "s3-encryption", rt)
    assert hub.item(event_key(event["eventID"])) is None

    assert run(event, "s3-encryption", rt).outcome == "remediated"
    assert bucket_encryption(member, bucket) is not None


def test_member_sessions_assume_once_per_account_and_region(hub: Hub, member: Member) -> None:
    rt = runtime(hub, settings_for(member))
    buckets = [make_bucket(member, f"cached-session-{i}") for i in range(3)]

    outcomes = [run(bucket_event(BUCKET_SAMPLE, member, b), "s3-encryption", rt).outcome for b in buckets]

    assert outcomes == ["remediated"] * 3
    assert rt.members.assume_calls == 1
    identity = rt.members.client(member.account, member.region, "sts").get_caller_identity()
    assert identity["Arn"].startswith(f"arn:aws:sts::{member.account}:assumed-role/OrgGuardRemediation/")


def test_lambda_handler_runs_from_its_environment_alone(hub: Hub, member: Member,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the hub stack sets is all the Lambda gets: settings as JSON, the table and topic by env var."""
    table = "orgguard-audit-from-env"
    hub.dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    settings = settings_for(member, {"s3-encryption": {"algorithm": "AES256"}})
    monkeypatch.setenv(ENV_SETTINGS, settings.to_json())
    monkeypatch.setenv(ENV_AUDIT_TABLE, table)
    monkeypatch.setenv(ENV_TOPIC_ARN, hub.topic_arn)
    engine.RUNTIME.reset()
    bucket = make_bucket(member, "from-env-1")
    event = bucket_event("wrapped/custodian__CreateBucket__2.json", member, bucket)
    monkeypatch.setenv(ENV_POLICY, "s3-encryption")
    from handlers.adapters import guardrail

    result = guardrail.handler(event, None)

    assert result["outcome"] == "remediated" and result["policy"] == "s3-encryption"
    assert result["account"] == member.account and result["notified"] is True
    assert bucket_encryption(member, bucket) == [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False,
         "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]
    key = {"pk": {"S": event_key(event["detail"]["eventID"])}}
    assert hub.dynamodb.get_item(TableName=table, Key=key)["Item"]["outcome"]["S"] == "remediated"
    assert "Item" not in hub.dynamodb.get_item(TableName=TABLE_NAME, Key=key)
    [mail] = hub.mail()
    assert MEMBER_NAME in mail.body  # the account name came from AWS Organizations
    assert mail.attributes["policy"] == "s3-encryption"


def test_lambda_handler_refuses_invalid_settings(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SETTINGS, json.dumps({"organization": {"hub_region": "mars-1"}}))
    engine.RUNTIME.reset()
    monkeypatch.setenv(ENV_POLICY, "vpc-created")
    from handlers.adapters import guardrail

    with pytest.raises(SettingsError) as raised:
        guardrail.handler({}, None)
    assert any(p.startswith("organization.hub_region") for p in raised.value.problems)


IMPORT_PROBE = """
import importlib, sys
import boto3, botocore.session

def refuse(*args, **kwargs):
    raise AssertionError("an AWS client was created at import time")

botocore.session.Session.create_client = refuse
boto3.Session.client = refuse
boto3.Session.resource = refuse
for module in sys.argv[1:]:
    importlib.import_module(module)
try:
    boto3.client("sts")
except AssertionError:
    print("imported without creating a client")
"""


def test_handler_modules_create_no_client_at_import(tmp_path: Path) -> None:
    modules = [p.module for p in POLICIES] + ["handlers.adapters.canary", "handlers.engine", "handlers.pipeline.decide",
                                              "handlers.adapters.guardrail", "handlers.adapters.reconcile"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ORGGUARD_"))}
    env.update({ENV_SETTINGS: "{}", ENV_AUDIT_TABLE: "t", ENV_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:t",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "PYTHONPATH": str(REPO)})
    done = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *modules], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported without creating a client"


# IAM actions whose name differs from the API operation (s3 encryption is "configuration" in IAM).
IAM_ACTION = {"s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
              "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
              "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
              "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock"}


def record_operations(client: Any) -> list[str]:
    seen: list[str] = []

    def hook(event_name: str, **kwargs: Any) -> None:
        _, service, operation = event_name.split(".")
        seen.append(IAM_ACTION.get(f"{service}:{operation}", f"{service}:{operation}"))

    client.meta.events.register("before-call", hook)
    return seen


def test_every_call_in_a_member_is_allowed_by_the_remediation_role(hub: Hub, member: Member) -> None:
    """The remediation role gets exactly the registry's actions: whatever a policy calls must be among them."""
    net = make_network(member)
    [single] = launch(member, net)
    [multi] = launch(member, net, interfaces=2)
    buckets = [make_bucket(member, "covered-1"), make_bucket(member, "covered-2", tags={"orgguard:exempt": "all"})]

    events = {
        "s3-encryption": [bucket_event(BUCKET_SAMPLE, member, b) for b in buckets],
        "ec2-compliance": [run_instances_event("records/custodian__RunInstances__3.json", member, [single, multi],
                                               net)],
        "vpc-created": [vpc_event("records/panther__CreateVpc__1.json", member, net.vpc_id, "10.20.0.0/16")],
        "s3-public-access": [bucket_event("records/streamalert__PutBucketPolicy__1.json", member, b) for b in buckets],
    }
    for policy in POLICIES:
        rt = runtime(hub, settings_for(member))
        calls = [record_operations(engine_client(rt, member, service)) for service in ("s3", "ec2")]
        outcomes = [run(e, policy.id, rt).outcome for e in events[policy.id]]
        assert all(o in ("remediated", "reported", "exempt") for o in outcomes), (policy.id, outcomes)
        made = {op for ops in calls for op in ops}
        assert made, policy.id
        assert made <= set(policy.actions), f"{policy.id} calls {sorted(made - set(policy.actions))} unlisted"


def test_an_event_claimed_by_a_live_invocation_is_left_to_it(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "in-flight-1")
    event = bucket_event(BUCKET_SAMPLE, member, bucket)
    assert hub.audit_log().claim(event_key(event["eventID"]), {"policy": "s3-encryption"}).status is ClaimStatus.NEW
    rt = runtime(hub, settings_for(member))

    with pytest.raises(InFlight):
        run(event, "s3-encryption", rt)
    assert bucket_encryption(member, bucket) is None

    # The first invocation died: once its lease is over, a retry takes the event and finishes it.
    rt.audit = AuditLog(hub.dynamodb, TABLE_NAME, clock=lambda: time.time() + 3600)
    assert run(event, "s3-encryption", rt).outcome == "remediated"
    assert hub.event_item(event["eventID"])["state"] == "done"


SAMPLES = REPO.parent / "shared" / "cloudtrail-samples"
def fresh_id(payload: dict[str, Any]) -> dict[str, Any]:
    """The samples reuse ids like "1" (test data): real event ids are unique, so give each delivery its own."""
    copied = json.loads(json.dumps(payload))
    detail = copied.get("detail", copied)
    if isinstance(detail, dict) and "eventID" in detail:
        detail["eventID"] = str(uuid.uuid4())
    return dict(copied)


SKIPS = re.compile(r"^(skipped:(error-code|not-governed|own-remediation)|rejected:[a-z-]+)$")


@needs_samples(SAMPLES / "records")
def test_every_real_sample_ends_in_a_recorded_outcome(hub: Hub, member: Member) -> None:
    """Every sample goes to every policy's handler. The ones a policy handles are pointed at the member
    account, where the resources they name do not exist; all the others must be turned away unread."""
    rt = runtime(hub, settings_for(member))
    seen: dict[str, set[str]] = {p.id: set() for p in POLICIES}
    for path in sorted(SAMPLES.glob("*/*.json")):
        original = json.loads(path.read_text())
        detail = original.get("detail", original)
        source, name = str(detail.get("eventSource")), str(detail.get("eventName"))
        has_account = detail.get("recipientAccountId") or (detail.get("userIdentity") or {}).get("accountId")
        routed = policies_for(source, name) if has_account else ()  # no account: rejected unread, as any other
        for policy in POLICIES:
            payload = retarget(original, member) if policy in routed else fresh_id(original)
            processed = run(payload, policy.id, rt)
            if policy in routed:
                seen[policy.id].add(processed.outcome)
                # a PutBucketPolicy sample with null requestParameters names no bucket
                assert processed.outcome in ("gone", "skipped:error-code", "rejected:no-resource-id"), \
                    (path.name, processed.outcome)
            else:
                assert SKIPS.match(processed.outcome), (path.name, policy.id, processed.outcome)
            key = processed.event_id if processed.event_id.startswith("rejected#") else \
                event_key(processed.event_id, record_key_suffix(policy, source, name))
            item = hub.item(key)
            assert item is not None and item["outcome"] == processed.outcome, (path.name, policy.id)
    assert all("gone" in outcomes for outcomes in seen.values()), seen
    assert rt.members.assume_calls == 1


# --- the final record, the e-mail and the lease ----------------------------------------------------------

EC2_SAMPLE = "records/spotlight__RunInstances__1.json"


def fail_nth_call(events: Any, service: str, operation: str, code: str, nth: set[int],
                  key_prefix: str = "") -> dict[str, int]:
    """Fail the calls of ``operation`` whose number (from 1) is in ``nth``, as if botocore had given up;
    with ``key_prefix``, only DynamoDB calls on items whose key starts with it count (not the storm windows')."""
    seen = {"n": 0}

    def hook(params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params.get("body") or b"{}")  # the serialized request
        if key_prefix and not body.get("Key", {}).get("pk", {}).get("S", "").startswith(key_prefix):
            return
        seen["n"] += 1
        if seen["n"] in nth:
            raise client_error(code, operation, 400)

    events.register(f"before-call.{service}.{operation}", hook)
    return seen


def ec2_event(hub: Hub, member: Member) -> tuple[dict[str, Any], list[str]]:
    net = make_network(member)
    ids = launch(member, net)
    return run_instances_event(EC2_SAMPLE, member, ids, net), ids


def test_a_failed_final_record_is_carried_so_the_retry_records_the_fix_and_mails_once(hub: Hub,
                                                                                      member: Member) -> None:
    event, ids = ec2_event(hub, member)
    rt = runtime(hub, settings_for(member))
    fail_nth_call(hub.dynamodb.meta.events, "dynamodb", "UpdateItem", "ProvisionedThroughputExceededException", {1},
                  key_prefix="event#")

    with pytest.raises(Exception, match="ProvisionedThroughputExceeded"):
        run(event, "ec2-compliance", rt)
    claim = hub.event_item(event["eventID"])
    assert (claim["state"], claim["lease_until"]) == ("claimed", 0)
    assert json.loads(claim["carried_result"])["outcome"] == "remediated"
    assert hub.mail() == []  # the record is written before the e-mail: nothing went out

    retry = run(event, "ec2-compliance", rt)

    assert (retry.outcome, retry.notified) == ("remediated", True)
    item = hub.event_item(event["eventID"])
    assert (item["outcome"], item["state"], item["notification"]) == ("remediated", "done", "sent")
    assert {a["action"] for a in json.loads(item["actions"])} == {"ec2:CreateTags", "ec2:ModifyInstanceAttribute"}
    assert "carried_result" not in item
    [mail] = hub.mail()
    assert ids[0] in mail.body and mail.attributes["outcome"] == "remediated"
    assert run(event, "ec2-compliance", rt).outcome == "skipped:duplicate"


def test_an_unconfirmed_e_mail_is_not_sent_again_and_the_record_says_so(hub: Hub, member: Member) -> None:
    event, _ = ec2_event(hub, member)
    rt = runtime(hub, settings_for(member))
    fail_nth_call(hub.dynamodb.meta.events, "dynamodb", "UpdateItem", "ProvisionedThroughputExceededException", {2},
                  key_prefix="event#")

    with pytest.raises(Exception, match="ProvisionedThroughputExceeded"):
        run(event, "ec2-compliance", rt)  # published, then the confirmation failed
    assert hub.event_item(event["eventID"])["notification"] == "pending"

    retry = run(event, "ec2-compliance", rt)

    assert (retry.outcome, retry.notified) == ("remediated", False) and "may not have been sent" in retry.reason
    item = hub.event_item(event["eventID"])
    assert (item["state"], item["notification"], item["outcome"]) == ("done", "unknown", "remediated")
    assert "may not have been sent" in item["notification_note"]
    assert len(hub.mail()) == 1  # at most once


def test_a_failed_publish_is_recorded_and_sent_by_the_retry(hub: Hub, member: Member) -> None:
    event, _ = ec2_event(hub, member)
    rt = runtime(hub, settings_for(member))
    fail_calls(hub.sns.meta.events, "sns", "Publish", "InternalError", times=1, status=500)

    with pytest.raises(Exception, match="InternalError"):
        run(event, "ec2-compliance", rt)
    item = hub.event_item(event["eventID"])
    assert (item["state"], item["notification"], item["notified"]) == ("acted", "failed", False)

    retry = run(event, "ec2-compliance", rt)

    assert (retry.outcome, retry.notified) == ("remediated", True)
    assert hub.event_item(event["eventID"])["notification"] == "sent"
    assert len(hub.mail()) == 1


def test_the_claim_lease_is_the_function_timeout_plus_a_margin(hub: Hub, member: Member,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(member, hub={"lambda_timeout_seconds": 60})
    monkeypatch.setenv(ENV_SETTINGS, settings.to_json())
    monkeypatch.setenv(ENV_AUDIT_TABLE, TABLE_NAME)
    monkeypatch.setenv(ENV_TOPIC_ARN, hub.topic_arn)
    built = engine.runtime_from_environment()
    assert built.audit is not None and built.audit.lease_seconds == 60 + 30

    # A crashed invocation (it ran into its 60 s timeout) holds the claim; Lambda's first retry comes about a
    # minute later and must be able to take the event over.
    event, _ = ec2_event(hub, member)
    started = time.time()
    crashed = AuditLog(hub.dynamodb, TABLE_NAME, clock=lambda: started, lease_seconds=built.audit.lease_seconds)
    assert crashed.claim(event_key(event["eventID"]), {"policy": "ec2-compliance"}).status is ClaimStatus.NEW
    rt = runtime(hub, settings)
    rt.audit = AuditLog(hub.dynamodb, TABLE_NAME, clock=lambda: started + 60 + 60,
                        lease_seconds=built.audit.lease_seconds)
    assert run(event, "ec2-compliance", rt).outcome == "remediated"


def test_sts_not_activated_in_the_region_is_its_own_outcome_mailed_once_a_day(hub: Hub, member: Member) -> None:
    base = deny_assume_role("RegionDisabledException")
    rt = runtime(hub, settings_for(member), base=base)
    events = [ec2_event(hub, member)[0] for _ in range(2)]

    outcomes = [run(e, "ec2-compliance", rt).outcome for e in events]

    assert outcomes == ["region-disabled", "region-disabled"]
    item = hub.event_item(events[0]["eventID"])
    assert (item["outcome"], item["severity"]) == ("region-disabled", "high")
    assert "STS is not activated" in item["summary"]
    [mail] = hub.mail()
    assert mail.attributes["outcome"] == "region-disabled" and "onboard" not in mail.body.split("Next step:")[1]
    assert f"activate {member.region}" in mail.body and "Account settings" in mail.body
    stored = hub.keys()
    assert any(k.startswith(f"notice#region-disabled#{member.account}#{member.region}#") for k in stored)
    assert not any(k.startswith("notice#not-onboarded#") for k in stored)


def test_one_processed_event_logs_one_json_line_with_its_keys(hub: Hub, member: Member,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from handlers.adapters import guardrail

    logger = logging.getLogger("orgguard")
    saved = (logger.level, logger.propagate, list(logger.handlers))
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    monkeypatch.setenv(ENV_SETTINGS, settings_for(member).to_json())
    monkeypatch.setenv(ENV_AUDIT_TABLE, TABLE_NAME)
    monkeypatch.setenv(ENV_TOPIC_ARN, hub.topic_arn)
    engine.RUNTIME.reset()
    logging.getLogger().setLevel(logging.WARNING)  # Lambda's default root level
    event, ids = ec2_event(hub, member)

    class Context:
        aws_request_id = "req-1234"

    try:
        monkeypatch.setenv(ENV_POLICY, "ec2-compliance")
        guardrail.handler(event, Context())
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    finally:
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers[:] = saved[2]

    [line] = [entry for entry in lines if entry.get("event_id") == event["eventID"]]
    assert {"timestamp", "level", "message", "event_id", "policy", "account", "outcome"} <= set(line)
    assert (line["level"], line["policy"], line["account"], line["outcome"]) == (
        "INFO", "ec2-compliance", member.account, "remediated")
    assert line["request_id"] == "req-1234" and ids[0] in line["message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])
