"""The StackSet calls OrgGuard makes, each with ``CallAs`` and with the errors users meet explained.

One place makes the requests (their parameters are built in ``stacksets.stackset_requests``), so every
operation carries the same operation preferences and the same ``CallAs``, and an
``OperationInProgressException`` or a trusted-access error reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import boto3
from botocore.exceptions import ClientError

from handlers.settings import Settings
from stacksets.access import client, error_code, error_message
from stacksets.errors import OperationInProgress, RolloutError
from stacksets.instance import Instance
from stacksets.organization import ENABLE_TRUSTED_ACCESS
from stacksets.stackset_requests import auto_deployment, definition, deployment_targets, operation_preferences

T = TypeVar("T")


class StackSetApi:
    """One StackSet (by default the regional spoke's, ``rollout.stackset_name``)."""

    def __init__(self, session: boto3.Session, settings: Settings, call_as: str, name: str | None = None) -> None:
        self.cfn = client(session, "cloudformation")
        self.settings = settings
        self.name = name or settings.rollout.stackset_name
        self.call_as = call_as

    def _call(self, what: Callable[..., T], **params: Any) -> T:
        try:
            return what(StackSetName=self.name, CallAs=self.call_as, **params)
        except ClientError as error:
            raise self._explain(error) from error

    def _explain(self, error: ClientError) -> RolloutError:
        code, message = error_code(error), error_message(error)
        lowered = message.lower()
        if code == "OperationInProgressException":
            return OperationInProgress(
                f"another operation on StackSet {self.name} is still running: wait for it to finish "
                f"(`aws cloudformation list-stack-set-operations --stack-set-name {self.name} "
                f"--call-as {self.call_as}`), then run this again"
            )
        if "trusted access" in lowered or "organizations access" in lowered:
            return RolloutError(f"CloudFormation StackSets says: {message}. {ENABLE_TRUSTED_ACCESS}")
        if "delegated admin" in lowered or "management account" in lowered or "master account" in lowered:
            return RolloutError(
                f"CloudFormation StackSets says: {message}. Run with the management account's credentials "
                "(--call-as SELF) or from a registered delegated administrator (--call-as DELEGATED_ADMIN)"
            )
        if code == "StackSetNotEmptyException":
            return RolloutError(
                f"StackSet {self.name} still has stack instances: run `orgguard status` to see them, then "
                "`orgguard destroy` again"
            )
        return RolloutError(f"StackSet {self.name}: {code}: {message}")

    def describe(self) -> dict[str, Any] | None:
        try:
            stack_set = self.cfn.describe_stack_set(StackSetName=self.name, CallAs=self.call_as)["StackSet"]
        except ClientError as error:
            if error_code(error) == "StackSetNotFoundException":
                return None
            raise self._explain(error) from error
        return None if stack_set.get("Status") == "DELETED" else dict(stack_set)

    def instances(self) -> list[Instance]:
        found: list[Instance] = []
        pages = self.cfn.get_paginator("list_stack_instances")
        try:
            for page in pages.paginate(StackSetName=self.name, CallAs=self.call_as):
                found.extend(Instance.from_summary(s) for s in page.get("Summaries", []))
        except ClientError as error:
            if error_code(error) == "StackSetNotFoundException":
                return []
            raise self._explain(error) from error
        return sorted(found, key=lambda i: (i.account, i.region))

    def auto_deployment_targets(self) -> dict[str, set[str]]:
        """The OUs (or root) this StackSet deploys to automatically, each with its regions; {} without the StackSet.

        ListStackSetAutoDeploymentTargets answers one ``OrganizationalUnitId`` and its ``Regions`` per target
        (botocore's CloudFormation model). An OU becomes a target when CreateStackInstances names it, even with no
        account in it, and only then does an account moved into it get the StackSet automatically. botocore has no
        paginator for this operation: ``NextToken`` is followed here (an empty one means the last page, per the
        model).
        """
        targets: dict[str, set[str]] = {}
        token = ""
        while True:
            page_token = {"NextToken": token} if token else {}
            try:
                page = self.cfn.list_stack_set_auto_deployment_targets(
                    StackSetName=self.name, CallAs=self.call_as, **page_token)
            except ClientError as error:
                if error_code(error) == "StackSetNotFoundException":
                    return {}
                raise self._explain(error) from error
            for summary in page.get("Summaries", []):
                targets.setdefault(str(summary["OrganizationalUnitId"]), set()).update(summary.get("Regions", []))
            token = str(page.get("NextToken") or "")
            if not token:
                return targets

    def create(self, template: str, parameters: dict[str, str], description: str,
               auto: dict[str, Any] | None = None) -> None:
        self._call(
            self.cfn.create_stack_set,
            Description=description,
            **definition(template, parameters),
            AutoDeployment=auto or auto_deployment(),
        )

    def update(self, template: str, parameters: dict[str, str], units: Sequence[str], regions: Sequence[str]) -> str:
        """Update the template and parameters, and the instances of ``units`` in ``regions``.

        No AutoDeployment here: UpdateStackSet takes it only without DeploymentTargets and Regions (botocore's
        CloudFormation model); ``update_definition`` changes it.
        """
        return str(
            self._call(
                self.cfn.update_stack_set,
                **definition(template, parameters),
                DeploymentTargets=deployment_targets(units),
                Regions=list(regions),
                OperationPreferences=operation_preferences(self.settings, regions),
            )["OperationId"]
        )

    def update_definition(self, template: str, parameters: dict[str, str], auto: dict[str, Any] | None = None) -> str:
        """Update the StackSet with its AutoDeployment and no targets: every instance, all regions at once.

        Used when the StackSet has no instances yet, or when the template is the deployed one already (only
        AutoDeployment changes), so the order of the regions does not matter.
        """
        return str(
            self._call(
                self.cfn.update_stack_set,
                **definition(template, parameters),
                AutoDeployment=auto or auto_deployment(),
                # No RegionOrder: no regions are named, and the order does not matter here.
                OperationPreferences=operation_preferences(self.settings, ()),
            )["OperationId"]
        )

    def create_instances(self, units: Sequence[str], regions: Sequence[str], accounts: Sequence[str] = ()) -> str:
        return str(
            self._call(
                self.cfn.create_stack_instances,
                DeploymentTargets=deployment_targets(units, accounts),
                Regions=list(regions),
                OperationPreferences=operation_preferences(self.settings, regions),
            )["OperationId"]
        )

    def update_instances(self, units: Sequence[str], regions: Sequence[str], accounts: Sequence[str]) -> str:
        return str(
            self._call(
                self.cfn.update_stack_instances,
                DeploymentTargets=deployment_targets(units, accounts),
                Regions=list(regions),
                OperationPreferences=operation_preferences(self.settings, regions),
            )["OperationId"]
        )

    def delete_instances(self, units: Sequence[str], regions: Sequence[str]) -> str:
        return str(
            self._call(
                self.cfn.delete_stack_instances,
                DeploymentTargets=deployment_targets(units),
                Regions=list(regions),
                RetainStacks=False,
                OperationPreferences=operation_preferences(self.settings, regions),
            )["OperationId"]
        )

    def delete(self) -> None:
        self._call(self.cfn.delete_stack_set)

    def operation(self, operation_id: str) -> dict[str, Any]:
        return dict(self._call(self.cfn.describe_stack_set_operation, OperationId=operation_id)["StackSetOperation"])

    def operation_results(self, operation_id: str) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        pages = self.cfn.get_paginator("list_stack_set_operation_results")
        try:
            for page in pages.paginate(StackSetName=self.name, CallAs=self.call_as, OperationId=operation_id):
                results.extend(page.get("Summaries", []))
        except ClientError as error:
            raise self._explain(error) from error
        return results
