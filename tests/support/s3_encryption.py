"""The s3-encryption handler tests' standard (KMS with a bucket key, SSE-C blocked) and the real
CloudTrail records that create a bucket or change its encryption."""

from __future__ import annotations

BLOCK_SSE_C = {"EncryptionType": ["SSE-C"]}
KMS_STANDARD = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True,
                 "BlockedEncryptionTypes": BLOCK_SSE_C}]
SAMPLES = [
    "records/ctwatcher__CreateBucket__1.json",
    "records/panther__PutBucketEncryption__1.json",
    "records/panther__DeleteBucketEncryption__1.json",
    "wrapped/custodian__CreateBucket__2.json",
]
