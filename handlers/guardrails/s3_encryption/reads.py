"""The live state of a bucket, read with the fewest calls: its default encryption, its region, its tags."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from handlers.exemptions import tags_to_dict
from handlers.guardrails.s3_encryption.standard import Encryption, parse_configuration

NO_CONFIG = "ServerSideEncryptionConfigurationNotFoundError"
GONE_CODES = ("NoSuchBucket",)
HEAD_GONE_CODES = ("NoSuchBucket", "NotFound", "404")  # HeadBucket has no body: the code is the HTTP status
REGION_HEADER = "x-amz-bucket-region"


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
