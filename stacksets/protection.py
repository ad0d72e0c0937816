"""``orgguard stackset --protect`` and ``destroy``: the spoke's service control policy in the organization.

``protect`` makes sure service control policies are enabled on the root (enabling them attaches the
AWS-managed ``FullAWSAccess`` to the root, every OU and every account, so nothing is denied that was not
before), creates or updates ``spoke.scp.POLICY_NAME`` with the rendered document and attaches it to exactly
the target OUs. ``unprotect`` detaches it everywhere and deletes it; ``destroy`` does that before it deletes
any stack instance. ``inspect`` says, without changing anything, whether the policy is missing or stale.
Organizations policies are managed from the management account (or an account the organization's
resource-based delegation policy allows to).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from handlers.settings import Settings
from spoke.scp import POLICY_DESCRIPTION, POLICY_NAME, protection_policy_text
from stacksets.access import client, error_code, error_message
from stacksets.errors import RolloutError
from stacksets.organization import OrgTree

SCP = "SERVICE_CONTROL_POLICY"
ENABLED = "ENABLED"


@dataclass
class ProtectionReport:
    policy: str
    action: str  # created | updated | unchanged | deleted | absent (with dry_run: what would happen)
    dry_run: bool = False
    policy_id: str = ""
    enabled_on_root: str = ""  # the root where SCPs were (or would be) enabled by this run
    attached: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        verb = "would be " if self.dry_run else ""
        lines = []
        if self.enabled_on_root:
            lines.append(f"service control policies {verb}enabled on the root {self.enabled_on_root} (it, every "
                         "OU and every account get the AWS-managed FullAWSAccess, so nothing else is denied)")
        lines.append(f"service control policy {self.policy}: {verb}{self.action}")
        lines += [f"  {verb}attached to {t}" for t in self.attached]
        lines += [f"  {verb}detached from {t}" for t in self.detached]
        return lines


def _explain(error: ClientError, doing: str) -> RolloutError:
    code, message = error_code(error), error_message(error)
    if code in ("AccessDeniedException", "AccessDenied"):
        return RolloutError(
            f"AWS Organizations refused to {doing} ({message}): service control policies are managed from the "
            "management account, or from an account the organization's delegation policy allows "
            "(`aws organizations put-resource-policy`); run this with those credentials"
        )
    if code == "PolicyTypeNotEnabledException":
        return RolloutError(
            f"AWS Organizations refused to {doing}: service control policies are not enabled on the root "
            "(`aws organizations enable-policy-type --root-id <root> --policy-type SERVICE_CONTROL_POLICY`)"
        )
    return RolloutError(f"AWS Organizations refused to {doing}: {code}: {message}")


def _find(org: Any) -> dict[str, Any] | None:
    for page in org.get_paginator("list_policies").paginate(Filter=SCP):
        for policy in page.get("Policies", []):
            if policy.get("Name") == POLICY_NAME and not policy.get("AwsManaged"):
                return dict(policy)
    return None


def _targets(org: Any, policy_id: str) -> set[str]:
    found: set[str] = set()
    for page in org.get_paginator("list_targets_for_policy").paginate(PolicyId=policy_id):
        found.update(t["TargetId"] for t in page.get("Targets", []))
    return found


def _content(org: Any, policy_id: str) -> Any:
    return json.loads(org.describe_policy(PolicyId=policy_id)["Policy"]["Content"])


def _scp_enabled(org: Any, root_id: str) -> bool:
    roots = org.list_roots()["Roots"]
    root = next((r for r in roots if r["Id"] == root_id), roots[0])
    return any(t.get("Type") == SCP and t.get("Status") == ENABLED for t in root.get("PolicyTypes", []))


def protect(session: boto3.Session, settings: Settings, tree: OrgTree, dry_run: bool = False) -> ProtectionReport:
    """Create or update the policy and attach it to exactly the target OUs."""
    org = client(session, "organizations")
    text = protection_policy_text(settings)
    wanted = set(settings.organization.target_ous)
    report = ProtectionReport(POLICY_NAME, "unchanged", dry_run)
    try:
        if not _scp_enabled(org, tree.root_id):
            report.enabled_on_root = tree.root_id
            if not dry_run:
                org.enable_policy_type(RootId=tree.root_id, PolicyType=SCP)
        policy = _find(org)
        if policy is None:
            report.action = "created"
            if not dry_run:
                created = org.create_policy(Name=POLICY_NAME, Description=POLICY_DESCRIPTION, Type=SCP, Content=text)
                policy = created["Policy"]["PolicySummary"]
        elif _content(org, policy["Id"]) != json.loads(text):
            report.action = "updated"
            if not dry_run:
                org.update_policy(PolicyId=policy["Id"], Content=text, Description=POLICY_DESCRIPTION)
        attached = _targets(org, policy["Id"]) if policy is not None else set()
        report.policy_id = policy["Id"] if policy is not None else ""
        report.attached = sorted(wanted - attached)
        report.detached = sorted(attached - wanted)
        if not dry_run and policy is not None:
            for target in report.attached:
                org.attach_policy(PolicyId=policy["Id"], TargetId=target)
            for target in report.detached:
                org.detach_policy(PolicyId=policy["Id"], TargetId=target)
    except ClientError as error:
        raise _explain(error, f"put the service control policy {POLICY_NAME} in place") from error
    report.notes.append(
        f"{POLICY_NAME} protects the accounts under {', '.join(sorted(wanted))}; accounts onboarded from "
        "outside the target OUs, and the management account (SCPs never apply to it), are not protected"
    )
    return report


def unprotect(session: boto3.Session, dry_run: bool = False) -> ProtectionReport:
    """Detach the policy from everything it is attached to, then delete it."""
    org = client(session, "organizations")
    report = ProtectionReport(POLICY_NAME, "absent", dry_run)
    try:
        policy = _find(org)
        if policy is None:
            return report
        report.policy_id, report.action = policy["Id"], "deleted"
        report.detached = sorted(_targets(org, policy["Id"]))
        if not dry_run:
            for target in report.detached:
                org.detach_policy(PolicyId=policy["Id"], TargetId=target)
            org.delete_policy(PolicyId=policy["Id"])
    except ClientError as error:
        raise _explain(error, f"remove the service control policy {POLICY_NAME}") from error
    return report


def inspect(session: boto3.Session, settings: Settings) -> list[str]:
    """Notes on the policy as deployed (nothing when it is in place and current); never raises on access."""
    org = client(session, "organizations")
    try:
        policy = _find(org)
        if policy is None:
            return [f"the spoke is not protected by a service control policy: `orgguard stackset --protect` "
                    f"creates {POLICY_NAME} and attaches it to the target OUs"]
        notes = []
        if _content(org, policy["Id"]) != json.loads(protection_policy_text(settings)):
            notes.append(f"the service control policy {POLICY_NAME} differs from the one these settings "
                         "render: `orgguard stackset --protect` updates it")
        missing = set(settings.organization.target_ous) - _targets(org, policy["Id"])
        if missing:
            notes.append(f"the service control policy {POLICY_NAME} is not attached to {', '.join(sorted(missing))}: "
                         "`orgguard stackset --protect` attaches it")
        return notes
    except ClientError as error:
        return [f"cannot read the service control policy {POLICY_NAME}: {error_message(error)}"]

