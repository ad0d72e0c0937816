"""s3-public-access end to end on moto: real CloudTrail records, the hub acting in the member account through
AssumeRole, the member bucket's Block Public Access, its policy, the audit table and the e-mail checked after;
and the same finding from an event and from the sweep."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.audit import event_key
from handlers.guardrails.s3_public_access.access_block import FLAGS
from tests.support.events import bucket_event
from tests.support.guardrail_paths import by_event, by_sweep
from tests.support.handlers import Hub, engine_client, record_calls, run, runtime, settings_for
from tests.support.members import Member, make_bucket, public_access_flags

pytestmark = pytest.mark.functional

POLICY = "s3-public-access"
ALL_ON = dict.fromkeys(FLAGS, True)
DELETE = "records/panther__DeleteBucketPublicAccessBlock__2.json"
PUT = "records/streamalert__PutBucketPublicAccessBlock__2.json"
PUT_POLICY = "records/streamalert__PutBucketPolicy__1.json"
CREATE = "records/ctwatcher__CreateBucket__1.json"


def flags(member: Member, bucket: str) -> dict[str, bool] | None:
    return public_access_flags(member.client("s3"), bucket)


def public_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def test_a_bucket_made_public_is_closed_again(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-site-1")  # moto: no configuration, as after DeleteBucketPublicAccessBlock
    rt = runtime(hub, settings_for(member))
    event = bucket_event(DELETE, member, bucket)

    processed = run(event, POLICY, rt)

    assert processed.outcome == "remediated"
    assert flags(member, bucket) == ALL_ON
    item = hub.event_item(event["eventID"])
    assert (item["policy"], item["outcome"], item["resource"]) == (POLICY, "remediated", bucket)
    assert json.loads(item["actions"]) == [{"action": "s3:PutPublicAccessBlock", "params": {
        "Bucket": bucket, "PublicAccessBlockConfiguration": ALL_ON}}]
    [mail] = hub.mail()
    assert mail.attributes == {"account": member.account, "policy": POLICY, "outcome": "remediated",
                               "severity": "high"}
    assert bucket in mail.subject and mail.subject.isascii()
    for text in (bucket, member.account, "BlockPublicAcls off", "RestrictPublicBuckets on",
                 "turned S3 Block Public Access back on"):
        assert text in mail.body, text


def test_the_fix_keeps_the_flags_on_and_only_adds(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-site-2")
    member.client("s3").put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    rt = runtime(hub, settings_for(member))

    processed = run(bucket_event(PUT, member, bucket), POLICY, rt)

    assert processed.outcome == "remediated"
    assert flags(member, bucket) == ALL_ON
    assert "After:    BlockPublicAcls on, IgnorePublicAcls on, BlockPublicPolicy on, RestrictPublicBuckets on" in \
        hub.mail()[0].body


def test_a_compliant_bucket_costs_one_read(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-site-3")
    member.client("s3").put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_ON)
    rt = runtime(hub, settings_for(member))
    tags = record_calls(engine_client(rt, member, "s3"), "GetBucketTagging")

    processed = run(bucket_event(PUT, member, bucket), POLICY, rt)

    assert processed.outcome == "compliant" and processed.actions == []
    assert tags == [] and hub.mail() == []


def test_report_mode_changes_nothing_and_reports(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-site-4")
    rt = runtime(hub, settings_for(member, {POLICY: {"mode": "report"}}))
    event = bucket_event(DELETE, member, bucket)

    processed = run(event, POLICY, rt)

    assert processed.outcome == "reported" and processed.actions == []
    assert flags(member, bucket) is None
    assert hub.event_item(event["eventID"])["actions"] == "[]"
    [mail] = hub.mail()
    assert mail.attributes["outcome"] == "reported" and "OrgGuard changed nothing" in mail.body


@pytest.mark.parametrize(("tags", "policy", "outcome"), [
    ({"orgguard:exempt": POLICY}, {}, "exempt"),
    ({"orgguard:public": "true"}, {}, "compliant"),
    ({"web": "public"}, {"public_tag": "web"}, "remediated"),  # the value must be "true"
    ({}, {"public_buckets": ["team-site-5"]}, "compliant"),
])
def test_exempt_and_public_buckets_stay_as_they_are(hub: Hub, member: Member, tags: dict[str, str],
                                                     policy: dict[str, Any], outcome: str) -> None:
    bucket = make_bucket(member, "team-site-5", tags=tags)
    rt = runtime(hub, settings_for(member, {POLICY: policy}))

    processed = run(bucket_event(DELETE, member, bucket), POLICY, rt)

    assert processed.outcome == outcome
    assert flags(member, bucket) == (ALL_ON if outcome == "remediated" else None)


def test_a_public_policy_is_reported_never_rewritten(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-site-6")
    s3 = member.client("s3")
    s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    rt = runtime(hub, settings_for(member))
    statuses = record_calls(engine_client(rt, member, "s3"), "GetBucketPolicyStatus")

    processed = run(bucket_event(PUT_POLICY, member, bucket), POLICY, rt)

    assert processed.outcome == "remediated" and len(statuses) == 1
    assert flags(member, bucket) == ALL_ON
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(public_policy(bucket))
    [mail] = hub.mail()
    assert "Policy:   public" in mail.body and "never rewrites" in mail.body


def test_a_public_policy_on_a_bucket_allowed_public_is_reported(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-site-7", tags={"orgguard:public": "true"})
    member.client("s3").put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    rt = runtime(hub, settings_for(member))

    processed = run(bucket_event(PUT_POLICY, member, bucket), POLICY, rt)

    assert processed.outcome == "reported" and processed.actions == []
    assert flags(member, bucket) is None
    [mail] = hub.mail()
    assert mail.attributes["outcome"] == "reported" and "Policy:   public" in mail.body


def test_create_bucket_reaches_both_s3_guardrails_with_a_record_each(hub: Hub, member: Member) -> None:
    bucket = make_bucket(member, "team-site-8")
    rt = runtime(hub, settings_for(member))
    event = bucket_event(CREATE, member, bucket)

    encryption, public_access = run(event, "s3-encryption", rt), run(event, POLICY, rt)

    assert (encryption.outcome, public_access.outcome) == ("remediated", "remediated")
    assert not public_access.duplicate
    assert hub.event_item(event["eventID"])["policy"] == "s3-encryption"
    assert hub.item(event_key(event["eventID"], POLICY))["policy"] == POLICY  # type: ignore[index]
    assert flags(member, bucket) == ALL_ON
    assert run(event, POLICY, rt).duplicate  # a second delivery to the same guardrail is still one


@pytest.mark.parametrize("state", ["off", "partial", "on", "exempt", "public-tag"])
def test_a_bucket_gets_the_same_finding_from_its_event_and_from_the_sweep(hq: Hub, spoke: Member,
                                                                         state: str) -> None:
    tags = {"exempt": {"orgguard:exempt": POLICY}, "public-tag": {"orgguard:public": "true"}}.get(state)
    bucket = make_bucket(spoke, f"paths-bpa-{state}", tags=tags)
    configuration = {"partial": {**ALL_ON, "RestrictPublicBuckets": False}, "on": ALL_ON}.get(state)
    if configuration:
        spoke.client("s3").put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=configuration)

    [pushed] = by_event(spoke, POLICY, bucket_event(DELETE, spoke, bucket))
    [pulled] = by_sweep(spoke, POLICY, [bucket])

    assert pushed == pulled
    assert pushed.outcome == {"off": "reported", "partial": "reported", "on": "compliant", "exempt": "exempt",
                              "public-tag": "compliant"}[state]
