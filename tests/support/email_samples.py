"""Fixed inputs for the e-mail snapshots (``tests/unit/test_email_snapshots.py``): one CloudTrail call per
guardrail by a person through SSO, and a result of every outcome each template can receive.

Everything is fixed (ids, times, names), so a snapshot changes only when an e-mail does. A new guardrail gets
generic results (its ``noun``, no state) until it adds its own shapes to ``SHAPES``.
"""

from __future__ import annotations

import copy
from typing import Any

from handlers import storm
from handlers.batch.records import SweepFinding, TargetResult
from handlers.events import ApiCallEvent, parse
from handlers.guardrails.base import Guardrail
from handlers.organization import Account
from handlers.outcome import Action, Outcome, OutcomeKind, Result

ACCOUNT, NAME, REGION = "111111111111", "workload-alpha", "eu-west-1"
EVENT_ID = "0b3d2c1a-5e4f-4a6b-9c8d-7e6f5a4b3c2d"
SSO_ROLE = "AWSReservedSSO_PowerUserAccess_0123456789abcdef"
SETTINGS: dict[str, Any] = {"organization": {"account_names": {ACCOUNT: NAME}}}

# What each guardrail's results look like: resource, and per outcome kind (before, after, details, summary).
KMS = {"algorithm": "aws:kms", "kms_key": "", "bucket_key": True, "blocked_encryption_types": ["SSE-C"]}
SSE_S3 = {"algorithm": "AES256", "kms_key": "", "bucket_key": False, "blocked_encryption_types": ["SSE-C"]}
VPC = {"vpc_id": "vpc-0a1b2c3d4e5f60718", "cidr": "10.42.0.0/16", "cidrs": ["10.42.0.0/16"], "ipv6": [],
       "is_default": False, "name": "payments", "tags": {"Name": "payments"}}
EC2_GROUPS = {"vpc-0a1b2c3d4e5f60718": "sg-0admin1234567890a"}
BPA_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
BPA_OFF = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
           "RestrictPublicBuckets": False}
SHAPES: dict[str, dict[str, Any]] = {
    "s3-encryption": {
        "resource": "invoices-2027-eu-west-1",
        "compliant": (KMS, KMS, {}, "meets the standard: aws:kms, bucket key on"),
        "remediated": (SSE_S3, KMS, {"note": ""}, "changed from AES256 to aws:kms, bucket key on"),
        "reported": (SSE_S3, SSE_S3, {"standard": KMS, "note": ""}, "AES256; the standard is aws:kms"),
        "exempt": (SSE_S3, SSE_S3, {}, "exempt (orgguard:exempt = s3-encryption); encryption left as AES256"),
        "gone": ({}, {}, {}, "the bucket no longer exists"),
    },
    "s3-public-access": {
        "resource": "www-example-2027",
        "compliant": (BPA_ON, BPA_ON, {}, "meets the standard: every Block Public Access flag on"),
        "remediated": (BPA_OFF, BPA_ON, {}, "turned on BlockPublicAcls, IgnorePublicAcls, RestrictPublicBuckets"),
        "reported": ({**BPA_OFF, "PolicyIsPublic": True}, {**BPA_OFF, "PolicyIsPublic": True}, {},
                     "BlockPublicAcls off; its bucket policy is public (not rewritten) (report mode: not changed)"),
        "exempt": (BPA_OFF, BPA_OFF, {}, "exempt (orgguard:exempt = s3-public-access)"),
        "gone": ({}, {}, {}, "the bucket no longer exists"),
    },
    "vpc-created": {
        "resource": "vpc-0a1b2c3d4e5f60718",
        "reported": (VPC, VPC, VPC, "new VPC vpc-0a1b2c3d4e5f60718 (10.42.0.0/16)"),
        "exempt": (VPC, VPC, {}, "exempt (orgguard:exempt = vpc-created)"),
        "gone": ({}, {}, {"cidr": "10.42.0.0/16"}, "the VPC was deleted before OrgGuard looked at it"),
    },
    "ec2-compliance": {
        "resource": "i-0abc1234def567890",
        "compliant": ({}, {}, {"admin_groups": EC2_GROUPS}, "i-0abc1234def567890: compliant"),
        "remediated": ({}, {}, {"admin_groups": EC2_GROUPS},
                       "i-0abc1234def567890: remediated - added tags CostCenter=unknown; added admin group "
                       "(groups now sg-0app1234567890abc, sg-0admin1234567890a)"),
        "reported": ({}, {}, {"admin_groups": EC2_GROUPS},
                     "i-0abc1234def567890: remediated - would add tags CostCenter=unknown; would add the admin "
                     "group to sg-0app1234567890abc"),
        "exempt": ({}, {}, {"admin_groups": EC2_GROUPS}, "i-0abc1234def567890: exempt - orgguard:exempt"),
        "gone": ({}, {}, {}, "i-0abc1234def567890: gone - terminated"),
        "failed": ({}, {}, {"admin_groups": EC2_GROUPS}, "i-0abc1234def567890: {outcome} - {note}"),
    },
}
EC2_NOTES = {
    "no-admin-group": "VPC vpc-0a1b2c3d4e5f60718 has no admin group",
    "too-many-groups": "the primary interface already has 5 groups; adding sg-0admin1234567890a would exceed 5",
    "tag-limit": "it has 49 tags and lacks 2 required tag(s) (CostCenter, Owner): adding them would exceed "
                 "AWS's limit of 50 tags per resource",
    "no-primary-interface": "none of its network interfaces is the primary one (network card 0, device index 0)",
}


def event(guardrail: Guardrail) -> ApiCallEvent:
    """The guardrail's first event name, called by jane.doe@example.com through SSO."""
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/jane.doe@example.com"
    return parse({"eventVersion": "1.09", "eventID": EVENT_ID, "eventTime": "2027-03-01T09:30:00Z",
                  "eventSource": guardrail.event_source, "eventName": guardrail.event_names[0],
                  "awsRegion": REGION, "recipientAccountId": ACCOUNT, "sourceIPAddress": "203.0.113.10",
                  "userIdentity": {"type": "AssumedRole", "arn": arn, "accountId": ACCOUNT,
                                   "principalId": "AROAEXAMPLEID:jane.doe@example.com",
                                   "sessionContext": {"sessionIssuer": {
                                       "type": "Role", "userName": SSO_ROLE,
                                       "arn": f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/"
                                              f"{REGION}/{SSO_ROLE}"}}}})


def failure_reasons(guardrail: Guardrail) -> list[str]:
    """An AWS error every guardrail can meet, and the guardrail's own reasons."""
    kinds = {k.value for k in OutcomeKind}
    return ["AccessDenied", *sorted(r for r in guardrail.reasons if r not in kinds)]


def results(guardrail: Guardrail) -> dict[str, Result]:
    """A result of every outcome the guardrail's template can receive, keyed by the outcome."""
    shape = SHAPES.get(guardrail.id, {"resource": f"example-{guardrail.noun}"})
    resource, found = shape["resource"], {}
    for kind in ("compliant", "remediated", "reported", "exempt", "gone"):
        if kind in shape or guardrail.id not in SHAPES:
            before, after, details, summary = copy.deepcopy(shape.get(kind, ({}, {}, {}, kind)))
            actions = [Action("example:Fix", {"Resource": resource})] if kind == "remediated" else []
            found[kind] = Result(Outcome.parse(kind), resource, summary, before, after, actions, details)
    for reason in failure_reasons(guardrail):
        outcome = f"failed:{reason}"
        if reason in EC2_NOTES and guardrail.id == "ec2-compliance":
            _, _, details, summary = copy.deepcopy(shape["failed"])
            summary = summary.format(outcome=outcome, note=EC2_NOTES[reason])
        else:
            details = {}
            summary = f"OrgGuard could not finish: {reason}: User is not authorized to perform this action"
        found[outcome] = Result(Outcome.parse(outcome), resource, summary, details=details)
    return found


def notices(guardrail: Guardrail) -> dict[str, Result]:
    resource = SHAPES.get(guardrail.id, {"resource": "example"})["resource"]
    return {"not-onboarded": Result(Outcome.parse("not-onboarded"), resource, "cannot assume", details={
                "reason": "AccessDenied: User: arn:aws:sts::222222222222:assumed-role/orgguard-hub/x is not "
                          "authorized to perform: sts:AssumeRole on OrgGuardRemediation"}),
            "region-disabled": Result(Outcome.parse("region-disabled"), resource, "STS is not activated",
                                      details={"reason": "RegionDisabledException: STS is not activated in "
                                                         f"{REGION} for this account"})}


def sweep_results() -> dict[str, list[TargetResult]]:
    """A sweep of one account by outcome mix: only fixes, and fixes with a report, a failure and a problem."""
    fixed = SweepFinding(ACCOUNT, REGION, "s3-encryption", "invoices-2027-eu-west-1", "remediated",
                         "changed from AES256 to aws:kms, bucket key on", stack_name="billing")
    reported = SweepFinding(ACCOUNT, REGION, "ec2-compliance", "i-0abc1234def567890", "reported",
                            "would add tags CostCenter=unknown")
    failed = SweepFinding(ACCOUNT, REGION, "ec2-compliance", "i-0def4567abc890123", "failed:too-many-groups",
                          "the primary interface already has 5 groups")
    compliant = SweepFinding(ACCOUNT, REGION, "s3-encryption", "logs-2027", "compliant", "meets the standard")
    return {
        "remediated": [TargetResult(ACCOUNT, REGION, findings=[fixed, compliant])],
        "failed": [TargetResult(ACCOUNT, REGION, findings=[fixed, reported, failed, compliant]),
                   TargetResult(ACCOUNT, "us-east-1", "not-onboarded", error="AccessDenied: cannot assume")],
    }


def digest_window(policy: str) -> tuple[storm.Window, list[dict[str, Any]]]:
    start = 1_803_893_400  # 2027-03-01 09:30 UTC
    records = [{"outcome": "remediated" if i % 3 else "failed:AccessDenied", "resource": f"bucket-{i:02d}",
                "region": REGION, "event_time": f"2027-03-01T09:{31 + i:02d}:00Z", "event_id": f"event-{i:02d}",
                "severity": "high" if i % 3 == 0 else "medium"} for i in range(4)]
    return storm.Window(ACCOUNT, policy, start, 900), records


def sweep_account() -> Account:
    return Account(ACCOUNT, NAME)
