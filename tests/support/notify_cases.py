"""The notification tests' cases: a result for every outcome of every policy, the CloudTrail event
each policy's mail is about, a runtime on given settings, and one notification rendered to subject and body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from handlers.engine import Runtime
from handlers.events import ApiCallEvent, parse
from handlers.guardrails.base import Guardrail
from handlers.mail_context import template_context
from handlers.notices import TEMPLATES
from handlers.notify import (
    Renderer,
)
from handlers.outcome import Action, Result
from handlers.sessions import MemberSessions
from handlers.settings import validate

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events" / "records"


SAMPLE_BY_POLICY = {"s3-encryption": "panther__PutBucketEncryption__1.json",
                    "vpc-created": "spotlight__CreateVpc__1.json",
                    "ec2-compliance": "custodian__RunInstances__3.json",
                    "s3-public-access": "panther__DeleteBucketPublicAccessBlock__2.json"}


S3_BEFORE = {"algorithm": "", "kms_key": "", "bucket_key": False, "blocked_encryption_types": []}
S3_AFTER = {"algorithm": "aws:kms", "kms_key": "", "bucket_key": True, "blocked_encryption_types": ["SSE-C"]}


VPC_INFO = {"vpc_id": "vpc-0abc", "cidr": "10.0.0.0/16", "cidrs": ["10.0.0.0/16", "10.1.0.0/16"],
            "ipv6": ["2600:1f18::/56"], "is_default": False, "name": "nginx-vpc", "tags": {"Name": "nginx-vpc"}}


BPA_OFF = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
           "RestrictPublicBuckets": False}


BPA_ON = dict.fromkeys(BPA_OFF, True)
EC2_SUMMARY = "i-1: remediated - added tags Owner=unassigned; added admin group (groups now sg-1, sg-admin)"


def results(policy_id: str) -> dict[str, Result]:
    """A Result of each outcome, shaped as the policy module (or the engine, for failures) builds it."""
    failed = Result("failed:AccessDenied", "res-1", "OrgGuard could not finish: AccessDenied: denied")
    not_onboarded = Result("not-onboarded", "res-1", "cannot assume", details={"reason": "AccessDenied: no"})
    not_onboarded_no_reason = Result("not-onboarded", "res-1", "cannot assume OrgGuardRemediation")
    region_disabled = Result("region-disabled", "res-1", "STS is not activated",
                             details={"reason": "RegionDisabledException: STS is not activated"})
    if policy_id == "s3-encryption":
        fix = Action("s3:PutBucketEncryption", {"Bucket": "b", "ServerSideEncryptionConfiguration": {}})
        return {
            "compliant": Result("compliant", "b", "meets the standard", S3_AFTER, S3_AFTER),
            "remediated": Result("remediated", "b", "changed", S3_BEFORE, S3_AFTER, [fix]),
            "reported": Result("reported", "b", "report mode", S3_BEFORE, S3_BEFORE,
                               details={"planned": [fix.to_dict()]}),
            "exempt": Result("exempt", "b", "exempt", S3_BEFORE, S3_BEFORE, notify=False),
            "gone": Result("gone", "b", "the bucket no longer exists", notify=False),
            "gone-after-read": Result("gone", "b", "deleted", S3_BEFORE, notify=False),
            "failed": failed, "not-onboarded": not_onboarded, "not-onboarded-no-reason": not_onboarded_no_reason,
            "region-disabled": region_disabled,
        }
    if policy_id == "s3-public-access":
        block = Action("s3:PutPublicAccessBlock", {"Bucket": "b", "PublicAccessBlockConfiguration": BPA_ON})
        public = {**BPA_OFF, "PolicyIsPublic": True}
        return {
            "compliant": Result("compliant", "b", "meets the standard", BPA_ON, BPA_ON),
            "remediated": Result("remediated", "b", "turned on", BPA_OFF, BPA_ON, [block]),
            "remediated-public-policy": Result("remediated", "b", "turned on", public, {**public, **BPA_ON}, [block]),
            "reported": Result("reported", "b", "report mode", BPA_OFF, BPA_OFF,
                               details={"planned": [block.to_dict()]}),
            "reported-allowed-public": Result("reported", "b", "may stay public", public, public),
            "exempt": Result("exempt", "b", "exempt", BPA_OFF, BPA_OFF, notify=False),
            "gone": Result("gone", "b", "the bucket no longer exists", notify=False),
            "failed": failed, "not-onboarded": not_onboarded, "not-onboarded-no-reason": not_onboarded_no_reason,
            "region-disabled": region_disabled,
        }
    if policy_id == "vpc-created":
        return {
            "reported": Result("reported", "vpc-0abc", "new VPC", VPC_INFO, VPC_INFO, details=VPC_INFO),
            "reported-minimal": Result("reported", "vpc-0abc", "new VPC", details={"cidr": "", "cidrs": []}),
            "exempt": Result("exempt", "vpc-0abc", "exempt", VPC_INFO, VPC_INFO, notify=False),
            "gone": Result("gone", "vpc-0abc", "deleted", details={"cidr": "10.0.0.0/16"}),
            "failed": failed, "not-onboarded": not_onboarded, "not-onboarded-no-reason": not_onboarded_no_reason,
            "region-disabled": region_disabled,
        }
    tags = Action("ec2:CreateTags", {"Resources": ["i-1"], "Tags": [{"Key": "Owner", "Value": "unassigned"}]})
    return {
        "compliant": Result("compliant", "i-1", "i-1: compliant", notify=False),
        "remediated": Result("remediated", "i-1, i-2", EC2_SUMMARY, {"i-1": {}}, {"i-1": {}}, [tags]),
        "reported": Result("reported", "i-1", "i-1: remediated - would add tags", details={"planned": []}),
        "no-admin-group": Result("failed:no-admin-group", "i-1", "i-1: failed:no-admin-group - VPC vpc-1 has none"),
        "too-many-groups": Result("failed:too-many-groups", "i-1", "i-1: failed:too-many-groups"),
        "tag-limit": Result("failed:tag-limit", "i-1", "i-1: failed:tag-limit - it has 49 tags and lacks 2"),
        "exempt": Result("exempt", "i-1", "i-1: exempt", notify=False),
        "gone": Result("gone", "i-1", "i-1: gone - no longer exists", notify=False),
        "failed": failed, "not-onboarded": not_onboarded, "not-onboarded-no-reason": not_onboarded_no_reason,
        "region-disabled": region_disabled,
    }


def event_for(policy_id: str) -> ApiCallEvent:
    return parse(json.loads((EVENTS / SAMPLE_BY_POLICY[policy_id]).read_text()))


def runtime(**settings: Any) -> Runtime:
    base = boto3.Session(region_name="us-east-1", aws_access_key_id="unused", aws_secret_access_key="unused")
    return Runtime(validate(settings), MemberSessions(base), audit=None, notifier=None)


def render(policy: Guardrail, result: Result, renderer: Renderer | None = None,
           event: ApiCallEvent | None = None, rt: Runtime | None = None) -> tuple[str, str]:
    name = TEMPLATES.get(result.outcome, f"{policy.id}.txt.j2")
    context = template_context(event or event_for(policy.id), policy, result, rt or runtime())
    return (renderer or Renderer(user_dir="")).render(name, context)
