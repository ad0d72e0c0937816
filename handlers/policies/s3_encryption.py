"""s3-encryption: bring a bucket's default encryption to the organization's standard.

Since January 2023 every bucket has SSE-S3 by default and DeleteBucketEncryption resets to SSE-S3, so
"encrypted at all" is always true on real AWS: the policy is a *standard* (``aws:kms`` with an optional
key and bucket keys, or ``AES256`` as the floor, and the upload encryption types the bucket must block).
A bucket with no configuration at all (older accounts, and moto) is non-compliant.

A fix keeps what the bucket's owner chose wherever it already meets the standard: without a key in the
standard, a bucket's own KMS key stays (the AWS managed ``aws/s3`` key cannot be shared with other
accounts, so switching to it breaks cross-account readers and replication); DSSE-KMS (dual-layer) stays
DSSE-KMS; a bucket key that is on stays on; blocked encryption types are only ever added. PutBucketEncryption
replaces the whole rule, so every fix sends BlockedEncryptionTypes back.

A bucket tagged ``orgguard:s3-encryption = AES256`` (the ``standard_tag`` setting) is held to the AES256 floor
instead: ELB access-log buckets cannot use SSE-KMS.

Minimum calls per event: GetBucketEncryption; HeadBucket only when the standard's key contains ``{region}``
(a CreateBucket with a LocationConstraint is recorded in the region of the endpoint it was sent to, not the
bucket's); and, only when non-compliant, GetBucketTagging (exemption and standard tags, CloudFormation drift
hint) and PutBucketEncryption.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.context import PolicyContext
from handlers.engine import make_handler
from handlers.events import ApiCallEvent
from handlers.exemptions import tags_to_dict
from handlers.outcome import Action, Result
from handlers.settings import BLOCKABLE_ENCRYPTION_TYPES, S3Encryption

POLICY_ID = "s3-encryption"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
DSSE = "aws:kms:dsse"
NO_CONFIG = "ServerSideEncryptionConfigurationNotFoundError"
GONE_CODES = ("NoSuchBucket",)
HEAD_GONE_CODES = ("NoSuchBucket", "NotFound", "404")  # HeadBucket has no body: the code is the HTTP status
STACK_TAG = "aws:cloudformation:stack-name"
BLOCKS_NOTHING = "NONE"  # S3's EncryptionType for "block nothing"
REGION_HEADER = "x-amz-bucket-region"
TAG_STANDARDS = ("AES256",)  # what the standard tag may ask for (ELB access-log buckets cannot use SSE-KMS)


def _uploads(blocked: tuple[str, ...]) -> str:
    allowed = [t for t in BLOCKABLE_ENCRYPTION_TYPES if t not in blocked]
    parts = [f"{', '.join(blocked)} uploads blocked"] if blocked else []
    parts += [f"{', '.join(allowed)} uploads allowed"] if allowed else []
    return ", ".join(parts)


@dataclass(frozen=True)
class Encryption:
    algorithm: str = ""  # "" when the bucket has no default encryption configuration
    kms_key: str = ""
    bucket_key: bool = False
    blocked: tuple[str, ...] = ()  # upload encryption types the bucket refuses, sorted (S3's "NONE" is ())

    def describe(self) -> str:
        if not self.algorithm:
            return "no default encryption configuration"
        text = {"AES256": "SSE-S3 (AES256)", "aws:kms": "SSE-KMS", DSSE: "DSSE-KMS"}.get(
            self.algorithm, self.algorithm)
        if self.algorithm in KMS_ALGORITHMS:
            text += f" with {'key ' + self.kms_key if self.kms_key else 'the AWS managed key aws/s3'}"
            if self.algorithm == "aws:kms":  # bucket keys do not apply to DSSE-KMS
                text += ", bucket key on" if self.bucket_key else ", bucket key off"
        return f"{text}, {_uploads(self.blocked)}"

    def to_dict(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "kms_key": self.kms_key, "bucket_key": self.bucket_key,
                "blocked_encryption_types": list(self.blocked)}


def _blocked(rule: dict[str, Any]) -> tuple[str, ...]:
    types = (rule.get("BlockedEncryptionTypes") or {}).get("EncryptionType") or []
    types = [types] if isinstance(types, str) else types
    return tuple(sorted({str(t) for t in types} - {BLOCKS_NOTHING}))


def parse_configuration(response: dict[str, Any] | None) -> Encryption:
    rules = ((response or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm"):
            return Encryption(default["SSEAlgorithm"], default.get("KMSMasterKeyID", "") or "",
                              bool(rule.get("BucketKeyEnabled", False)), _blocked(rule))
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
    """Pure: does the bucket meet the standard? (``region`` is the bucket's, for a key with ``{region}``.)

    Any KMS key meets a standard that names none; DSSE-KMS (dual-layer) meets an ``aws:kms`` standard and is
    held to its key like SSE-KMS; bucket keys do not apply to DSSE-KMS. The bucket must block at least what the
    standard blocks.
    """
    if not set(standard.blocked_encryption_types) <= set(current.blocked):
        return False
    if standard.algorithm == "AES256":
        return current.algorithm in ("AES256", *KMS_ALGORITHMS)
    if current.algorithm not in KMS_ALGORITHMS:
        return False
    wanted_key = standard.key_for(account, region)
    if wanted_key and not _same_key(current.kms_key, wanted_key, account):
        return False
    return not (standard.bucket_key and current.algorithm == "aws:kms" and not current.bucket_key)


def desired_configuration(standard: S3Encryption, account: str, region: str,
                          current: Encryption | None = None) -> dict[str, Any]:
    """Pure: the ServerSideEncryptionConfiguration to put, keeping what ``current`` already does right.

    The owner's KMS key stays unless the standard names another; DSSE-KMS stays DSSE-KMS; a bucket key that
    is on stays on; a bucket that already meets the algorithm of an AES256 standard keeps its whole default;
    the blocked types are the union of the bucket's and the standard's (``NONE`` when both are empty, since
    the rule is replaced whole and says what it blocks).
    """
    current = current or Encryption()
    kms_now = current.algorithm in KMS_ALGORITHMS
    default: dict[str, str]
    rule: dict[str, Any]
    if standard.algorithm == "AES256":
        if current.algorithm == "AES256" or kms_now:
            default = {"SSEAlgorithm": current.algorithm}
            if current.kms_key:
                default["KMSMasterKeyID"] = current.kms_key
            rule = {"ApplyServerSideEncryptionByDefault": default}
            if current.algorithm == "aws:kms":
                rule["BucketKeyEnabled"] = current.bucket_key
        else:
            rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    else:
        algorithm = DSSE if current.algorithm == DSSE else "aws:kms"
        default = {"SSEAlgorithm": algorithm}
        wanted = standard.key_for(account, region)
        if wanted:
            key = current.kms_key if kms_now and _same_key(current.kms_key, wanted, account) else wanted
        else:
            key = current.kms_key if kms_now else ""
        if key:
            default["KMSMasterKeyID"] = key
        rule = {"ApplyServerSideEncryptionByDefault": default}
        if algorithm == "aws:kms":
            rule["BucketKeyEnabled"] = standard.bucket_key or (current.algorithm == "aws:kms" and current.bucket_key)
    blocked = sorted(set(current.blocked) | set(standard.blocked_encryption_types))
    rule["BlockedEncryptionTypes"] = {"EncryptionType": blocked or [BLOCKS_NOTHING]}
    return {"Rules": [rule]}


def tag_standard(tags: dict[str, str], standard: S3Encryption) -> tuple[S3Encryption, str]:
    """Pure: the standard for a bucket with these tags, and a sentence on the standard tag ('' if untagged).

    Only the AES256 floor can be asked for (ELB access-log buckets cannot use SSE-KMS); the blocked types stay
    the organization's. Any other value is ignored, and said so: a typo must not lower the standard.
    """
    if not standard.standard_tag or standard.standard_tag not in tags:
        return standard, ""
    value = tags[standard.standard_tag].strip()
    if value in TAG_STANDARDS:
        return (replace(standard, algorithm=value, kms_key="", bucket_key=False),
                f"the bucket's tag {standard.standard_tag}={value} sets its standard")
    return standard, (f"the bucket's tag {standard.standard_tag}={tags[standard.standard_tag]!r} was ignored "
                      f"(allowed: {', '.join(TAG_STANDARDS)})")


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


def read_region(s3: Any, bucket: str) -> str | None:
    """The bucket's region from HeadBucket's ``x-amz-bucket-region``; None when the bucket is gone.

    HeadBucket needs s3:ListBucket, which OrgGuardRemediation does not hold (it would let it list every
    object key of every bucket). S3 returns the header on the 403 too ("HeadBucket always returns the
    bucket's location ... whether access to the bucket is authorized or not", GetBucketLocation's
    documentation), so a refusal that carries it is an answer.
    """
    try:
        response = s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in HEAD_GONE_CODES:
            return None
        region = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(REGION_HEADER, "")
        if region:
            return str(region)
        raise
    region = response.get("BucketRegion") or response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(
        REGION_HEADER, "")
    if not region:
        raise RuntimeError(f"HeadBucket on {bucket} returned no {REGION_HEADER}: the bucket's region is unknown")
    return str(region)


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
                 tags: dict[str, str] | None = None, bucket_region: str | None = None) -> Result:
    """Evaluate (and in enforce mode fix) one bucket. ``current``, ``tags`` and ``bucket_region`` let the sweep
    pass what it already read (the sweep reads every bucket's tags in one paged Resource Groups Tagging API
    call, and lists buckets by ``BucketRegion``)."""
    s3 = ctx.client("s3")
    standard = ctx.settings.policies.s3_encryption
    if current is None:
        current = read_encryption(s3, bucket)
    if current is None:
        return Result(oc.GONE, bucket, "the bucket no longer exists", notify=False)
    before = current.to_dict()
    region = bucket_region or ctx.region
    if bucket_region is None and standard.algorithm == "aws:kms" and standard.key_needs_region:
        found = read_region(s3, bucket)
        if found is None:
            return Result(oc.GONE, bucket, "the bucket no longer exists", before, notify=False)
        region = found
    if compliant(current, standard, ctx.account, region):
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
    standard, tag_note = tag_standard(tags, standard)
    note = f" ({tag_note})" if tag_note else ""
    if compliant(current, standard, ctx.account, region):
        return Result(oc.COMPLIANT, bucket, f"meets the standard{note}: {current.describe()}", before, before,
                      stack_name=stack)
    configuration = desired_configuration(standard, ctx.account, region, current)
    target = parse_configuration({"ServerSideEncryptionConfiguration": configuration})
    action = Action("s3:PutBucketEncryption", {"Bucket": bucket, "ServerSideEncryptionConfiguration": configuration})
    if not ctx.enforcing:
        return Result(oc.REPORTED, bucket, f"{current.describe()}; the standard{note} is {target.describe()} "
                      "(report mode: not changed)", before, before, stack_name=stack,
                      details={"planned": [action.to_dict()]})
    try:
        ctx.perform(action)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "") in GONE_CODES:
            return Result(oc.GONE, bucket, "the bucket was deleted before it could be fixed", before, notify=False)
        raise
    return Result(oc.REMEDIATED, bucket, f"changed from {current.describe()} to {target.describe()}{note}",
                  before, target.to_dict(), stack_name=stack)


def evaluate(event: ApiCallEvent, ctx: PolicyContext, resource_ids: list[str]) -> Result:
    return check_bucket(ctx, resource_ids[0])


handler = make_handler(POLICY_ID)
