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

