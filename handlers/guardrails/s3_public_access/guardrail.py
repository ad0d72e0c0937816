"""s3-public-access as a guardrail: reacts to bucket creation, Block Public Access and bucket policy changes,
sweeps every bucket, and turns the missing flags on with one PutPublicAccessBlock (``access_block.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from handlers import outcome as oc
from handlers.drift import LOGICAL_ID_TAG, IacFix, public_access_block_snippet
from handlers.guardrails.base import Finding, Permission, Subject, SweepScope, console_domain
from handlers.guardrails.s3_buckets import BucketGuardrail
from handlers.guardrails.s3_encryption.reads import read_tags
from handlers.guardrails.s3_public_access.access_block import AccessBlock, desired_configuration, public_allowance
from handlers.guardrails.s3_public_access.reads import read_access_block, read_policy_public
from handlers.guardrails.s3_public_access.settings import S3PublicAccess, parse
from handlers.outcome import Action

if TYPE_CHECKING:
    from handlers.context import PolicyContext
    from handlers.events import ApiCallEvent
    from handlers.settings_checks import Checker

STACK_TAG = "aws:cloudformation:stack-name"
POLICY_EVENT = "PutBucketPolicy"
TAGS_FALLBACK = "tags were read per bucket with Block Public Access off instead"

_S3_BUCKET = "arn:${AWS::Partition}:s3:::*"


@dataclass(frozen=True)
class Exposure:
    """What decides: the flags; the tags and the policy's status only when a flag is off (else None)."""

    block: AccessBlock
    tags: dict[str, str] | None = None
    policy_public: bool | None = None  # read after a PutBucketPolicy only


class S3PublicAccessGuardrail(BucketGuardrail):
    id = "s3-public-access"
    title = "S3 Block Public Access"
    severity = "high"
    event_names = ("CreateBucket", "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock", POLICY_EVENT)
    settings_type = S3PublicAccess
    replay = "sandbox.replay.s3_public_access:seed_event"
    sweepable = True
    tags_fallback = TAGS_FALLBACK
    reasons: ClassVar[dict[str, str]] = {
        "remediated": "OrgGuard turned S3 Block Public Access back on for {noun}.",
        "reported": "{noun} may be public; OrgGuard changed nothing."}
    next_steps: ClassVar[dict[str, str]] = {
        "reported": "Turn the bucket's four Block Public Access flags on, or review its bucket policy (OrgGuard "
                    "never rewrites one). A static website may stay public: list it in public_buckets of "
                    "[policies.s3-public-access], or tag it orgguard:public = true."}
    permissions = (
        Permission("s3:GetBucketPublicAccessBlock", (_S3_BUCKET,)),
        Permission("s3:PutBucketPublicAccessBlock", (_S3_BUCKET,)),
        Permission("s3:GetBucketPolicyStatus", (_S3_BUCKET,),
                   why="after a PutBucketPolicy: is the new policy public (it is reported, never rewritten)"),
        Permission("s3:GetBucketTagging", (_S3_BUCKET,)),
        Permission("s3:ListAllMyBuckets", ("*",), scopable=False,
                   why="ListBuckets (used by the sweep) has no resource-level permissions"),
        Permission("tag:GetResources", ("*",), scopable=False,
                   why="the sweep reads every bucket's tags (exemptions, public tag) in one paged call per "
                       "account and region; GetResources has no resource-level permissions"),
    )
    example = """# enforce (fix and notify) | report (notify only) | off (ignore the events).
# The standard: the four bucket-level Block Public Access flags on (BlockPublicAcls, IgnorePublicAcls,
# BlockPublicPolicy, RestrictPublicBuckets), as S3 sets them on new buckets since April 2023. A fix turns the
# missing flags on; a bucket policy is never rewritten (a public one is reported).
mode = "enforce"
# Buckets that may stay public (static websites), by name, for example ["www-example-com"].
public_buckets = []
# A bucket with this tag set to "true" may stay public. "" turns the tag off.
public_tag = "orgguard:public"

"""

    def parse_settings(self, raw: dict[str, Any], checker: Checker, key: str) -> S3PublicAccess:
        return parse(raw, checker, key)

    def read(self, ctx: PolicyContext, resource_ids: list[str], known: dict[str, Any] | None = None,
             event: ApiCallEvent | None = None) -> dict[str, Any]:
        bucket = resource_ids[0]
        s3 = ctx.client("s3")
        block = read_access_block(s3, bucket)
        if block is None or block.complete:
            return {bucket: None if block is None else Exposure(block)}
        listed = (known or {}).get(bucket)
        tags = listed if isinstance(listed, dict) else read_tags(s3, bucket)
        policy_public = None
        if tags is not None and event is not None and event.event_name == POLICY_EVENT:
            policy_public = read_policy_public(s3, bucket)
            if policy_public is None:
                tags = None
        return {bucket: None if tags is None else Exposure(block, tags, policy_public)}

    def evaluate(self, resource: str, state: Any, subject: Subject) -> Finding:
        if state is None:
            return Finding(resource, oc.GONE, "the bucket no longer exists", notify=False)
        block, tags = state.block, state.tags
        before: dict[str, Any] = block.to_dict()
        if state.policy_public is not None:
            before["PolicyIsPublic"] = state.policy_public
        if block.complete or tags is None:
            return Finding(resource, oc.COMPLIANT, f"meets the standard: {block.describe()}", before, before)
        stack = tags.get(STACK_TAG, "")
        exempt = subject.exemption(tags)
        if exempt:
            return Finding(resource, oc.EXEMPT, f"exempt ({exempt}); {block.describe()} left so", before, before,
                           stack_name=stack, notify=False)
        allowed = public_allowance(resource, tags, subject.standard)
        if allowed:
            if state.policy_public:
                return Finding(resource, oc.REPORTED, f"may stay public ({allowed}); its new bucket policy is "
                               f"public (not changed); {block.describe()}", before, before, stack_name=stack)
            return Finding(resource, oc.COMPLIANT, f"may stay public ({allowed}); {block.describe()}", before,
                           before, stack_name=stack)
        target = desired_configuration(block)
        action = Action("s3:PutPublicAccessBlock", {"Bucket": resource, "PublicAccessBlockConfiguration": target})
        policy_note = "; its bucket policy is public (not rewritten)" if state.policy_public else ""
        logical_id = tags.get(LOGICAL_ID_TAG, "")
        if not subject.enforcing:
            return Finding(resource, oc.REPORTED, f"{block.describe()}{policy_note} (report mode: not changed)",
                           before, before, [action], stack_name=stack, logical_id=logical_id)
        after = {**before, **target}
        return Finding(resource, oc.REMEDIATED, f"turned on {', '.join(block.off)}{policy_note}", before, after,
                       [action], stack_name=stack, logical_id=logical_id)

    def iac_fix(self, finding: Finding, standard: Any) -> IacFix | None:
        """``PublicAccessBlockConfiguration`` with the four flags on: what the fix put."""
        return public_access_block_snippet() if finding.done or finding.planned else None

    def list_resources(self, scope: SweepScope) -> dict[str, Any]:
        return dict(self.listed_buckets(scope))

    def console_link(self, resource: str, region: str) -> str:
        return f"https://s3.{console_domain(region)}/s3/buckets/{resource}?region={region}&tab=permissions"


GUARDRAIL = S3PublicAccessGuardrail()
