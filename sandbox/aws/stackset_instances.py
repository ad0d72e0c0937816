"""One automatic deployment of a StackSet to one account: a stack per region, one region at a time, as on AWS.

moto creates a service-managed StackSet's stacks only inside CreateStackInstances: its ``StackInstance`` builds a
hidden ``Stack`` for the account and region and creates its resources there (the roles in the member's IAM, the
rules on its buses), and lists every instance as CURRENT. An automatic deployment needs the same stacks without
that call, and failures that look like AWS's:

- a stack whose resource fails rolls back (what it created is deleted); its instance is OUTDATED with the detailed
  status FAILED and the stack's reason;
- automatic deployments tolerate no failure: the regions not reached yet get OUTDATED instances with the detailed
  status CANCELLED ("the failure tolerance of the stack set operation has been exceeded", StackInstanceStatus in
  the CloudFormation API reference), so ``orgguard stackset --retry-failed`` finds and retries them as on AWS;
- the operation is listed by ListStackSetOperations (action CREATE, status SUCCEEDED or FAILED).

``AutoDeployedInstance`` stands beside moto's own instances in the StackSet's list and answers what moto asks of
one (``to_dict`` for ListStackInstances and DescribeStackInstance, ``delete`` for DeleteStackInstances).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

CURRENT = "CURRENT"
OUTDATED = "OUTDATED"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
CANCELLED_REASON = "Cancelled: the failure tolerance of the automatic deployment (zero) was exceeded"


@dataclass(frozen=True)
class RegionResult:
    """What one region of an automatic deployment ended as (handed to observers as soon as it is known)."""

    stackset: str
    account: str
    region: str
    position: int  # 0 for the first region deployed
    status: str  # CURRENT | OUTDATED
    detailed: str  # SUCCEEDED | FAILED | CANCELLED
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.detailed == SUCCEEDED


@dataclass
class AutoDeployedInstance:
    """A stack instance an automatic deployment made (moto's ``StackInstance`` interface)."""

    account_id: str
    region_name: str
    stackset_id: str
    name: str  # the StackSet's name (moto names the hidden stack after it)
    ou: str  # the target OU through which the account was reached
    parameters: list[dict[str, Any]] = field(default_factory=list)  # overrides: none for automatic deployments
    permission_model: str = "SERVICE_MANAGED"
    status: str = OUTDATED
    detailed: str = CANCELLED
    reason: str = CANCELLED_REASON
    stack: Any = None
    stack_id: str = ""

    def create(self, template: str, parameters: dict[str, str]) -> bool:
        """Create the stack and its resources in the account and region; roll back and record why on failure."""
        from moto.cloudformation.models import Stack

        self.stack_id = (f"arn:aws:cloudformation:{self.region_name}:{self.account_id}:stack/"
                         f"StackSet-{self.name}-{uuid.uuid4()}/{uuid.uuid4()}")
        try:
            stack = Stack(stack_id=self.stack_id, name=self.name, template=template, parameters=dict(parameters),  # type: ignore[abstract]
                          account_id=self.account_id, region_name=self.region_name, notification_arns=[], tags=None,
                          role_arn=None, cross_stack_resources={}, enable_termination_protection=False)
        except Exception as error:  # a template moto cannot read fails the stack, as AWS's validation would
            self._failed(f"Template error: {error}")
            return False
        try:
            stack.create_resources()
        except Exception as error:  # what a resource's service refused: CloudFormation rolls the stack back
            _roll_back(stack)
            self._failed(f"The stack failed to create and was rolled back: {error}")
            return False
        self.stack = stack
        self.status, self.detailed, self.reason = CURRENT, SUCCEEDED, ""
        return True

    def _failed(self, reason: str) -> None:
        self.stack = None
        self.status, self.detailed, self.reason = OUTDATED, FAILED, reason

    @property
    def failed(self) -> bool:
        return self.detailed != SUCCEEDED

    def delete(self) -> None:
        if self.stack is not None:
            self.stack.delete()
            self.stack = None

    def to_dict(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "StackSetId": self.stackset_id,
            "Region": self.region_name,
            "Account": self.account_id,
            "Status": self.status,
            "StackInstanceStatus": {"DetailedStatus": self.detailed},
            "OrganizationalUnitId": self.ou,
            "ParameterOverrides": self.parameters,
            "DriftStatus": "NOT_CHECKED",
        }
        if self.stack is not None:
            summary["StackId"] = self.stack_id
        if self.reason:
            summary["StatusReason"] = self.reason
        return summary


def _roll_back(stack: Any) -> None:
    """Delete what a failed stack created (moto leaves it in place when a resource raises)."""
    # A resource moto cannot delete stays behind, as DELETE_FAILED would leave it on AWS.
    with contextlib.suppress(Exception):
        stack.resource_map.delete()


def deploy(stackset: Any, account: str, ou: str, regions: Sequence[str],
           observe: Callable[[RegionResult], None] | None = None) -> list[RegionResult]:
    """Deploy moto's ``stackset`` to ``account`` in ``regions``, in that order, stopping at the first failure.

    Each instance joins the StackSet's list as soon as its region is done, so an observer sees the world as it is
    between two regions (the window in which one region's rules exist and another region's stack does not yet).
    """
    results: list[RegionResult] = []
    stopped = False
    for position, region in enumerate(regions):
        instance = AutoDeployedInstance(account, region, stackset.id, stackset.name, ou)
        if not stopped:
            stopped = not instance.create(stackset.template, dict(stackset.parameters or {}))
        _replace(stackset, instance)
        result = RegionResult(stackset.name, account, region, position, instance.status, instance.detailed,
                              instance.reason)
        results.append(result)
        if observe is not None and instance.detailed != CANCELLED:
            observe(result)
    status = FAILED if stopped else SUCCEEDED
    stackset._create_operation(operation_id=str(uuid.uuid4()), action="CREATE", status=status,
                               accounts=[account], regions=list(regions))
    return results


def retry(instance: AutoDeployedInstance, stackset: Any) -> bool:
    """Run a failed or cancelled instance's stack again (UpdateStackInstances retries it on AWS)."""
    return instance.create(stackset.template, dict(stackset.parameters or {}))


def _replace(stackset: Any, instance: AutoDeployedInstance) -> None:
    """Put ``instance`` in the StackSet's list, in place of an earlier one for the same account and region."""
    instances: list[Any] = stackset.instances.stack_instances
    for index, existing in enumerate(instances):
        if existing.account_id == instance.account_id and existing.region_name == instance.region_name:
            instances[index] = instance
            return
    instances.append(instance)
