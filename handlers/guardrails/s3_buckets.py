"""What the S3 guardrails share: an event names its bucket, and the sweep lists the buckets of an account-region
with their tags (one paged ``ListBuckets`` by ``BucketRegion`` and one paged ``tag:GetResources``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.cloudtrail_fields import params
from handlers.errors import ACCESS_DENIED_CODES, error_code
from handlers.exemptions import tags_to_dict
from handlers.guardrails.base import Finding, Guardrail, SweepScope

LIST_BUCKETS_PAGE = 10_000  # a paged ListBuckets (the only kind AWS serves past 10,000 buckets)
TAGGING_PAGE = 100  # GetResources' maximum
BUCKET_GONE_CODES = ("NoSuchBucket",)

if TYPE_CHECKING:
    from handlers.context import PolicyContext


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


class BucketGuardrail(Guardrail):
    """A guardrail about S3 buckets (abstract: a guardrail derives from it)."""

    event_source = "s3.amazonaws.com"
    resource_type = "AWS::S3::Bucket"
    noun = "bucket"
    # What the sweep says when the tagging API may not be asked: the tags are then read per bucket, when needed.
    tags_fallback: ClassVar[str] = "tags were read per bucket, when needed, instead"

    def resource_ids(self, detail: dict[str, Any]) -> list[str]:
        name = params(detail).get("bucketName")
        return [name] if isinstance(name, str) and name else []

    def fix(self, findings: list[Finding], ctx: PolicyContext) -> list[Finding]:
        """One write per bucket; a bucket deleted meanwhile is gone, not a failure."""
        try:
            return super().fix(findings, ctx)
        except ClientError as error:
            if error_code(error) not in BUCKET_GONE_CODES:
                raise
            (finding,) = findings
            return [Finding(finding.resource, oc.GONE, "the bucket was deleted before it could be fixed",
                            finding.before, notify=False)]

    def listed_buckets(self, scope: SweepScope) -> dict[str, dict[str, str] | None]:
        """The region's buckets with their tags (None each when tag:GetResources is refused, which is noted)."""
        names = list_bucket_names(scope.client("s3"), scope.region)
        if not names:
            return {}
        known = bucket_tags(scope.client("resourcegroupstaggingapi"))
        if known is None:
            scope.notes.append("tag:GetResources is not allowed to OrgGuardRemediation (a spoke older than the "
                               f"sweep): {self.tags_fallback}")
            return {name: None for name in names}
        return {name: known.get(name, {}) for name in names}
