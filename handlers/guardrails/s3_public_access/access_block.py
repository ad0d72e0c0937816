"""The Block Public Access standard (pure): a bucket's four flags, whether it may stay public, and the
configuration that turns the missing flags on while keeping those already on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.guardrails.s3_public_access.settings import PUBLIC_TAG_VALUE, S3PublicAccess

FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass(frozen=True)
class AccessBlock:
    """The bucket-level flags; a bucket without a configuration has all four off."""

    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    @classmethod
    def parse(cls, configuration: dict[str, Any] | None) -> AccessBlock:
        found = configuration or {}
        return cls(*(bool(found.get(flag, False)) for flag in FLAGS))

    def to_dict(self) -> dict[str, bool]:
        return dict(zip(FLAGS, (self.block_public_acls, self.ignore_public_acls, self.block_public_policy,
                                self.restrict_public_buckets), strict=True))

    @property
    def off(self) -> tuple[str, ...]:
        return tuple(flag for flag, on in self.to_dict().items() if not on)

    @property
    def complete(self) -> bool:
        return not self.off

    def describe(self) -> str:
        if self.complete:
            return "all four Block Public Access flags on"
        if len(self.off) == len(FLAGS):
            return "Block Public Access off (no flag on)"
        return f"Block Public Access incomplete: {', '.join(self.off)} off"


def desired_configuration(current: AccessBlock) -> dict[str, bool]:
    """Pure: the PublicAccessBlockConfiguration to put: every flag on (those on stay on, the others are added)."""
    return {flag: True for flag in current.to_dict()}


def public_allowance(bucket: str, tags: dict[str, str], standard: S3PublicAccess) -> str:
    """Pure: why the bucket may stay public ('' when it may not): named in the settings, or tagged."""
    if bucket in standard.public_buckets:
        return "named in public_buckets"
    if standard.public_tag and tags.get(standard.public_tag, "").strip().lower() == PUBLIC_TAG_VALUE:
        return f"tagged {standard.public_tag}={PUBLIC_TAG_VALUE}"
    return ""
