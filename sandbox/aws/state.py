"""Read what the embedded AWS holds (moto's in-process backends): roles and their policies, resource policies,
the organization tree and its SCPs.

The IAM checks evaluate exactly these documents, which CloudFormation created from the synthesized hub template and
the rendered spoke (and the sandbox's own setup created through the IAM API): nothing is copied by hand. moto runs
in this process (server mode in a thread), so its state is read directly rather than through more API calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PARTITION = "aws"
# Organizations' delegation policies (moto has none): organization id -> (policy ARN, JSON content).
DELEGATION_POLICIES: dict[str, tuple[str, str]] = {}


def _document(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        import urllib.parse

        text = value if value.lstrip().startswith("{") else urllib.parse.unquote(value)
        parsed = json.loads(text)
        return parsed if isinstance(parsed, dict) else None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class RoleView:
    account: str
    name: str
    arn: str
    trust: dict[str, Any]
    identity_policies: tuple[tuple[str, dict[str, Any]], ...]  # (name, document): inline and attached managed
    boundary: dict[str, Any] | None


def role(account: str, name: str) -> RoleView | None:
    from moto.iam.models import iam_backends

    backend = iam_backends[account][PARTITION]
    found = next((r for r in list(backend.roles.values()) if r.name == name), None)
    if found is None:
        return None
    policies: list[tuple[str, dict[str, Any]]] = []
    for policy_name, text in sorted(found.policies.items()):
        document = _document(text)
        if document is not None:
            policies.append((policy_name, document))
    for arn, managed in sorted(found.managed_policies.items()):
        document = _managed_document(managed)
        if document is not None:
            policies.append((arn, document))
    boundary = None
    if found.permissions_boundary_arn:
        boundary = _managed_by_arn(account, found.permissions_boundary_arn)
    trust = _document(found.assume_role_policy_document) or {}
    return RoleView(account, found.name, f"arn:{PARTITION}:iam::{account}:role{found.path}{found.name}"
                    if found.path != "/" else f"arn:{PARTITION}:iam::{account}:role/{found.name}",
                    trust, tuple(policies), boundary)


def _managed_document(managed: Any) -> dict[str, Any] | None:
    for version in managed.versions:
        if version.version_id == managed.default_version_id:
            return _document(version.document)
    return None


def _managed_by_arn(account: str, arn: str) -> dict[str, Any] | None:
    from moto.iam.models import iam_backends

    managed = iam_backends[account][PARTITION].managed_policies.get(arn)
    return _managed_document(managed) if managed is not None else None


def bus_policy(account: str, region: str, name: str) -> dict[str, Any] | None:
    from moto.events.models import events_backends

    bus = events_backends[account][region].event_buses.get(name)
    return _document(bus.policy) if bus is not None else None


def bus_exists(account: str, region: str, name: str) -> bool:
    from moto.events.models import events_backends

    return name in events_backends[account][region].event_buses


def topic_policy(account: str, region: str, arn: str) -> dict[str, Any] | None:
    from moto.sns.models import sns_backends

    topic = sns_backends[account][region].topics.get(arn)
    return _document(topic.policy) if topic is not None else None


def queue_policy(account: str, region: str, name: str) -> dict[str, Any] | None:
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account][region].queues.get(name)
    return _document(queue.policy) if queue is not None else None


def bucket_owner(name: str) -> str:
    """The account that owns a bucket ("" when no account has it)."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    return str(owner[1]) if owner else ""


def bucket_policy(name: str) -> dict[str, Any] | None:
    from moto.s3.models import s3_backends

    account = bucket_owner(name)
    if not account:
        return None
    bucket = s3_backends[account][PARTITION].buckets.get(name)
    return _document(bucket.policy) if bucket is not None else None


def key_policy(account: str, region: str, key_id: str) -> dict[str, Any] | None:
    from moto.kms.models import kms_backends

    backend = kms_backends[account][region]
    key = backend.keys.get(key_id)
    return _document(key.policy) if key is not None else None


def key_of_alias(account: str, region: str, alias: str) -> str:
    """The id of the key an alias (``alias/name``) points to in that account and region ("" when none)."""
    from moto.kms.models import kms_backends

    backend = kms_backends[account][region]
    return next((str(key.id) for key in list(backend.keys.values()) if alias in key.aliases), "")


def key_exists(account: str, region: str, key_id: str) -> bool:
    from moto.kms.models import kms_backends

    return key_id in kms_backends[account][region].keys


@dataclass(frozen=True)
class OrgView:
    organization_id: str
    management_account: str
    scp_enabled: bool
    path: tuple[str, ...]  # root id, OU ids, account id: the targets whose SCPs apply, root first
    scps: tuple[tuple[str, tuple[tuple[str, dict[str, Any]], ...]], ...]  # (target, ((name, document), ...))


def organization_of(account: str) -> OrgView | None:
    """The organization an account belongs to, with the SCPs on its path (None outside any organization)."""
    from moto.organizations.models import organizations_backends

    for backend_by_partition in list(organizations_backends.values()):
        backend = backend_by_partition[PARTITION]
        org = backend.org
        if org is None:
            continue
        member = next((a for a in backend.accounts if a.id == account), None)
        if member is None:
            continue
        path = [str(member.id)]
        parent: str | None = member.parent_id
        by_id = {ou.id: ou for ou in backend.ou}
        while parent in by_id:
            path.append(parent)
            parent = by_id[parent].parent_id
        path.reverse()
        root = by_id.get(path[0])
        enabled = any(t.get("Type") == "SERVICE_CONTROL_POLICY" and t.get("Status") == "ENABLED"
                      for t in getattr(root, "policy_types", []))
        scps = []
        # AWS attaches FullAWSAccess to every new OU and account and refuses to detach a target's last SCP;
        # moto attaches it only to the root and the management account, so an empty target gets it here.
        full_access = next((p for p in backend.policies if p.name == "FullAWSAccess"), None)
        for target in path:
            documents = []
            for policy in backend.policies:
                if policy.type != "SERVICE_CONTROL_POLICY":
                    continue
                if any(getattr(a, "id", a) == target for a in policy.attachments):
                    document = _document(policy.content)
                    if document is not None:
                        documents.append((str(policy.name), document))
            if not documents and full_access is not None:
                documents.append(("FullAWSAccess", _document(full_access.content) or {}))
            scps.append((target, tuple(documents)))
        return OrgView(org.id, org.master_account_id, enabled, tuple(path), tuple(scps))
    return None


def instance_of_interface(account: str, region: str, eni_id: str) -> str:
    """The instance a network interface is attached to ("" when unattached or unknown)."""
    from moto.ec2.models import ec2_backends

    eni = ec2_backends[account][region].enis.get(eni_id)
    instance = getattr(eni, "instance", None) if eni is not None else None
    return str(getattr(instance, "id", "")) if instance is not None else ""


def policy_type(management_account: str, policy_id: str) -> str:
    """An organization policy's type (SERVICE_CONTROL_POLICY, ...), for its ARN."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[management_account][PARTITION]
    found = next((p for p in backend.policies if p.id == policy_id), None)
    return str(found.type) if found is not None else "SERVICE_CONTROL_POLICY"


def delegation_policy(organization_id: str) -> dict[str, Any] | None:
    stored = DELEGATION_POLICIES.get(organization_id)
    return _document(stored[1]) if stored else None
