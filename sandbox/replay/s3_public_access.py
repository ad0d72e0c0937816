"""The bucket a replayed call left, as s3-public-access reads it: its Block Public Access flags and policy.

- CreateBucket: the flags S3 gave a new bucket on the event's day (all four on since April 2023, none before:
  ``sandbox/aws/s3_public_access.py``); the bucket itself and its tags come from s3-encryption's seeder, which
  runs first for the same event (``sandbox/replay/seed.py``);
- PutBucketPublicAccessBlock: the request's ``PublicAccessBlockConfiguration`` (CloudTrail keeps S3's XML
  namespace in it, and may render the flags as strings);
- DeleteBucketPublicAccessBlock: no configuration;
- PutBucketPolicy: the request's ``bucketPolicy``. The event does not show the flags before the call; the
  bucket keeps S3's default unless that refuses the policy (BlockPublicPolicy and a public policy): the call
  succeeded, so BlockPublicPolicy was off, and the bucket is seeded without a configuration.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from botocore.exceptions import ClientError

from handlers.events import ApiCallEvent
from handlers.guardrails.s3_public_access.access_block import FLAGS
from handlers.settings import Settings
from sandbox.aws.s3_public_access import set_default_public_access
from sandbox.replay.shapes import Seeded, event_date, flag, mapping, text

OWNED = ("BucketAlreadyOwnedByYou",)


def ensure_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create the bucket unless an earlier seeder of the same event did; True when this call created it."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError:
        pass
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**create)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "") not in OWNED:
            raise
        return False
    return True


def access_block_configuration(request: dict[str, Any]) -> dict[str, bool]:
    """The boto3 ``PublicAccessBlockConfiguration`` of a PutBucketPublicAccessBlock's ``requestParameters``."""
    raw = mapping(request.get("PublicAccessBlockConfiguration"))
    return {name: flag(raw.get(name, False)) for name in FLAGS}


def _policy(s3: Any, bucket: str, request: dict[str, Any]) -> list[str]:
    policy = request.get("bucketPolicy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return ["the request's bucketPolicy is not JSON: no policy seeded"]
    if not isinstance(policy, dict):
        return ["the request carries no bucketPolicy: no policy seeded"]
    try:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        return [f"bucket {bucket} seeded with the request's policy; its Block Public Access flags are not in the "
                "event: seeded as S3 gives a new bucket"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "") != "AccessDenied":
            raise
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return [f"bucket {bucket} seeded with the request's public policy and no Block Public Access configuration "
            "(BlockPublicPolicy would have refused the call, which succeeded)"]


def seed_bucket(s3: Any, event: ApiCallEvent) -> list[str]:
    request = mapping(event.detail.get("requestParameters"))
    bucket = text(request.get("bucketName"))
    if not bucket:
        return ["the event names no bucket: nothing seeded"]
    created = ensure_bucket(s3, bucket, event.region)
    notes = [] if not created else [f"the event does not show bucket {bucket}'s tags (an orgguard:exempt or "
                                    "public tag would change the decision): seeded without tags"]
    name = event.event_name
    if name == "CreateBucket":
        on = set_default_public_access(bucket, event_date(event.detail))
        given = ("all four Block Public Access flags on, S3's default since April 2023" if on else
                 "no Block Public Access, as S3 created buckets before April 2023")
        return [*notes, f"bucket {bucket} seeded with {given}"]
    if name == "PutBucketPublicAccessBlock":
        if not isinstance(request.get("PublicAccessBlockConfiguration"), dict):
            return [*notes, "the request carries no PublicAccessBlockConfiguration: the bucket keeps S3's default"]
        configuration = access_block_configuration(request)
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=configuration)
        flags_on = [k for k, v in configuration.items() if v]
        return [*notes, f"bucket {bucket} seeded with the request's flags ({', '.join(flags_on) or 'none'} on)"]
    if name == "DeleteBucketPublicAccessBlock":
        s3.delete_public_access_block(Bucket=bucket)
        return [*notes, f"bucket {bucket} seeded without a Block Public Access configuration"]
    return notes + _policy(s3, bucket, request)


def seed_event(session: Any, event: ApiCallEvent, settings: Settings) -> Seeded:
    """The replay seeder of s3-public-access (``Guardrail.replay``): the bucket's flags and policy."""
    s3 = session.client("s3", region_name=event.region)
    return Seeded(copy.deepcopy(event.detail), seed_bucket(s3, event))
