"""The buckets of an account-region and their tags, as the sweep lists them: one paged ``ListBuckets`` by
``BucketRegion`` and one paged ``tag:GetResources`` (shared by the S3 guardrails)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from handlers.errors import ACCESS_DENIED_CODES, error_code
from handlers.exemptions import tags_to_dict

LIST_BUCKETS_PAGE = 10_000  # a paged ListBuckets (the only kind AWS serves past 10,000 buckets)
TAGGING_PAGE = 100  # GetResources' maximum


def list_bucket_names(s3: Any, region: str) -> list[str]:
    names: list[str] = []
    pages = s3.get_paginator("list_buckets").paginate(BucketRegion=region,
                                                      PaginationConfig={"PageSize": LIST_BUCKETS_PAGE})
    for page in pages:
        names.extend(b["Name"] for b in page.get("Buckets", []) if b.get("BucketRegion", region) == region)
    return sorted(set(names))


def bucket_tags(tagging: Any) -> dict[str, dict[str, str]] | None:
    """Tags of every tagged bucket the tagging API knows in this region; None when it may not be asked."""
    found: dict[str, dict[str, str]] = {}
    try:
        pages = tagging.get_paginator("get_resources").paginate(ResourceTypeFilters=["s3:bucket"],
                                                                ResourcesPerPage=TAGGING_PAGE)
        for page in pages:
            for mapping in page.get("ResourceTagMappingList", []):
                name = str(mapping.get("ResourceARN", "")).rpartition(":")[2]
                if name:
                    found[name] = tags_to_dict(mapping.get("Tags"))
    except ClientError as error:
        if error_code(error) in ACCESS_DENIED_CODES:
            return None
        raise
    return found
