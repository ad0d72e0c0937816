"""The moto state StackSet automatic deployment reads: the StackSet a call names, a tracked StackSet's backend
object, and the OUs above a parent."""

from __future__ import annotations

from typing import Any

from sandbox.aws import state
from sandbox.aws.wire import AwsCall


def moto_stackset(call: AwsCall) -> Any:
    """The StackSet a CloudFormation call named, from the backend moto used for it (None if there is none)."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.iam.models import get_account_id_from

    account = get_account_id_from(call.forward_as or call.access_key)
    try:
        return cloudformation_backends[account][call.region].describe_stack_set(str(call.params.get("StackSetName")))
    except Exception:  # StackSetNotFoundException: the call did not concern a StackSet moto holds
        return None


def backend_stackset(admin_account: str, region: str, name: str) -> Any:
    """The StackSet ``name`` held by ``admin_account`` in ``region`` (None once deleted)."""
    from moto.cloudformation.models import cloudformation_backends

    try:
        return cloudformation_backends[admin_account][region].describe_stack_set(name)
    except Exception:  # deleted meanwhile
        return None


def ancestry(management_account: str, parent: str) -> tuple[str, ...]:
    """``parent`` and the OUs above it up to the root, root first."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[management_account][state.PARTITION]
    by_id = {ou.id: ou for ou in backend.ou}
    chain = []
    current: str | None = parent
    while current:
        chain.append(current)
        current = by_id[current].parent_id if current in by_id else None
    return tuple(reversed(chain))
