"""The policy registry: the one list that drives forwarding, hub rules, handlers and IAM permissions.

From ``POLICIES`` the spoke renders its forwarding pattern, the hub builds one rule and one Lambda per
policy, the remediation role gets exactly the union of the declared permissions, and the handlers route
events. Adding a guardrail means adding one entry here and one module under ``handlers/policies/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from handlers.cloudtrail_fields import items as _items
from handlers.cloudtrail_fields import params as _params
from handlers.cloudtrail_fields import response as _response

REMEDIATION_ROLE_NAME = "OrgGuardRemediation"
FORWARDER_ROLE_NAME = "OrgGuardForwarder"
FORWARD_RULE_NAME = "orgguard-forward"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
EXEMPT_TAG_ALL = "all"


@dataclass(frozen=True)
class Permission:
    """One IAM action the remediation role needs, with the narrowest resources the action supports.

    ``resources`` use CloudFormation ``Fn::Sub`` syntax (``${AWS::Partition}``, ``${AWS::AccountId}``).
    ``"*"`` is only allowed when the action has no resource-level permissions (``scopable=False``).
    """

    action: str
    resources: tuple[str, ...]
    scopable: bool = True
    why: str = ""


def vpc_ids(detail: dict[str, Any]) -> list[str]:
    vpc = _response(detail).get("vpc")
    vpc_id = vpc.get("vpcId") if isinstance(vpc, dict) else None
    return [vpc_id] if isinstance(vpc_id, str) and vpc_id else []


def bucket_names(detail: dict[str, Any]) -> list[str]:
    name = _params(detail).get("bucketName")
    return [name] if isinstance(name, str) and name else []


def instance_ids(detail: dict[str, Any]) -> list[str]:
    ids = []
    for item in _items(_response(detail).get("instancesSet")):
        instance_id = item.get("instanceId") if isinstance(item, dict) else None
        if isinstance(instance_id, str) and instance_id and instance_id not in ids:
            ids.append(instance_id)
    return ids


@dataclass(frozen=True)
class PolicySpec:
    id: str
    title: str
    event_source: str
    event_names: tuple[str, ...]
    module: str
    resource_ids: Callable[[dict[str, Any]], list[str]]
    resource_type: str
    permissions: tuple[Permission, ...] = field(default=())
    severity: str = "medium"

    @property
    def lambda_handler(self) -> str:
        """The Lambda handler string; the asset root holds the ``handlers`` package."""
        return f"{self.module}.handler"

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(p.action for p in self.permissions)


_S3_BUCKET = "arn:${AWS::Partition}:s3:::*"
_KMS_KEY = "arn:${AWS::Partition}:kms:*:*:key/*"  # an alias resolves to a key: IAM authorizes the key ARN
_EC2_INSTANCE = "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"
_EC2_SG = "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*"
_EC2_ENI = "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:network-interface/*"

POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec(
        id="vpc-created",
        title="New VPC",
        event_source="ec2.amazonaws.com",
        event_names=("CreateVpc",),
        module="handlers.policies.vpc_created",
        resource_ids=vpc_ids,
        resource_type="AWS::EC2::VPC",
        severity="low",
        permissions=(
            Permission("ec2:DescribeVpcs", ("*",), scopable=False,
                       why="Describe* calls have no resource-level permissions"),
        ),
    ),
    PolicySpec(
        id="s3-encryption",
        title="S3 default encryption",
        event_source="s3.amazonaws.com",
        event_names=("CreateBucket", "PutBucketEncryption", "DeleteBucketEncryption"),
        module="handlers.policies.s3_encryption",
        resource_ids=bucket_names,
        resource_type="AWS::S3::Bucket",
        severity="high",
        permissions=(
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
        ),
    ),
    PolicySpec(
        id="ec2-compliance",
        title="EC2 tags and admin security group",
        event_source="ec2.amazonaws.com",
        event_names=("RunInstances",),
        module="handlers.policies.ec2_compliance",
        resource_ids=instance_ids,
        resource_type="AWS::EC2::Instance",
        severity="medium",
        permissions=(
            Permission("ec2:DescribeInstances", ("*",), scopable=False,
                       why="Describe* calls have no resource-level permissions"),
            Permission("ec2:DescribeSecurityGroups", ("*",), scopable=False,
                       why="Describe* calls have no resource-level permissions"),
            Permission("ec2:CreateTags", (_EC2_INSTANCE,)),
            Permission("ec2:ModifyInstanceAttribute", (_EC2_INSTANCE, _EC2_SG)),
            # The IAM service reference lists network-interface, instance and security-group for this action.
            Permission("ec2:ModifyNetworkInterfaceAttribute", (_EC2_ENI, _EC2_INSTANCE, _EC2_SG)),
        ),
    ),
)

POLICIES_BY_ID: dict[str, PolicySpec] = {p.id: p for p in POLICIES}


def policy_ids() -> tuple[str, ...]:
    return tuple(p.id for p in POLICIES)


def policy_for(event_source: str, event_name: str) -> PolicySpec | None:
    for policy in POLICIES:
        if policy.event_source == event_source and event_name in policy.event_names:
            return policy
    return None


def governed_sources(policies: Iterable[PolicySpec] = POLICIES) -> list[str]:
    return sorted({p.event_source for p in policies})


def event_names_by_source(policies: Iterable[PolicySpec] = POLICIES) -> dict[str, list[str]]:
    names: dict[str, set[str]] = {}
    for policy in policies:
        names.setdefault(policy.event_source, set()).update(policy.event_names)
    return {source: sorted(n) for source, n in sorted(names.items())}


def all_event_names(policies: Iterable[PolicySpec] = POLICIES) -> list[str]:
    return sorted({name for p in policies for name in p.event_names})


def remediation_permissions(policies: Iterable[PolicySpec] = POLICIES) -> list[Permission]:
    """Union of declared permissions, merged per action (resources unioned, order kept stable)."""
    merged: dict[str, Permission] = {}
    for policy in policies:
        for perm in policy.permissions:
            if perm.action in merged:
                old = merged[perm.action]
                resources = tuple(dict.fromkeys(old.resources + perm.resources))
                merged[perm.action] = Permission(perm.action, resources, old.scopable and perm.scopable, old.why)
            else:
                merged[perm.action] = perm
    return sorted(merged.values(), key=lambda p: p.action)


def hub_rule_pattern(policy: PolicySpec) -> dict[str, Any]:
    """The hub bus rule pattern for one policy (the spoke already dropped failed and own calls)."""
    return {
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {
            "eventSource": [policy.event_source],
            "eventName": list(policy.event_names),
        },
    }


def spoke_forward_pattern(remediation_role_name: str = REMEDIATION_ROLE_NAME) -> dict[str, Any]:
    """The member-account pattern: exactly what the registry needs, successful, not OrgGuard's own calls.

    Each event source is paired with its own event names (an ec2 call named like an S3 one must not pass).
    ``anything-but`` only matches when the field exists, so calls by IAM users and root (no
    ``sessionContext.sessionIssuer``) would be dropped by a plain ``anything-but`` on the issuer ARN.
    The inner ``$or`` keeps them: either the issuer is absent, or it is present and not our role. The role
    name is matched by suffix so the pattern is the same in every account and partition.
    """
    return {
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {
            "$or": [{"eventSource": [source], "eventName": names}
                    for source, names in event_names_by_source().items()],
            "errorCode": [{"exists": False}],
            "userIdentity": {"sessionContext": {"sessionIssuer": {"$or": [
                {"arn": [{"exists": False}]},
                {"arn": [{"anything-but": {"suffix": f":role/{remediation_role_name}"}}]},
            ]}}},
        },
    }
