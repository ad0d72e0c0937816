"""The spoke as plain stacks in the management account, which a service-managed StackSet never reaches.

The same split as the StackSets: the global stack (the roles) in the home region first, then the regional
stack in the home region, then in the other regions concurrently. A management account deployed before the
split (its regional stack still holds the roles) is migrated the other way round: the regional stacks are
updated first, which deletes the roles, and only then can the global stack create them again under the
same names (see ``stacksets.migration``). Removal goes regional stacks first, the global stack last.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError, WaiterError

from handlers.settings import Settings
from stacksets.access import client, error_message
from stacksets.operations import region_waves
from stacksets.parts import SpokePart, holds_roles, spoke_parts
from stacksets.stackset_requests import CAPABILITIES

WAITER = {"Delay": 5, "MaxAttempts": 720}
NO_UPDATES = "No updates are to be performed"


@dataclass(frozen=True)
class StackResult:
    region: str
    action: str  # created | updated | unchanged | deleted | absent | present | failed
    status: str
    reason: str = ""
    stack: str = ""

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
        # Only the template's own parameters: with the same template they are all a stack has on AWS, and
        # moto keeps those of an earlier template after an update.
        deployed = {k: v for k, v in _parameters(stack).items() if k in parameters}
        if current == template and deployed == parameters:
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


def _by_waves(part: SpokePart, home: str, work: Callable[[str], StackResult]) -> list[StackResult]:
    results: list[StackResult] = []
    for wave in region_waves(home, part.regions):
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(wave)))) as pool:
            results.extend(pool.map(work, wave))
        if not all(r.ok for r in results):
            break
    return sorted(results, key=lambda r: r.region)


def _deploy_part(session: boto3.Session, part: SpokePart, home: str) -> list[StackResult]:
    clients = {r: client(session, "cloudformation", r) for r in part.regions}

    def work(region: str) -> StackResult:
        result = _deploy_one(clients[region], part.stack, region, part.template, part.parameters)
        return dataclasses.replace(result, stack=part.stack)

    return _by_waves(part, home, work)


def is_legacy(session: boto3.Session, settings: Settings) -> bool:
    """Whether the home region's regional stack is the single template from before the split."""
    home = settings.organization.spoke_home_region
    name = settings.rollout.management_stack_name
    cfn = client(session, "cloudformation", home)
    if _describe(cfn, name) is None:
        return False
    body = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    return holds_roles(body if isinstance(body, str) else json.dumps(body), f"stack {name} in {home}")


def deploy(session: boto3.Session, settings: Settings) -> list[StackResult]:
    """Create or update both plain spoke stacks in the operator's account: global first, unless migrating."""
    home = settings.organization.spoke_home_region
    global_part, regional = spoke_parts(settings)
    order = (regional, global_part) if is_legacy(session, settings) else (global_part, regional)
    results: list[StackResult] = []
    for part in order:
        results += _deploy_part(session, part, home)
        if not all(r.ok for r in results):
            break
    return results


def status(session: boto3.Session, settings: Settings, regions: Sequence[str]) -> list[StackResult]:
    """Both plain stacks: the global one in the home region, the regional one in ``regions``."""
    global_part, regional = spoke_parts(settings)
    found = []
    wanted = [(global_part.stack, r) for r in global_part.regions] + [(regional.stack, r) for r in regions]
    for name, region in wanted:
        cfn = client(session, "cloudformation", region)
        try:
            stack = _describe(cfn, name)
        except ClientError as error:
            found.append(StackResult(region, "failed", "", error_message(error), name))
            continue
        if stack is None:
            found.append(StackResult(region, "absent", "", stack=name))
        else:
            found.append(StackResult(region, "present", str(stack["StackStatus"]),
                                     stack.get("StackStatusReason", ""), name))
    return found


def delete(session: boto3.Session, settings: Settings, present: Sequence[StackResult]) -> list[StackResult]:
    """Delete the stacks listed as present: the regional ones (other regions, then home) before the global one,
    whose roles their rules name."""
    home = settings.organization.spoke_home_region
    global_part, regional = spoke_parts(settings)
    results = []
    for part in (regional, global_part):
        regions = [s.region for s in present if s.stack == part.stack]
        for wave in reversed(region_waves(home, regions)):
            for region in wave:
                results.append(_delete_one(client(session, "cloudformation", region), part.stack, region))
    return results


def _delete_one(cfn: Any, name: str, region: str) -> StackResult:
    try:
        if _describe(cfn, name) is None:
            return StackResult(region, "absent", "", stack=name)
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=WAITER)
        return StackResult(region, "deleted", "DELETE_COMPLETE", stack=name)
    except WaiterError:
        return StackResult(region, "failed", "DELETE_FAILED", _failure_reason(cfn, name), name)
    except ClientError as error:
        return StackResult(region, "failed", "", error_message(error), name)
