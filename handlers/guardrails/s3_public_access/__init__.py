"""s3-public-access: keep S3 Block Public Access on at bucket level.

The standard is all four bucket-level Block Public Access flags on (BlockPublicAcls, IgnorePublicAcls,
BlockPublicPolicy, RestrictPublicBuckets), as S3 sets them on every new bucket since April 2023. A bucket the
settings name (``public_buckets``) or tag (``public_tag`` = "true") may stay public (static sites); the
``orgguard:exempt`` tag and exempt accounts work as for every guardrail.

A fix is one PutPublicAccessBlock that keeps the flags already on and turns on the missing ones. A bucket
policy is never rewritten: after a PutBucketPolicy OrgGuard asks S3 whether the policy is public
(GetBucketPolicyStatus) and says so; the missing flags are fixed as for any other event (RestrictPublicBuckets
then keeps the public policy from granting anyone outside the account).

Minimum calls per event: GetPublicAccessBlock; only when a flag is off, GetBucketTagging (exemption and public
tags) and, for a PutBucketPolicy, GetBucketPolicyStatus; PutPublicAccessBlock when fixing.
"""
