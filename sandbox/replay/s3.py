"""The bucket a replayed S3 call left: its region, tags and default encryption.

- CreateBucket: the bucket with the tags of ``CreateBucketConfiguration.Tags`` (S3's XML rendered by
  CloudTrail: ``{"Tag": {...}}`` for one tag, ``{"Tag": [...]}`` for several) and the default
  encryption S3 gave a new bucket on that day;
- PutBucketEncryption: the request's configuration (``Rule`` is an object for one rule, a list for several);
- DeleteBucketEncryption: what S3 resets to on that day.

The embedded AWS gives a new bucket S3's default of today (SSE-S3, SSE-C blocked: ``sandbox/aws/s3_defaults.py``);
replay gives the bucket the default of the event's day instead: none before 5 January 2023 (no API call can take
S3's default away since, so it is removed in the embedded AWS's state), SSE-S3 allowing SSE-C until April 2026.
"""

from __future__ import annotations

import copy
from typing import Any

from handlers.events import ApiCallEvent
from handlers.settings import Settings
from sandbox.aws.s3_defaults import SSE_C_BLOCKED_SINCE, set_default_encryption
from sandbox.replay.shapes import Seeded, event_date, flag, items, mapping, tag_pairs, text


def encryption_configuration(request: dict[str, Any]) -> dict[str, Any] | None:
    """The boto3 ``ServerSideEncryptionConfiguration`` of a PutBucketEncryption's ``requestParameters``."""
    rules = []
    for rule in _rules(request):
        default = mapping(rule.get("ApplyServerSideEncryptionByDefault"))
        algorithm = text(default.get("SSEAlgorithm"))
        if not algorithm:
            continue
        by_default = {"SSEAlgorithm": algorithm}
        key = text(default.get("KMSMasterKeyID"))
        if key:
            by_default["KMSMasterKeyID"] = key
        converted: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": by_default}
        if "BucketKeyEnabled" in rule:
            converted["BucketKeyEnabled"] = flag(rule["BucketKeyEnabled"])
        blocked = mapping(rule.get("BlockedEncryptionTypes")).get("EncryptionType")
        blocked = [blocked] if isinstance(blocked, str) else blocked
        if isinstance(blocked, list) and blocked:
            converted["BlockedEncryptionTypes"] = {"EncryptionType": [text(t) for t in blocked if text(t)]}
        rules.append(converted)
    return {"Rules": rules} if rules else None


def _rules(request: dict[str, Any]) -> list[dict[str, Any]]:
    raw = mapping(request.get("ServerSideEncryptionConfiguration"))
    return [r for r in items(raw.get("Rule", raw.get("Rules"))) if isinstance(r, dict)]


def _configuration_notes(request: dict[str, Any]) -> list[str]:
    """What of the request's configuration the embedded AWS does not have."""
    notes = []
    for rule in _rules(request):
        key = text(mapping(rule.get("ApplyServerSideEncryptionByDefault")).get("KMSMasterKeyID"))
        if key:
            notes.append(f"KMS key {key} is not created in the embedded account (S3 does not check the key "
                         "on PutBucketEncryption; a key that does not exist or is not usable breaks uploads)")
    return notes


def creation_tags(request: dict[str, Any], notes: list[str]) -> list[dict[str, str]]:
    """``CreateBucketConfiguration.Tags`` as a boto3 ``TagSet``; ``aws:`` tags cannot be set by a caller."""
    tags = tag_pairs(mapping(request.get("CreateBucketConfiguration")).get("Tags"))
    reserved = sorted(k for k in tags if k.lower().startswith("aws:"))
    if reserved:
        notes.append(f"bucket tags with the reserved aws: prefix not seeded: {', '.join(reserved)}")
    return [{"Key": k, "Value": v} for k, v in tags.items() if not k.lower().startswith("aws:")]


def _default_encryption(bucket: str, detail: dict[str, Any], event_name: str) -> list[str]:
    """The default S3 gave a new bucket on the event's day, and what a delete reset it to that day."""
    when = event_date(detail)
    rule = set_default_encryption(bucket, when)
    if rule is None:
        return [f"bucket {bucket} seeded without default encryption, as S3 left it before 5 January 2023"]
    if "BlockedEncryptionTypes" not in rule:
        if when is not None and when < SSE_C_BLOCKED_SINCE:
            return [f"bucket {bucket} seeded with SSE-S3 (AES256) allowing SSE-C uploads, the default S3 gave "
                    "from 5 January 2023 until April 2026"]
        return [f"bucket {bucket} seeded with SSE-S3 (AES256) allowing SSE-C uploads, S3's default in its region"]
    unreadable = " (eventTime is unreadable: as S3 does today)" if when is None else ""
    notes = [f"bucket {bucket} seeded with SSE-S3 (AES256), SSE-C uploads blocked, S3's default since April "
             f"2026{unreadable}"]
    if event_name == "DeleteBucketEncryption":
        notes.append("what DeleteBucketEncryption resets BlockedEncryptionTypes to is not documented: the embedded "
                     "AWS blocks SSE-C, as on a new bucket")
    return notes


def seed_bucket(s3: Any, detail: dict[str, Any], event_name: str, region: str) -> list[str]:
    name = mapping(detail.get("requestParameters")).get("bucketName")
    names = [name] if isinstance(name, str) and name else []
    if not names:
        return ["the event names no bucket: nothing seeded"]
    bucket = names[0]
    request = mapping(detail.get("requestParameters"))
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    notes: list[str] = []
    if event_name == "CreateBucket":
        tags = creation_tags(request, notes)
        if tags:
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
            notes.append(f"bucket {bucket} seeded with the request's tags ({', '.join(t['Key'] for t in tags)})")
    else:
        notes.append(f"the event does not show bucket {bucket}'s tags (an orgguard:exempt tag would exempt "
                     "it): seeded without tags")
    if event_name != "PutBucketEncryption":
        return notes + _default_encryption(bucket, detail, event_name)
    configuration = encryption_configuration(request)
    if configuration is None:
        return [*notes, "the request carries no ServerSideEncryptionConfiguration: its bucket keeps S3's default",
                *_default_encryption(bucket, detail, event_name)]
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=configuration)
    return [*notes, f"bucket {bucket} seeded with the request's encryption configuration",
            *_configuration_notes(request)]


def seed_event(session: Any, event: ApiCallEvent, settings: Settings) -> Seeded:
    """The replay seeder of s3-encryption (``Guardrail.replay``): the bucket the call left."""
    s3 = session.client("s3", region_name=event.region)
    return Seeded(copy.deepcopy(event.detail), seed_bucket(s3, event.detail, event.event_name, event.region))
