"""S3's default encryption, as S3 gives it today, where moto gives a bucket none.

What AWS does (S3 user guide and API reference; botocore's s3 model):

- Since 5 January 2023 S3 applies SSE-S3 (``AES256``) to every general purpose bucket: GetBucketEncryption of a new
  bucket answers that rule (``BucketKeyEnabled`` false), never ServerSideEncryptionConfigurationNotFoundError
  ("Setting default server-side encryption behavior for Amazon S3 buckets").
- DeleteBucketEncryption "resets the default encryption for the bucket as server-side encryption with Amazon S3
  managed keys (SSE-S3)" (API reference, DeleteBucketEncryption; the same text in botocore's model).
- Since April 2026 new general purpose buckets block SSE-C uploads: the rule carries
  ``BlockedEncryptionTypes`` = ``{"EncryptionType": ["SSE-C"]}`` (botocore: ``ServerSideEncryptionRule`` member
  ``BlockedEncryptionTypes``, a structure whose ``EncryptionType`` is a flattened list of ``NONE`` | ``SSE-C``).
  The rollout started on 6 April 2026 and took a few weeks; in Middle East (Bahrain) and Middle East (UAE) new
  buckets still allow SSE-C ("Default SSE-C setting for new buckets FAQ"; "Blocking or unblocking SSE-C for a
  general purpose bucket").

What DeleteBucketEncryption resets ``BlockedEncryptionTypes`` to is not written down anywhere we found (the API
reference, the two user guide pages above, the storage blog's advance notice of November 2025, botocore's model,
Terraform's and the CDK's notes on the change). What is written: the ``BlockedEncryptionTypes`` data type is
documented as "used with" PutBucketEncryption, GetBucketEncryption *and DeleteBucketEncryption* (so a delete, which
has no body, can only reset it, not keep it); the delete "resets the default encryption" to S3's default; S3's
default for a new bucket now includes the block, and AWS's own advice to see the new default is to create a bucket
and call GetBucketEncryption; a workload that needs SSE-C "must deliberately enable" it with PutBucketEncryption.
So here a delete resets the whole rule to what S3 gives a new bucket in that region today: SSE-S3 with SSE-C
blocked (allowed in Bahrain and the UAE). That is a reading of the documentation, not a documented fact: a bucket
of an account that kept SSE-C in April 2026 might reset to "allowed". OrgGuard does not depend on the choice: it
reads the live rule after every change and its fix always sends ``BlockedEncryptionTypes``.

``S3DefaultEncryption`` is the gateway part: after moto created a bucket (only a new one: a repeated CreateBucket
in us-east-1 answers 200 and changes nothing) or deleted its configuration, it writes that rule into moto's
in-process state, in the form moto stores a PutBucketEncryption (``sandbox/aws/moto_s3.py`` returns it as stored).
``Strictness(s3_default_encryption=False)`` leaves it out: buckets then have no configuration, as in an account
whose buckets predate 2023. Buckets moto's CloudFormation creates do not pass the gateway (no sandbox template
creates one). ``set_default_encryption`` gives a bucket S3's default of another day (replay seeds old buckets).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sandbox.aws.gateway import Response
from sandbox.aws.wire import AwsCall

SSE_S3_DEFAULT_SINCE = date(2023, 1, 5)  # every bucket has SSE-S3; DeleteBucketEncryption resets to it
SSE_C_BLOCKED_SINCE = date(2026, 4, 6)  # new buckets block SSE-C (the rollout's first day; it took weeks)
SSE_C_ALLOWED_REGIONS = ("me-south-1", "me-central-1")  # Middle East (Bahrain), Middle East (UAE)


def blocks_sse_c(region: str, on: date | None = None) -> bool:
    """Does S3 block SSE-C on a bucket it creates in ``region`` on day ``on`` (None: today)?"""
    return (on is None or on >= SSE_C_BLOCKED_SINCE) and region not in SSE_C_ALLOWED_REGIONS


def default_rule(region: str, on: date | None = None) -> dict[str, Any] | None:
    """S3's default ``ServerSideEncryptionRule`` for a bucket in ``region`` on day ``on`` (None: today), in boto3's
    shape; None before 2023, when a bucket had no default encryption."""
    if on is not None and on < SSE_S3_DEFAULT_SINCE:
        return None
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                            "BucketKeyEnabled": False}
    if blocks_sse_c(region, on):
        rule["BlockedEncryptionTypes"] = {"EncryptionType": ["SSE-C"]}
    return rule


def _stored(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as moto stores a PutBucketEncryption: the request's XML parsed by xmltodict (text values)."""
    stored: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": dict(rule["ApplyServerSideEncryptionByDefault"]),
                              "BucketKeyEnabled": "true" if rule.get("BucketKeyEnabled") else "false"}
    types = (rule.get("BlockedEncryptionTypes") or {}).get("EncryptionType") or []
    if types:
        stored["BlockedEncryptionTypes"] = {"EncryptionType": types[0] if len(types) == 1 else list(types)}
    return {"Rule": stored}


def _bucket(name: str) -> Any:
    """moto's bucket of that name in whichever account owns it (None when there is none)."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    if not owner:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


def set_default_encryption(bucket: str, on: date | None = None) -> dict[str, Any] | None:
    """Give ``bucket`` S3's default rule of day ``on`` (None: today), or no configuration before 2023; returns the
    rule given (boto3's shape). ``LookupError`` when the embedded AWS has no such bucket."""
    found = _bucket(bucket)
    if found is None:
        raise LookupError(f"the embedded AWS has no bucket {bucket}")
    rule = default_rule(str(found.region_name), on)
    found.encryption = _stored(rule) if rule is not None else None
    return rule


@dataclass
class S3DefaultEncryption:
    """The gateway part: S3's default rule on a new bucket and after DeleteBucketEncryption."""

    name = "s3-default-encryption"
    _new: dict[int, tuple[AwsCall, bool]] = field(default_factory=dict)  # CreateBucket in flight -> bucket is new
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before(self, call: AwsCall) -> Response | None:
        if call.name == "s3:CreateBucket":
            new = _bucket(str(call.params.get("Bucket", ""))) is None
            with self._lock:
                self._new[id(call)] = (call, new)  # the call is held, so its id is not reused meanwhile
        return None

    def after(self, call: AwsCall, response: Response) -> Response:
        new = False
        if call.name == "s3:CreateBucket":
            with self._lock:
                held, new = self._new.pop(id(call), (None, False))
            new = new and held is call
        if response.status >= 300 or not (new or call.name == "s3:DeleteBucketEncryption"):
            return response
        bucket = str(call.params.get("Bucket", ""))
        if _bucket(bucket) is not None:
            set_default_encryption(bucket)
        return response
