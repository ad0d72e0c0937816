"""The guardrail registry: the one list that drives forwarding, hub rules, handlers, IAM, settings and the sweep.

From the guardrails in force the spoke renders its forwarding pattern, the hub builds one rule and one Lambda
per guardrail, the remediation role gets exactly the union of the declared permissions, the settings file
gets one ``[policies.<id>]`` section each, and the event path, the sweep, the reconcile and replay route to
them. Adding a guardrail means adding one subpackage under ``handlers/guardrails/`` and one line here.

``registered(...)`` swaps the list for a block of code (a test's temporary registry); everything derived
reads ``guardrails()`` when it runs, never a copy made at import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from handlers.contract import (
    CLOUDTRAIL_DETAIL_TYPE,
    EXEMPT_TAG_ALL,
    FORWARD_RULE_NAME,
    FORWARDER_ROLE_NAME,
    REMEDIATION_ROLE_NAME,
)
from handlers.guardrails.base import Guardrail, Permission
from handlers.guardrails.ec2_compliance.guardrail import GUARDRAIL as EC2_COMPLIANCE
from handlers.guardrails.s3_encryption.guardrail import GUARDRAIL as S3_ENCRYPTION
from handlers.guardrails.s3_public_access.guardrail import GUARDRAIL as S3_PUBLIC_ACCESS
from handlers.guardrails.vpc_created.guardrail import GUARDRAIL as VPC_CREATED

__all__ = [
    "CLOUDTRAIL_DETAIL_TYPE",
    "EXEMPT_TAG_ALL",
    "FORWARDER_ROLE_NAME",
    "FORWARD_RULE_NAME",
    "POLICIES",
    "POLICIES_BY_ID",
    "REMEDIATION_ROLE_NAME",
    "Guardrail",
    "Permission",
    "guardrail",
    "guardrails",
    "policies_for",
    "policy_for",
    "record_key_suffix",
    "registered",
]

POLICIES: tuple[Guardrail, ...] = (VPC_CREATED, S3_ENCRYPTION, EC2_COMPLIANCE, S3_PUBLIC_ACCESS)
_active: list[tuple[Guardrail, ...]] = [POLICIES]


def guardrails() -> tuple[Guardrail, ...]:
    """The guardrails in force."""
    return _active[-1]


@contextmanager
def registered(*entries: Guardrail, replace: bool = False) -> Iterator[tuple[Guardrail, ...]]:
    """The guardrails in force within the block: the default ones plus ``entries`` (or only ``entries``)."""
    chosen = tuple(entries) if replace else (*POLICIES, *entries)
    ids = [g.id for g in chosen]
    if len(set(ids)) != len(ids):
        raise ValueError(f"guardrail ids must be unique: {', '.join(ids)}")
    _active.append(chosen)
    try:
        yield chosen
    finally:
        _active.remove(chosen)


POLICIES_BY_ID: dict[str, Guardrail] = {g.id: g for g in POLICIES}  # the default guardrails by id


def guardrail(guardrail_id: str) -> Guardrail:
    for entry in guardrails():
        if entry.id == guardrail_id:
            return entry
    raise KeyError(f"no guardrail {guardrail_id!r} (known: {', '.join(policy_ids())})")


def policy_ids() -> tuple[str, ...]:
    return tuple(g.id for g in guardrails())


def sweepable_ids() -> tuple[str, ...]:
    return tuple(g.id for g in guardrails() if g.sweepable)


def policies_for(event_source: str, event_name: str) -> tuple[Guardrail, ...]:
    """Every guardrail that names the call, in registry order: the hub has one rule per guardrail, so one
    event reaches each of them (CreateBucket: s3-encryption and s3-public-access)."""
    return tuple(g for g in guardrails() if g.event_source == event_source and event_name in g.event_names)


def policy_for(event_source: str, event_name: str) -> Guardrail | None:
    """The first guardrail that names the call (None: none does); ``policies_for`` gives all of them."""
    found = policies_for(event_source, event_name)
    return found[0] if found else None


def record_key_suffix(policy: Guardrail, event_source: str, event_name: str) -> str:
    """What tells apart the records of one event handled by several guardrails: '' for the first guardrail
    that names it (so the record of an event with one guardrail keeps its key ``event#<id>``), else the id."""
    first = policy_for(event_source, event_name)
    return "" if first is None or first.id == policy.id else policy.id


def governed_sources(policies: Iterable[Guardrail] | None = None) -> list[str]:
    return sorted({p.event_source for p in (guardrails() if policies is None else policies)})


def event_names_by_source(policies: Iterable[Guardrail] | None = None) -> dict[str, list[str]]:
    names: dict[str, set[str]] = {}
    for policy in guardrails() if policies is None else policies:
        names.setdefault(policy.event_source, set()).update(policy.event_names)
    return {source: sorted(n) for source, n in sorted(names.items())}


def all_event_names(policies: Iterable[Guardrail] | None = None) -> list[str]:
    return sorted({name for p in (guardrails() if policies is None else policies) for name in p.event_names})


def remediation_permissions(policies: Iterable[Guardrail] | None = None) -> list[Permission]:
    """Union of declared permissions, merged per action (resources unioned, order kept stable)."""
    merged: dict[str, Permission] = {}
    for policy in guardrails() if policies is None else policies:
        for perm in policy.permissions:
            if perm.action in merged:
                old = merged[perm.action]
                resources = tuple(dict.fromkeys(old.resources + perm.resources))
                merged[perm.action] = Permission(perm.action, resources, old.scopable and perm.scopable, old.why)
            else:
                merged[perm.action] = perm
    return sorted(merged.values(), key=lambda p: p.action)


def hub_rule_pattern(policy: Guardrail) -> dict[str, Any]:
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
