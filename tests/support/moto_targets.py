"""ListStackSetAutoDeploymentTargets for in-process moto, which does not implement it (moto 5.2.5).

The functional tests run moto in-process, without the embedded AWS's gateway, whose part
``sandbox/aws/stackset_autodeploy.py`` answers the call there. This is the same bookkeeping for the functional
tests: a successful CreateStackInstances whose ``DeploymentTargets`` name OUs (not narrowed to listed accounts by
``AccountFilterType`` INTERSECTION) makes those OUs targets in its regions, even with no account in them; a
DeleteStackInstances by OU removes those regions; a deleted StackSet takes its targets along. The answer is built
by moto's own serializer from botocore's model, so boto3 reads it as it reads AWS's.
"""

from __future__ import annotations

from typing import Any

import pytest

TARGETS = "orgguard_auto_deployment_targets"  # attribute on moto's StackSet: OU or root id -> regions
NARROWING = ("INTERSECTION",)


def list_stack_set_auto_deployment_targets(self: Any) -> Any:
    from moto.core.responses import ActionResult

    stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))  # NotFound if none
    targets: dict[str, set[str]] = getattr(stackset, TARGETS, {})
    return ActionResult({"Summaries": [{"OrganizationalUnitId": unit, "Regions": sorted(regions)}
                                       for unit, regions in sorted(targets.items()) if regions]})


def _record(response: Any) -> None:
    """After a successful CreateStackInstances or DeleteStackInstances: the targets it added or removed."""
    action = response._get_action()
    targets = response._get_params().get("DeploymentTargets") or {}
    units = targets.get("OrganizationalUnitIds") or []
    if action not in ("CreateStackInstances", "DeleteStackInstances") or not units:
        return
    if targets.get("AccountFilterType") in NARROWING:
        return
    stackset = response.cloudformation_backend.describe_stack_set(response._get_param("StackSetName"))
    regions = set(response._get_param("Regions", []))
    recorded: dict[str, set[str]] = getattr(stackset, TARGETS, {})
    for unit in units:
        if action == "CreateStackInstances":
            recorded.setdefault(unit, set()).update(regions)
        else:
            recorded[unit] = recorded.get(unit, set()) - regions
    setattr(stackset, TARGETS, recorded)


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Teach moto's CloudFormation the operation for this test (undone with the monkeypatch)."""
    from moto.cloudformation.responses import CloudFormationResponse

    original = CloudFormationResponse.call_action

    def call_action(self: Any) -> Any:
        status, headers, body = original(self)
        if int(status) == 200:
            _record(self)
        return status, headers, body

    monkeypatch.setattr(CloudFormationResponse, "call_action", call_action)
    monkeypatch.setattr(CloudFormationResponse, "list_stack_set_auto_deployment_targets",
                        list_stack_set_auto_deployment_targets, raising=False)
