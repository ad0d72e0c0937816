"""s3-encryption as a guardrail: reacts to bucket creation and encryption changes, sweeps every bucket, and
fixes a bucket's default encryption with one PutBucketEncryption (the standard is ``standard.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from handlers import outcome as oc
from handlers.drift import LOGICAL_ID_TAG, IacFix
from handlers.guardrails.base import Finding, Permission, Subject, SweepScope, console_domain
from handlers.guardrails.s3_buckets import BucketGuardrail
from handlers.guardrails.s3_encryption.reads import read_encryption, read_region, read_tags
from handlers.guardrails.s3_encryption.settings import S3Encryption, parse, warnings
from handlers.guardrails.s3_encryption.standard import (
    Encryption,
    bucket_encryption_property,
    compliant,
    desired_configuration,
    parse_configuration,
    tag_standard,
)
from handlers.outcome import Action

if TYPE_CHECKING:
    from handlers.context import PolicyContext
    from handlers.events import ApiCallEvent
    from handlers.settings import Organization
    from handlers.settings_checks import Checker

STACK_TAG = "aws:cloudformation:stack-name"
TAGS_FALLBACK = "tags were read per non-compliant bucket instead"

_S3_BUCKET = "arn:${AWS::Partition}:s3:::*"
_KMS_KEY = "arn:${AWS::Partition}:kms:*:*:key/*"  # an alias resolves to a key: IAM authorizes the key ARN


@dataclass(frozen=True)
class BucketHint:
    """What a listing knows of a bucket: its region, and its tags when the tagging API could be read."""

    region: str
    tags: dict[str, str] | None = None


@dataclass(frozen=True)
class BucketState:
    encryption: Encryption
    region: str
    tags: dict[str, str] | None  # None: not read, because the bucket meets the organization's standard


class S3EncryptionGuardrail(BucketGuardrail):
    id = "s3-encryption"
    tags_fallback = TAGS_FALLBACK
    reasons: ClassVar[dict[str, str]] = {
        "remediated": "OrgGuard fixed the default encryption of {noun}: it now meets the organization's standard.",
        "reported": "The default encryption of {noun} does not meet the organization's standard; OrgGuard "
                    "changed nothing (report mode)."}
    next_steps: ClassVar[dict[str, str]] = {
        "reported": "Set the bucket's default encryption to the standard (Standard, above), or let OrgGuard do it: "
                    "mode = \"enforce\" in [policies.s3-encryption]."}
    title = "S3 default encryption"
    severity = "high"
    event_names = ("CreateBucket", "PutBucketEncryption", "DeleteBucketEncryption")
    settings_type = S3Encryption
    replay = "sandbox.replay.s3:seed_event"
    sweepable = True
    permissions = (
        Permission("s3:GetEncryptionConfiguration", (_S3_BUCKET,)),
        Permission("s3:PutEncryptionConfiguration", (_S3_BUCKET,)),
        Permission("s3:GetBucketTagging", (_S3_BUCKET,)),
        Permission("s3:ListAllMyBuckets", ("*",), scopable=False,
                   why="ListBuckets (used by the sweep) has no resource-level permissions"),
        Permission("tag:GetResources", ("*",), scopable=False,
                   why="the sweep reads every bucket's tags (exemptions, stack name) in one paged call per "
                       "account and region; GetResources has no resource-level permissions"),
        Permission("kms:DescribeKey", (_KMS_KEY,),
                   why="onboarding's canary proves the standard's kms_key exists, is enabled and may be used "
                       "by the account (a key of another account is allowed by its key policy or not)"),
    )
    example = """# enforce (fix and notify) | report (notify only) | off (ignore the events).
mode = "enforce"
# The standard: "aws:kms" (SSE-KMS) or "AES256" (SSE-S3, the floor; a KMS bucket also meets it).
algorithm = "aws:kms"
# Optional KMS key ARN, key id or alias for aws:kms; may use {account} and {region} ({region} is the bucket's),
# for example "arn:aws:kms:{region}:{account}:alias/org-s3". An alias resolves in each bucket owner's account,
# so an alias ARN with a literal account is refused. Empty = any KMS key meets the standard: a bucket's own
# key is kept, and a bucket without one gets the AWS managed key aws/s3.
kms_key = ""
# S3 Bucket Keys for aws:kms (fewer KMS requests, lower cost).
bucket_key = true
# Upload encryption types every bucket must block: ["SSE-C"] (AWS's default for new buckets since April 2026)
# or [] (SSE-C uploads allowed; a bucket that blocks them is left so).
blocked_encryption_types = ["SSE-C"]
# A bucket tagged with this key and the value "AES256" is held to the AES256 floor instead (ELB access-log
# buckets cannot use SSE-KMS). "" turns the tag off.
standard_tag = "orgguard:s3-encryption"

"""

    def parse_settings(self, raw: dict[str, Any], checker: Checker, key: str) -> S3Encryption:
        return parse(raw, checker, key)

    def settings_warnings(self, section: Any, organization: Organization) -> list[str]:
        return warnings(section, organization.regions, f"policies.{self.id}")

    def read(self, ctx: PolicyContext, resource_ids: list[str], known: dict[str, Any] | None = None,
             event: ApiCallEvent | None = None) -> dict[str, Any]:
        bucket = resource_ids[0]
        hint = (known or {}).get(bucket)
        return {bucket: self._read_bucket(ctx, bucket, hint if isinstance(hint, BucketHint) else None)}

    def _read_bucket(self, ctx: PolicyContext, bucket: str, hint: BucketHint | None) -> BucketState | None:
        """GetBucketEncryption; HeadBucket only for a {region} key and no listed region; the tags only when the
        organization's standard is not met (exemptions, the standard tag, the stack name)."""
        s3, standard = ctx.client("s3"), ctx.settings.policies.section(self.id)
        current = read_encryption(s3, bucket)
        if current is None:
            return None
        region = hint.region if hint is not None else ctx.region
        if hint is None and standard.algorithm == "aws:kms" and standard.key_needs_region:
            found = read_region(s3, bucket)
            if found is None:
                return None
            region = found
        if compliant(current, standard, ctx.account, region):
            return BucketState(current, region, None)
        tags = hint.tags if hint is not None and hint.tags is not None else read_tags(s3, bucket)
        if tags is None:
            return None
        return BucketState(current, region, tags)

    def evaluate(self, resource: str, state: Any, subject: Subject) -> Finding:
        if state is None:
            return Finding(resource, oc.GONE, "the bucket no longer exists", notify=False)
        current, standard = state.encryption, subject.standard
        before = current.to_dict()
        if state.tags is None or compliant(current, standard, subject.account, state.region):
            return Finding(resource, oc.COMPLIANT, f"meets the standard: {current.describe()}", before, before,
                           stack_name=(state.tags or {}).get(STACK_TAG, ""))
        stack = state.tags.get(STACK_TAG, "")
        exempt = subject.exemption(state.tags)
        if exempt:
            return Finding(resource, oc.EXEMPT, f"exempt ({exempt}); encryption left as {current.describe()}",
                           before, before, stack_name=stack, notify=False)
        standard, tag_note = tag_standard(state.tags, standard)
        note = f" ({tag_note})" if tag_note else ""
        if compliant(current, standard, subject.account, state.region):
            return Finding(resource, oc.COMPLIANT, f"meets the standard{note}: {current.describe()}", before, before,
                           stack_name=stack)
        configuration = desired_configuration(standard, subject.account, state.region, current)
        target = parse_configuration({"ServerSideEncryptionConfiguration": configuration})
        action = Action("s3:PutBucketEncryption",
                        {"Bucket": resource, "ServerSideEncryptionConfiguration": configuration})
        logical_id = state.tags.get(LOGICAL_ID_TAG, "")
        if not subject.enforcing:
            return Finding(resource, oc.REPORTED, f"{current.describe()}; the standard{note} is {target.describe()} "
                           "(report mode: not changed)", before, before, [action], stack_name=stack,
                           logical_id=logical_id, details={"standard": target.to_dict(), "note": tag_note})
        return Finding(resource, oc.REMEDIATED, f"changed from {current.describe()} to {target.describe()}{note}",
                       before, target.to_dict(), [action], stack_name=stack, logical_id=logical_id,
                       details={"note": tag_note})

    def iac_fix(self, finding: Finding, standard: Any) -> IacFix | None:
        """``BucketEncryption`` with the configuration the fix put (the standard as applied to this bucket)."""
        sent = [a for a in finding.done or finding.planned if a.action == "s3:PutBucketEncryption"]
        if not sent:
            return None
        configuration = sent[-1].params.get("ServerSideEncryptionConfiguration") or {}
        return IacFix(self.resource_type, {"BucketEncryption": bucket_encryption_property(configuration)})

    def list_resources(self, scope: SweepScope) -> dict[str, Any]:
        # listed by BucketRegion: the bucket is in this region, so a {region} key needs no HeadBucket
        return {name: BucketHint(scope.region, tags) for name, tags in self.listed_buckets(scope).items()}

    def console_link(self, resource: str, region: str) -> str:
        return f"https://s3.{console_domain(region)}/s3/buckets/{resource}?region={region}&tab=properties"


GUARDRAIL = S3EncryptionGuardrail()
