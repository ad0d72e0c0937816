"""The pipeline around the policies, on moto, at its edges: malformed events are rejected and audited, an
account without the spoke (or where STS is not activated) is its own outcome mailed once a day, AssumeRole is
retried when throttled and done once per account and region, and every real sample ends in a recorded outcome."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from handlers.audit import event_key
from handlers.registry import CLOUDTRAIL_DETAIL_TYPE, POLICIES, policies_for, record_key_suffix
from tests.support.engine_events import BUCKET_SAMPLE, ec2_event
from tests.support.events import bucket_event, load_event, retarget, vpc_event
from tests.support.handlers import MEMBER_NAME, Hub, fail_calls, run, runtime, settings_for
from tests.support.members import Member, bucket_encryption, make_bucket, make_network
from tests.support.moto_env import HUB_REGION
from tests.support.samples import needs_samples

REPO = Path(__file__).resolve().parents[2]


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
