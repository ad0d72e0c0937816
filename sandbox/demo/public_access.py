"""The demo's s3-public-access stories: a bucket made public is closed again; a static site's public policy is
reported, never rewritten. Their acts, the baseline they start from, and the checks of the end state."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from handlers.guardrails.s3_public_access.access_block import FLAGS
from sandbox.demo.stories import Act, Check, StateCheck, bucket_call

NO_CONFIGURATION = "NoSuchPublicAccessBlockConfiguration"


def meet_encryption_standard(s3: Any, bucket: str, kms_key: str) -> None:
    """These stories are about public access: their buckets already meet the encryption standard (unwatched)."""
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key},
            "BucketKeyEnabled": True, "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})


def open_static_site(s3: Any, bucket: str) -> None:
    """The baseline of a static website: its owners turned Block Public Access off long ago (unwatched)."""
    s3.delete_public_access_block(Bucket=bucket)


def delete_public_access_block(bucket: str) -> Act:
    return bucket_call("delete_public_access_block", bucket)


def public_read_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def put_public_policy(bucket: str) -> Act:
    return bucket_call("put_bucket_policy", bucket, Policy=public_read_policy(bucket))


def _flags(s3: Any, bucket: str) -> dict[str, bool]:
    try:
        return dict(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == NO_CONFIGURATION:
            return {}
        raise


def bucket_blocks_public_access() -> Check:
    def check(session: boto3.Session, bucket: str) -> StateCheck:
        flags = _flags(session.client("s3"), bucket)
        off = [f for f in FLAGS if not flags.get(f)]
        if off:
            return StateCheck(False, f"{bucket}: Block Public Access still off for {', '.join(off)}")
        return StateCheck(True, f"{bucket}: all four Block Public Access flags on again")
    return check


def public_policy_left_as_written() -> Check:
    def check(session: boto3.Session, bucket: str) -> StateCheck:
        s3 = session.client("s3")
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        public = s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"]
        ok = policy == json.loads(public_read_policy(bucket)) and public and not _flags(s3, bucket)
        if ok:
            return StateCheck(True, f"{bucket}: its public policy left as written (the site stays public)")
        return StateCheck(False, f"{bucket}: policy or Block Public Access changed (public: {public})")
    return check
