"""s3-encryption: bring a bucket's default encryption to the organization's standard.

Since January 2023 every bucket has SSE-S3 by default and DeleteBucketEncryption resets to SSE-S3, so
"encrypted at all" is always true on real AWS: the policy is a *standard* (``aws:kms`` with an optional
key and bucket keys, or ``AES256`` as the floor). A bucket with no configuration at all (older
accounts, and moto) is non-compliant.

Minimum calls per event: GetBucketEncryption; and, only when non-compliant, GetBucketTagging (exemption
tag, CloudFormation drift hint) and PutBucketEncryption.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.context import PolicyContext
from handlers.engine import make_handler
from handlers.events import ApiCallEvent
from handlers.exemptions import tags_to_dict
from handlers.outcome import Action, Result
from handlers.settings import S3Encryption

POLICY_ID = "s3-encryption"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
NO_CONFIG = "ServerSideEncryptionConfigurationNotFoundError"
GONE_CODES = ("NoSuchBucket",)
STACK_TAG = "aws:cloudformation:stack-name"


@dataclass(frozen=True)
class Encryption:
    algorithm: str = ""  # "" when the bucket has no default encryption configuration
    kms_key: str = ""
    bucket_key: bool = False

    def describe(self) -> str:
        if not self.algorithm:
            return "no default encryption configuration"
        text = {"AES256": "SSE-S3 (AES256)", "aws:kms": "SSE-KMS", "aws:kms:dsse": "DSSE-KMS"}.get(
            self.algorithm, self.algorithm)
        if self.algorithm in KMS_ALGORITHMS:
            text += f" with {'key ' + self.kms_key if self.kms_key else 'the AWS managed key aws/s3'}"
            text += ", bucket key on" if self.bucket_key else ", bucket key off"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "kms_key": self.kms_key, "bucket_key": self.bucket_key}


def parse_configuration(response: dict[str, Any] | None) -> Encryption:
    rules = ((response or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm"):
            return Encryption(default["SSEAlgorithm"], default.get("KMSMasterKeyID", "") or "",
                              bool(rule.get("BucketKeyEnabled", False)))
    return Encryption()


def _same_key(current: str, wanted: str, account: str = "") -> bool:
    """Keys can be named by ARN, id or alias; compare on what both name (an alias ARN ends with the alias).

    Two ARNs must be equal: a key of the same name in another account or region is another key. A key ARN
    of another account than the bucket's never matches an id or alias (those name the bucket owner's key).
    """
    if current == wanted:
        return True
    if current.startswith("arn:") and (wanted.startswith("arn:") or
                                       (account and current.split(":")[4:5] != [account])):
        return False
    tail = wanted.split(":", 5)[-1] if wanted.startswith("arn:") else wanted
    return current.endswith(tail) or current.endswith("/" + tail)


def compliant(current: Encryption, standard: S3Encryption, account: str, region: str) -> bool:
    """Pure: does the bucket meet the standard?"""
    if standard.algorithm == "AES256":
        return current.algorithm in ("AES256", *KMS_ALGORITHMS)
    if current.algorithm not in KMS_ALGORITHMS:
        return False
    wanted_key = standard.key_for(account, region)
    if wanted_key and not _same_key(current.kms_key, wanted_key, account):
        return False
    return not (standard.bucket_key and current.algorithm == "aws:kms" and not current.bucket_key)


def desired_configuration(standard: S3Encryption, account: str, region: str) -> dict[str, Any]:
    """Pure: the ServerSideEncryptionConfiguration to put."""
    default: dict[str, str] = {"SSEAlgorithm": standard.algorithm}
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default}
    if standard.algorithm == "aws:kms":
        key = standard.key_for(account, region)
        if key:
            default["KMSMasterKeyID"] = key
        rule["BucketKeyEnabled"] = standard.bucket_key
    return {"Rules": [rule]}


def read_encryption(s3: Any, bucket: str) -> Encryption | None:
    """Live state; None when the bucket is gone."""
    try:
        return parse_configuration(s3.get_bucket_encryption(Bucket=bucket))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == NO_CONFIG:
            return Encryption()
        if code in GONE_CODES:
            return None
        raise


def read_tags(s3: Any, bucket: str) -> dict[str, str] | None:
    try:
        return tags_to_dict(s3.get_bucket_tagging(Bucket=bucket).get("TagSet"))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "NoSuchTagSet":
            return {}
        if code in GONE_CODES:
            return None
        raise


def check_bucket(ctx: PolicyContext, bucket: str, current: Encryption | None = None,
                 tags: dict[str, str] | None = None) -> Result:
    """Evaluate (and in enforce mode fix) one bucket. ``current`` and ``tags`` let the sweep pass what it
    already read (the sweep reads every bucket's tags in one paged Resource Groups Tagging API call)."""
    s3 = ctx.client("s3")
    standard = ctx.settings.policies.s3_encryption
    if current is None:
        current = read_encryption(s3, bucket)
    if current is None:
        return Result(oc.GONE, bucket, "the bucket no longer exists", notify=False)
    before = current.to_dict()
    if compliant(current, standard, ctx.account, ctx.region):
        return Result(oc.COMPLIANT, bucket, f"meets the standard: {current.describe()}", before, before)
    if tags is None:
        tags = read_tags(s3, bucket)
    if tags is None:
        return Result(oc.GONE, bucket, "the bucket no longer exists", before, notify=False)
    stack = tags.get(STACK_TAG, "")
    exempt = ctx.exemption(tags)
    if exempt:
        return Result(oc.EXEMPT, bucket, f"exempt ({exempt}); encryption left as {current.describe()}",
                      before, before, stack_name=stack, notify=False)
    configuration = desired_configuration(standard, ctx.account, ctx.region)
    target = parse_configuration({"ServerSideEncryptionConfiguration": configuration})
    action = Action("s3:PutBucketEncryption", {"Bucket": bucket, "ServerSideEncryptionConfiguration": configuration})
    if not ctx.enforcing:
        return Result(oc.REPORTED, bucket, f"{current.describe()}; the standard is {target.describe()} "
                      "(report mode: not changed)", before, before, stack_name=stack,
                      details={"planned": [action.to_dict()]})
    try:
        ctx.perform(action)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "") in GONE_CODES:
            return Result(oc.GONE, bucket, "the bucket was deleted before it could be fixed", before, notify=False)
        raise
    return Result(oc.REMEDIATED, bucket, f"changed from {current.describe()} to {target.describe()}",
                  before, target.to_dict(), stack_name=stack)


def evaluate(event: ApiCallEvent, ctx: PolicyContext, resource_ids: list[str]) -> Result:
    return check_bucket(ctx, resource_ids[0])


handler = make_handler(POLICY_ID)
