"""The live state of a bucket's exposure, read with the fewest calls: its Block Public Access flags, and
whether its bucket policy is public."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from handlers.guardrails.s3_public_access.access_block import AccessBlock

NO_CONFIG = "NoSuchPublicAccessBlockConfiguration"  # no configuration: all four flags off
NO_POLICY = "NoSuchBucketPolicy"
GONE_CODES = ("NoSuchBucket",)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def read_access_block(s3: Any, bucket: str) -> AccessBlock | None:
    """The bucket's flags; None when the bucket is gone."""
    try:
        response = s3.get_public_access_block(Bucket=bucket)
    except ClientError as error:
        if _code(error) == NO_CONFIG:
            return AccessBlock()
        if _code(error) in GONE_CODES:
            return None
        raise
    return AccessBlock.parse(response.get("PublicAccessBlockConfiguration"))


def read_policy_public(s3: Any, bucket: str) -> bool | None:
    """Whether S3 judges the bucket policy public (False without a policy); None when the bucket is gone."""
    try:
        return bool(s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"].get("IsPublic", False))
    except ClientError as error:
        if _code(error) == NO_POLICY:
            return False
        if _code(error) in GONE_CODES:
            return None
        raise
