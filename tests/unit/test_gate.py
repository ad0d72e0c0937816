"""The gate (pure): which events are never evaluated, and why; and every real sample through parse, routing
and the gate, with what is expected of each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.events import MalformedEvent, parse
from handlers.pipeline.gate import gate, own_call
from handlers.registry import POLICIES_BY_ID, policies_for, policy_for
from handlers.settings import Settings, load, validate
from tests.support.samples import needs_samples

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "cloudtrail-samples"
LOCAL = Path(__file__).resolve().parents[1] / "events"
S3 = POLICIES_BY_ID["s3-encryption"]
EC2 = POLICIES_BY_ID["ec2-compliance"]
VPC = POLICIES_BY_ID["vpc-created"]


def record(name: str = "panther__PutBucketEncryption__1.json") -> dict[str, Any]:
    return dict(json.loads((LOCAL / "records" / name).read_text()))


def with_policy(policy_id: str, **values: Any) -> Settings:
    return validate({"policies": {policy_id: values}})


def test_a_plain_successful_call_goes_on() -> None:
    assert gate(parse(record()), S3, load(None)) is None


def test_failed_call_is_skipped_even_when_the_policy_is_off() -> None:
    detail = record()
    detail["errorCode"] = "AccessDenied"
    assert gate(parse(detail), S3, with_policy("s3-encryption", mode="off")) == "skipped:error-code"


@pytest.mark.parametrize("identity", [
    {"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/OrgGuardRemediation/orgguard",
     "sessionContext": {"sessionIssuer": {"type": "Role",
                                          "arn": "arn:aws:iam::111111111111:role/OrgGuardRemediation"}}},
    {"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/OrgGuardRemediation/orgguard"},
    {"type": "AssumedRole", "arn": "arn:aws-us-gov:sts::111111111111:assumed-role/x/y",
     "sessionContext": {"sessionIssuer": {"arn": "arn:aws-us-gov:iam::111111111111:role/OrgGuardRemediation"}}},
], ids=["issuer-and-arn", "assumed-role-arn-only", "issuer-arn-other-partition"])
def test_own_remediation_role_is_skipped(identity: dict[str, Any]) -> None:
    detail = record()
    detail["userIdentity"] = {**identity, "accountId": "111111111111"}
    event = parse(detail)
    assert own_call(event)
    assert gate(event, S3, load(None)) == "skipped:own-remediation"


@pytest.mark.parametrize("role", ["OrgGuardRemediationAdmin", "NotOrgGuardRemediation", "orgguardremediation"])
def test_look_alike_roles_are_not_ours(role: str) -> None:
    detail = record()
    detail["userIdentity"] = {"type": "AssumedRole", "accountId": "111111111111",
                              "arn": f"arn:aws:sts::111111111111:assumed-role/{role}/s",
                              "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::111111111111:role/{role}"}}}
    assert not own_call(parse(detail))
    assert gate(parse(detail), S3, load(None)) is None


def test_s3_express_and_other_policies_events_are_not_governed() -> None:
    detail = record("ctwatcher__CreateBucket__1.json")
    detail["eventSource"] = "s3express.amazonaws.com"
    event = parse(detail)
    assert policy_for(event.event_source, event.event_name) is None
    assert gate(event, S3, load(None)) == "skipped:not-governed"
    assert gate(parse(record("spotlight__CreateVpc__1.json")), EC2, load(None)) == "skipped:not-governed"


@pytest.mark.parametrize(("policy", "mode", "expected"), [
    (S3, "off", "skipped:policy-off"), (S3, "report", None), (S3, "enforce", None),
    (VPC, "off", "skipped:policy-off"), (EC2, "off", "skipped:policy-off"), (EC2, "report", None),
])
def test_mode(policy: Any, mode: str, expected: str | None) -> None:
    sample = {"s3-encryption": "panther__PutBucketEncryption__1.json", "vpc-created": "spotlight__CreateVpc__1.json",
              "ec2-compliance": "spotlight__RunInstances__1.json"}[policy.id]
    assert gate(parse(record(sample)), policy, with_policy(policy.id, mode=mode)) == expected


def test_only_the_listed_accounts_are_exempt() -> None:
    event = parse(record())
    assert gate(event, S3, validate({"exemptions": {"accounts": ["111111111111"]}})) == "exempt"
    assert gate(event, S3, validate({"exemptions": {"accounts": ["222222222222"]}})) is None


# Every record whose call a policy handles, with (policy, gate outcome with the defaults, resource ids).
ROUTED: dict[str, tuple[str, str | None, list[str]]] = {
    "records/ctwatcher__CreateBucket__1.json": ("s3-encryption", None, ["cloudtrailwatcher-000000000000"]),
    "records/ctwatcher__RunInstances__1.json": ("ec2-compliance", None, ["i-YOUR_INSTANCE_IDS"]),
    "records/ctwatcher__RunInstances__2.json": ("ec2-compliance", None, ["i-YOUR_INSTANCE_IDS"]),
    "records/custodian__RunInstances__1.json": ("ec2-compliance", None, ["i-0f7c711dc84bedda0"]),
    "records/custodian__RunInstances__2.json": ("ec2-compliance", None, ["i-0f7c711dc84bedda0"]),
    "records/custodian__RunInstances__3.json": ("ec2-compliance", None, ["i-784cdacd", "i-7b4cdace"]),
    "records/panther__CreateVpc__1.json": ("vpc-created", None, ["vpc-1"]),
    "records/panther__CreateVpc__2.json": ("vpc-created", "skipped:error-code", ["vpc-1"]),
    "records/panther__DeleteBucketEncryption__1.json": ("s3-encryption", None, ["sensitive-data-bucket"]),
    "records/panther__DeleteBucketEncryption__2.json": ("s3-encryption", "skipped:error-code",
                                                        ["sensitive-data-bucket"]),
    "records/panther__DeleteBucketEncryption__4.json": ("s3-encryption", None, ["critical-data-bucket"]),
    "records/panther__DeleteBucketEncryption__5.json": ("s3-encryption", None, ["important-files-bucket"]),
    "records/panther__PutBucketEncryption__1.json": ("s3-encryption", None, ["sensitive-data-bucket"]),
    "records/panther__DeleteBucketPublicAccessBlock__1.json": ("s3-public-access", "skipped:error-code",
                                                               ["corporate-documents"]),
    "records/panther__DeleteBucketPublicAccessBlock__2.json": ("s3-public-access", None, ["corporate-documents"]),
    "records/panther__PutBucketPolicy__1.json": ("s3-public-access", None, ["example-bucket"]),
    "records/panther__PutBucketPolicy__2.json": ("s3-public-access", None, ["example-bucket"]),
    "records/panther__PutBucketPolicy__3.json": ("s3-public-access", None, []),
    "records/panther__PutBucketPolicy__4.json": ("s3-public-access", "skipped:error-code", ["example-bucket"]),
    "records/panther__PutBucketPublicAccessBlock__1.json": ("s3-public-access", None, ["corporate-documents"]),
    "records/streamalert__PutBucketPolicy__1.json": ("s3-public-access", None, ["test"]),
    "records/streamalert__PutBucketPublicAccessBlock__1.json": ("s3-public-access", None, ["..."]),
    "records/streamalert__PutBucketPublicAccessBlock__2.json": ("s3-public-access", None, ["test"]),
    "records/panther__RunInstances__1.json": ("ec2-compliance", None, ["i-07d06021b0da55115"]),
    "records/panther__RunInstances__2.json": ("ec2-compliance", None, ["i-07d06021b0da55115"]),
    "records/panther__RunInstances__3.json": ("ec2-compliance", None, ["i-0d7e4b9be8a0de6ea"]),
    "records/panther__RunInstances__4.json": ("ec2-compliance", "skipped:error-code", []),
    "records/panther__RunInstances__5.json": ("ec2-compliance", None, ["i-00000000000000000"]),
    "records/panther__RunInstances__6.json": ("ec2-compliance", None, ["i-00000000000000000", "i-00000000000000001"]),
    "records/panther__RunInstances__7.json": ("ec2-compliance", None, ["i-00000000000000000"]),
    "records/panther__RunInstances__8.json": ("ec2-compliance", None, ["i-0690cd354a0c3850c"]),
    "records/panther__RunInstances__9.json": ("ec2-compliance", "skipped:error-code", []),
    "records/spotlight__CreateBucket__1.json": ("s3-encryption", None, ["test-backt-testfile01"]),
    "records/spotlight__CreateVpc__1.json": ("vpc-created", None, ["vpc-0bda49e0068536141"]),
    "records/spotlight__RunInstances__1.json": ("ec2-compliance", None, ["i-0fc5d99558e8357e8"]),
    "wrapped/custodian__CreateBucket__1.json": ("s3-encryption", None, ["custodian-create-bucket-v4"]),
    "wrapped/custodian__CreateBucket__2.json": ("s3-encryption", None, ["cwe-test"]),
}
# Samples no handler can take, and why (anonymised ids and made-up regions in the source repositories).
REJECTED = {
    "records/fivexl__ConsoleLogin__1.json": "no-account",
    "records/fivexl__DescribeInstances__1.json": "no-account",
    "records/panther__DeleteBucket__2.json": "no-event-source",
    "records/panther__GetObject__2.json": "no-region",
    "records/panther__ModifyInstanceAttribute__1.json": "no-account",
    "records/panther__PutBucketPolicy__5.json": "no-account",
    "records/panther__PutBucketPolicy__6.json": "no-account",
    **{f"records/stratus__{name}__{n}.json": "no-region" for name, n in (
        ("AssumeRole", 1), ("AssumeRole", 2), ("AttachUserPolicy", 1), ("AuthorizeSecurityGroupIngress", 1),
        ("ConsoleLogin", 1), ("CreateAccessKey", 1), ("CreateRole", 1), ("CreateUser", 1), ("DeleteTrail", 1),
        ("DescribeInstanceAttribute", 1), ("DescribeInstances", 1), ("GetCallerIdentity", 1),
        ("GetPasswordData", 1), ("GetSecretValue", 1), ("ModifyImageAttribute", 1), ("ModifyInstanceAttribute", 1),
        ("ModifySnapshotAttribute", 1), ("RunInstances", 1), ("StartInstances", 1), ("StopInstances", 1),
        ("StopLogging", 1))},
}
# Near misses: the event names a policy handles, from a source it does not govern.
UNGOVERNED = {"records/spotlight__CreateBucket__2.json": S3, "records/spotlight__DeleteBucket__2.json": None,
              "records/panther__DeleteBucketEncryption__3.json": S3}


def all_samples() -> list[str]:
    return [f"{p.parent.name}/{p.name}" for d in ("records", "wrapped") for p in sorted((SAMPLES / d).glob("*.json"))]


@needs_samples(SAMPLES / "records")
def test_every_sample_through_parse_routing_and_gate() -> None:
    names = all_samples()
    assert set(ROUTED) | set(REJECTED) | set(UNGOVERNED) <= set(names), "a listed sample is missing"
    settings = load(None)
    seen_routed = set()
    for name in names:
        payload = json.loads((SAMPLES / name).read_text())
        try:
            event = parse(payload)
        except MalformedEvent as error:
            assert REJECTED.get(name) == error.reason, name
            continue
        assert name not in REJECTED, name
        routed = policies_for(event.event_source, event.event_name)
        policy = routed[0] if routed else None
        if name in ROUTED:
            policy_id, outcome, resources = ROUTED[name]  # the first guardrail; a CreateBucket reaches two
            assert policy is POLICIES_BY_ID[policy_id], name
            for each in routed:
                assert gate(event, each, settings) == outcome, name
                assert each.resource_ids(event.detail) == resources, name
            seen_routed.add(name)
        else:
            assert policy is None, f"{name} is routed to {policy and policy.id} but not listed"
            handler_of_the_name = UNGOVERNED.get(name)
            if handler_of_the_name is not None:
                assert gate(event, handler_of_the_name, settings) == "skipped:not-governed", name
    assert seen_routed == set(ROUTED)
