"""S3 Block Public Access as S3 applies it, where moto 5.2.5 does neither of these:

- Since April 2023 S3 turns on all four bucket-level Block Public Access flags of every new general purpose
  bucket (BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets; "Default settings for
  new S3 buckets FAQ"); moto gives a new bucket no configuration (GetPublicAccessBlock:
  NoSuchPublicAccessBlockConfiguration, i.e. all flags off). The rollout finished on 27 April 2023 (AWS
  What's New of that day); replay gives a bucket of an earlier event no configuration.
- With BlockPublicPolicy on, S3 refuses a PutBucketPolicy whose policy is public with 403 AccessDenied
  (API reference, PublicAccessBlockConfiguration); moto stores it. Whether a policy is public is moto's own
  judgement (``bucket_policy_is_public``: an Allow to ``*`` without a Condition), which its
  GetBucketPolicyStatus answers too; AWS's list of conditions that still count as public is not emulated.

``S3DefaultPublicAccess`` is the gateway part; ``Strictness(s3_default_public_access=False)`` leaves it out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date

from sandbox.aws.gateway import Response
from sandbox.aws.iam.errors import error
from sandbox.aws.s3_defaults import _bucket
from sandbox.aws.wire import AwsCall

BPA_DEFAULT_SINCE = date(2023, 4, 27)  # every new bucket has all four flags on


def set_default_public_access(bucket: str, on: date | None = None) -> bool:
    """Give ``bucket`` S3's Block Public Access of a bucket created on day ``on`` (None: today): all four flags
    since April 2023, no configuration before; returns whether the flags are on. ``LookupError``: no bucket."""
    from moto.s3.models import PublicAccessBlock

    found = _bucket(bucket)
    if found is None:
        raise LookupError(f"the embedded AWS has no bucket {bucket}")
    default = on is None or on >= BPA_DEFAULT_SINCE
    found.public_access_block = PublicAccessBlock("true", "true", "true", "true") if default else None
    return default


def _refuses_policy(call: AwsCall) -> bool:
    from moto.s3.utils import bucket_policy_is_public

    found = _bucket(str(call.params.get("Bucket", "")))
    block = getattr(found, "public_access_block", None) if found is not None else None
    return bool(block is not None and block.block_public_policy and bucket_policy_is_public(call.body))


@dataclass
class S3DefaultPublicAccess:
    """The gateway part: the flags of a new bucket, and the refusal of a public policy BlockPublicPolicy blocks."""

    name = "s3-default-public-access"
    _new: dict[int, tuple[AwsCall, bool]] = field(default_factory=dict)  # CreateBucket in flight -> bucket is new
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before(self, call: AwsCall) -> Response | None:
        if call.name == "s3:PutBucketPolicy" and _refuses_policy(call):
            return error(call, 403, "AccessDenied", "User is not authorized to perform: s3:PutBucketPolicy on "
                         "resource because public policies are blocked by the BlockPublicPolicy block public "
                         "access setting.")
        if call.name == "s3:CreateBucket":
            new = _bucket(str(call.params.get("Bucket", ""))) is None
            with self._lock:
                self._new[id(call)] = (call, new)
        return None

    def after(self, call: AwsCall, response: Response) -> Response:
        if call.name != "s3:CreateBucket":
            return response
        with self._lock:
            held, new = self._new.pop(id(call), (None, False))
        bucket = str(call.params.get("Bucket", ""))
        if response.status < 300 and new and held is call and _bucket(bucket) is not None:
            set_default_public_access(bucket)
        return response
