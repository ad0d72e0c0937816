"""StackSet automatic deployment, as AWS runs it: an account that joins a target OU gets the StackSets' stacks.

moto ignores a StackSet's ``AutoDeployment`` (and its ``DependsOn``): an account moved into a target OU gets
nothing. This part remembers, from the calls it sees at the gateway (moto drops these parameters):

- each service-managed StackSet's AutoDeployment (``Enabled``, ``RetainStacksOnAccountRemoval``, ``DependsOn``)
  from CreateStackSet and UpdateStackSet;
- the OUs its instances target, with their regions, from CreateStackInstances and DeleteStackInstances
  (``DeploymentTargets.OrganizationalUnitIds`` + ``Regions``; AWS deploys automatically to the OUs a StackSet
  targets, in the regions of its instances there). Targets narrowed to listed accounts (``AccountFilterType``
  INTERSECTION, how ``orgguard onboard`` reaches one account) do not make their OU a target. UpdateStackInstances
  and UpdateStackSet only reach instances that exist, so they add no target; they retry failed instances.

It answers ListStackSetAutoDeploymentTargets (which moto lacks) from those targets, in AWS's wire shape
(``sandbox/aws/stackset_targets.py``): an OU named with no account in it is a target too, as on AWS.

When an account is moved into a target OU (or an OU below one), or created in a targeted root, every StackSet with
automatic deployment enabled that targets it is deployed to the account the way AWS documents automatic
deployments (DESIGN.md §11): one region at a time, in an order nobody can set (``DeploymentOrder``: drawn from a
seed, settable by tests), with zero failure tolerance (the first failed region stops that StackSet for the
account; the rest are cancelled), and ``AutoDeployment.DependsOn`` honoured (a StackSet starts only after the
StackSets it depends on succeeded in that account; if one failed, it does not start). A StackSet a dependency
names that deploys nothing to the account is not waited for. StackSets that do not depend on each other run one
after the other here, in a drawn order (AWS may run them side by side: the sandbox shows the worst interleaving,
one StackSet's regions all before the other's, when a test asks for it). An account that leaves the targets is
removed from a StackSet that does not retain stacks (``RetainStacksOnAccountRemoval`` false).

Each deployment is printed, one line per StackSet and account, in the order chosen::

    auto-deployment orgguard-spoke to 111122223333: eu-west-1, us-east-1, ap-southeast-2

The deployment runs while the gateway answers MoveAccount (or CreateAccount): when the call returns the stacks
exist. On AWS it starts right after and takes minutes; code that needs the instances waits for them either way.

A rule whose target names a role that does not exist yet (a region reached before the roles' StackSet) is created:
nothing documents that PutTargets (or CloudFormation's AWS::Events::Rule, which calls it) checks that a target's
``RoleArn`` exists. Its errors in botocore's EventBridge model are ResourceNotFound (the rule), ConcurrentModification,
LimitExceeded, ManagedRule and Internal; the checks reported at PutTargets are "RoleArn is required for target" (a
*missing* RoleArn on targets that need one: awsdocs/aws-codepipeline-user-guide#18, awsdocs/aws-cloudformation-
user-guide#1178); the trust check "Provided role ... cannot be assumed by principal 'events.amazonaws.com'" is
reported for PutRule's rule-level RoleArn only (Miserlou/Zappa#381, ansible/ansible-modules-extras#2101). No source
states outright that PutTargets accepts a missing role, so the sandbox emulates the failing case at delivery, which
is documented: EventBridge cannot assume the role, counts a FailedInvocation (re:Post knowledge center,
"eventbridge-rule-fails-to-invoke-target" and "troubleshoot-eb-cross-region-cross-account-rules"), and sends the
event straight to the target's dead-letter queue without retrying ("errors that result from missing permissions to
a target ... EventBridge sends these events directly to the DLQ": EventBridge user guide, rule-dlq.html).
``sandbox/aws/eventbridge.py`` plays that delivery and looks the role up at each one, so the same rule delivers as
soon as the role exists.

Sources for the deployment itself: botocore's CloudFormation model (``AutoDeployment``: "If an account is removed
from a target organization or OU, StackSets deletes stack instances from the account"; ``DependsOn``: "operations
will be sequenced to ensure all dependencies complete successfully before this StackSet's operation begins";
``CANCELLED``: "the failure tolerance of the StackSet operation has been exceeded").

The part is in four modules: this one (the gateway hooks and what the Organizations calls trigger),
``stackset_autodeploy_tracking.py`` (what the StackSet calls tell), ``stackset_autodeploy_runs.py`` (deploying to
one account, and ``Deployment``) and ``stackset_autodeploy_moto.py`` (the moto state they read).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.aws import state
from sandbox.aws.deployment_order import DeploymentOrder
from sandbox.aws.gateway import Response
from sandbox.aws.stackset_autodeploy_moto import ancestry, moto_stackset
from sandbox.aws.stackset_autodeploy_runs import AccountDeployer, Deployment, Plan
from sandbox.aws.stackset_autodeploy_tracking import StackSetTracker, TrackedStackSet
from sandbox.aws.stackset_instances import AutoDeployedInstance, RegionResult, retry
from sandbox.aws.stackset_targets import OPERATION as LIST_TARGETS
from sandbox.aws.stackset_targets import answer
from sandbox.aws.wire import AwsCall


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class StackSetAutoDeployment:
    order: DeploymentOrder = field(default_factory=DeploymentOrder)
    announce: Callable[[str], None] = _stderr  # one line per StackSet and account, and per failure
    on_region: Callable[[RegionResult], None] | None = None  # called between two regions (tests look at the window)
    name: str = "stackset-auto-deployment"
    deployments: list[Deployment] = field(default_factory=list)
    _stacksets: StackSetTracker = field(default_factory=StackSetTracker)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # guards ``deployments``
    _running: threading.Lock = field(default_factory=threading.Lock)  # one automatic deployment at a time

    def reset(self) -> None:
        self._stacksets.reset()
        with self._lock:
            self.deployments.clear()

    def for_account(self, account: str) -> list[Deployment]:
        with self._lock:
            return [d for d in self.deployments if d.account == account]

    def tracked(self, name: str) -> TrackedStackSet | None:
        return self._stacksets.named(name)

    def before(self, call: AwsCall) -> Response | None:
        if call.name != f"cloudformation:{LIST_TARGETS}":
            return None
        stackset = moto_stackset(call)
        if stackset is None:
            return answer(call, None)
        # A self-managed StackSet (not tracked) has no automatic deployment targets.
        return answer(call, self._stacksets.targets(stackset.arn))

    def after(self, call: AwsCall, response: Response) -> Response:
        if response.status != 200:
            return response
        handler = _HANDLERS.get(call.name)
        if handler is not None:
            handler(self, call, response)
        return response

    # --- what the StackSet calls tell -------------------------------------------------------------------------

    def _stackset_written(self, call: AwsCall, response: Response | None = None) -> None:
        if self._stacksets.stackset_written(call) and call.operation == "UpdateStackSet" and call.listed("Regions"):
            self._retry(call)

    def _stackset_deleted(self, call: AwsCall, response: Response | None = None) -> None:
        self._stacksets.stackset_deleted(call)

    def _instances_created(self, call: AwsCall, response: Response | None = None) -> None:
        self._stacksets.instances_created(call)

    def _instances_deleted(self, call: AwsCall, response: Response | None = None) -> None:
        self._stacksets.instances_deleted(call)

    def _retry(self, call: AwsCall, response: Response | None = None) -> None:
        """UpdateStackInstances (or UpdateStackSet with regions) runs failed automatic deployments' stacks again."""
        stackset = moto_stackset(call)
        if stackset is None:
            return
        regions = set(map(str, call.listed("Regions")))
        units = set(map(str, call.listed("DeploymentTargets.OrganizationalUnitIds")))
        accounts = set(map(str, call.listed("DeploymentTargets.Accounts")))
        for instance in list(stackset.instances.stack_instances):
            if not isinstance(instance, AutoDeployedInstance) or not instance.failed:
                continue
            if instance.region_name not in regions or (accounts and instance.account_id not in accounts):
                continue
            view = state.organization_of(instance.account_id)
            if units and (view is None or not units & set(view.path[:-1])):
                continue
            retry(instance, stackset)

    # --- what the Organizations calls trigger -----------------------------------------------------------------

    def _account_moved(self, call: AwsCall, response: Response | None = None) -> None:
        account = str(call.params.get("AccountId", ""))
        source = str(call.params.get("SourceParentId", ""))
        view = state.organization_of(account)
        if view is None:
            return
        self._account_placed(account, view, ancestry(view.management_account, source))

    def _account_created(self, call: AwsCall, response: Response | None = None) -> None:
        """CreateAccount puts the new account in the root (moto creates it at once; its answer names it)."""
        body = json.loads(response.body or b"{}") if response is not None else {}
        account = str(body.get("CreateAccountStatus", {}).get("AccountId", ""))
        view = state.organization_of(account) if account else None
        if view is not None:
            self._account_placed(account, view, ())

    def _account_placed(self, account: str, view: state.OrgView, before: tuple[str, ...]) -> None:
        if account == view.management_account:
            return  # service-managed StackSets never deploy to the management account
        units = view.path[:-1]
        plans: list[Plan] = []
        leaving: list[TrackedStackSet] = []
        for tracked in self._stacksets.enabled():
            admin_view = state.organization_of(tracked.admin_account)
            if admin_view is None or admin_view.organization_id != view.organization_id:
                continue
            reached = [u for u in units if u in tracked.targets]
            if not reached:
                if any(u in tracked.targets for u in before) and not tracked.retain:
                    leaving.append(tracked)
                continue
            regions = set().union(*(tracked.targets[u] for u in reached))
            plans.append((tracked, reached[-1], regions))
        deployer = AccountDeployer(self.order, self.announce, self.on_region, self._stacksets.name_of,
                                   self.deployments, self._lock)
        with self._running:
            for tracked in leaving:
                deployer.remove(tracked, account)
            deployer.run(account, plans)


_HANDLERS: dict[str, Callable[[StackSetAutoDeployment, AwsCall, Response], None]] = {
    "cloudformation:CreateStackSet": StackSetAutoDeployment._stackset_written,
    "cloudformation:UpdateStackSet": StackSetAutoDeployment._stackset_written,
    "cloudformation:DeleteStackSet": StackSetAutoDeployment._stackset_deleted,
    "cloudformation:CreateStackInstances": StackSetAutoDeployment._instances_created,
    "cloudformation:UpdateStackInstances": StackSetAutoDeployment._retry,
    "cloudformation:DeleteStackInstances": StackSetAutoDeployment._instances_deleted,
    "organizations:MoveAccount": StackSetAutoDeployment._account_moved,
    "organizations:CreateAccount": StackSetAutoDeployment._account_created,
}
