"""The S3 encryption standard (pure): a bucket's default encryption, whether it meets the standard, and the
configuration that brings it there while keeping what the owner chose."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from handlers.guardrails.s3_encryption.settings import BLOCKABLE_ENCRYPTION_TYPES, S3Encryption

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
DSSE = "aws:kms:dsse"
BLOCKS_NOTHING = "NONE"  # S3's EncryptionType for "block nothing"
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


def bucket_encryption_property(configuration: dict[str, Any]) -> dict[str, Any]:
    """Pure: PutBucketEncryption's ``ServerSideEncryptionConfiguration`` as CloudFormation's ``BucketEncryption``
    (``AWS::S3::Bucket``): ``ApplyServerSideEncryptionByDefault`` is ``ServerSideEncryptionByDefault`` there, and the
    rules are the configuration's list itself."""
    rules = []
    for rule in configuration.get("Rules") or []:
        converted: dict[str, Any] = {}
        default = rule.get("ApplyServerSideEncryptionByDefault")
        if default:
            converted["ServerSideEncryptionByDefault"] = dict(default)
        if "BucketKeyEnabled" in rule:
            converted["BucketKeyEnabled"] = bool(rule["BucketKeyEnabled"])
        blocked = (rule.get("BlockedEncryptionTypes") or {}).get("EncryptionType")
        if blocked:
            converted["BlockedEncryptionTypes"] = {"EncryptionType": list(blocked)}
        rules.append(converted)
    return {"ServerSideEncryptionConfiguration": rules}
