"""The ``[policies.s3-public-access]`` section: which buckets may stay public."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.settings_checks import MODES, TAG_KEY_RE, Checker

# General purpose bucket names: 3-63 characters, lowercase letters, digits, dots and hyphens, beginning and
# ending with a letter or digit (S3 user guide, "General purpose bucket naming rules").
BUCKET_NAME_RE = re.compile(r"^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PUBLIC_TAG_VALUE = "true"


@dataclass(frozen=True)
class S3PublicAccess:
    mode: str = "enforce"
    public_buckets: tuple[str, ...] = ()  # bucket names that may stay public (static sites)
    public_tag: str = "orgguard:public"  # a bucket with this tag set to "true" may stay public; "" turns it off


def parse(raw: dict[str, Any], c: Checker, key: str) -> S3PublicAccess:
    c.unknown(raw, key, set(S3PublicAccess.__dataclass_fields__))
    return S3PublicAccess(
        mode=c.string(raw, key, "mode", "enforce", choices=MODES),
        public_buckets=tuple(sorted(set(c.strings(
            raw, key, "public_buckets", [], BUCKET_NAME_RE,
            "must be S3 bucket names (3-63 lowercase letters, digits, dots and hyphens)")))),
        public_tag=c.string(raw, key, "public_tag", S3PublicAccess.public_tag, TAG_KEY_RE,
                            "must be a tag key, or empty to turn the tag off"),
    )
