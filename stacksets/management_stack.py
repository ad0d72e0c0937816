"""The spoke as a plain stack in the management account, which a service-managed StackSet never reaches.

Home region first (it creates the account-global roles), then the other regions concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError, WaiterError

from handlers.settings import Settings
from stacksets.access import client, error_message
from stacksets.api import CAPABILITIES
from stacksets.operations import region_waves

WAITER = {"Delay": 5, "MaxAttempts": 720}
NO_UPDATES = "No updates are to be performed"


@dataclass(frozen=True)
class StackResult:
    region: str
    action: str  # created | updated | unchanged | deleted | absent | failed
    status: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.action != "failed"


def _describe(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in error_message(error):
            return None
        raise
    return dict(stacks[0]) if stacks else None


def _failure_reason(cfn: Any, name: str) -> str:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError as error:
        return error_message(error)
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("FAILED")]
    if failed:
        event = failed[-1]  # events come newest first; the oldest failure is the cause
        return f"{event.get('LogicalResourceId', '')}: {event.get('ResourceStatusReason', '')}"
    return ""


def _parameters(stack: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def _deploy_one(cfn: Any, name: str, region: str, template: str, parameters: dict[str, str]) -> StackResult:
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
    try:
        stack = _describe(cfn, name)
        if stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
            # A stack whose creation rolled back can only be deleted, then created again.
            cfn.delete_stack(StackName=name)
            cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=WAITER)
            stack = None
        if stack is None:
            cfn.create_stack(StackName=name, TemplateBody=template, Parameters=params, Capabilities=CAPABILITIES)
            cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=WAITER)
            return StackResult(region, "created", "CREATE_COMPLETE")
        status = str(stack["StackStatus"])
        if status.endswith("_IN_PROGRESS"):
            return StackResult(
                region,
                "failed",
                status,
                f"stack {name} is busy ({status}): wait for it to finish and run this again",
            )
        current = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
        if current == template and _parameters(stack) == parameters:
            return StackResult(region, "unchanged", status)
        try:
            cfn.update_stack(StackName=name, TemplateBody=template, Parameters=params, Capabilities=CAPABILITIES)
        except ClientError as error:
            if NO_UPDATES in error_message(error):
                return StackResult(region, "unchanged", status)
            raise
        cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=WAITER)
        return StackResult(region, "updated", "UPDATE_COMPLETE")
    except WaiterError:
        stack = _describe(cfn, name) or {}
        return StackResult(region, "failed", str(stack.get("StackStatus", "")), _failure_reason(cfn, name))
    except ClientError as error:
        return StackResult(region, "failed", "", error_message(error))


def _by_waves(settings: Settings, work: Callable[[str], StackResult]) -> list[StackResult]:
    org = settings.organization
    results: list[StackResult] = []
    for wave in region_waves(org.spoke_home_region, org.regions):
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(wave)))) as pool:
            results.extend(pool.map(work, wave))
        if not all(r.ok for r in results):
            break
    return sorted(results, key=lambda r: r.region)


def deploy(session: boto3.Session, settings: Settings, template: str, parameters: dict[str, str]) -> list[StackResult]:
    """Create or update the plain spoke stack in every governed region of the operator's account."""
    name = settings.rollout.management_stack_name
    clients = {r: client(session, "cloudformation", r) for r in settings.organization.regions}
    return _by_waves(settings, lambda region: _deploy_one(clients[region], name, region, template, parameters))


def status(session: boto3.Session, settings: Settings, regions: Sequence[str]) -> dict[str, StackResult]:
    name = settings.rollout.management_stack_name
    found = {}
    for region in regions:
        cfn = client(session, "cloudformation", region)
        try:
            stack = _describe(cfn, name)
        except ClientError as error:
            found[region] = StackResult(region, "failed", "", error_message(error))
            continue
        if stack is None:
            found[region] = StackResult(region, "absent", "")
        else:
            found[region] = StackResult(
                region, "present", str(stack["StackStatus"]), stack.get("StackStatusReason", "")
            )
    return found


def delete(session: boto3.Session, settings: Settings, regions: Sequence[str]) -> list[StackResult]:
    name = settings.rollout.management_stack_name
    results = []
    # The other regions' rules name the home region's forwarder role: remove them first, the roles last.
    for wave in reversed(region_waves(settings.organization.spoke_home_region, regions)):
        for region in wave:
            cfn = client(session, "cloudformation", region)
            try:
                if _describe(cfn, name) is None:
                    results.append(StackResult(region, "absent", ""))
                    continue
                cfn.delete_stack(StackName=name)
                cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=WAITER)
                results.append(StackResult(region, "deleted", "DELETE_COMPLETE"))
            except WaiterError:
                results.append(StackResult(region, "failed", "DELETE_FAILED", _failure_reason(cfn, name)))
            except ClientError as error:
                results.append(StackResult(region, "failed", "", error_message(error)))
    return sorted(results, key=lambda r: r.region)
