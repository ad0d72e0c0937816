"""StackSet automatic deployment, as AWS runs it: an account that joins a target OU gets the StackSets' stacks.

moto ignores a StackSet's ``AutoDeployment`` (and its ``DependsOn``): an account moved into a target OU gets
nothing. This part remembers, from the calls it sees at the gateway (moto drops these parameters):

- each service-managed StackSet's AutoDeployment (``Enabled``, ``RetainStacksOnAccountRemoval``, ``DependsOn``)
  from CreateStackSet and UpdateStackSet;
- the OUs its instances target, with their regions, from CreateStackInstances and DeleteStackInstances
  (``DeploymentTargets.OrganizationalUnitIds`` + ``Regions``; AWS deploys automatically to the OUs a StackSet
  targets, in the regions of its instances there). Targets narrowed to listed accounts (``AccountFilterType``
  INTERSECTION, how ``deploy.py onboard`` reaches one account) do not make their OU a target. UpdateStackInstances
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
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.aws import state
from sandbox.aws.deployment_order import DeploymentOrder
from sandbox.aws.gateway import Response
from sandbox.aws.stackset_instances import AutoDeployedInstance, RegionResult, deploy, retry
from sandbox.aws.stackset_targets import OPERATION as LIST_TARGETS
from sandbox.aws.stackset_targets import answer
from sandbox.aws.wire import AwsCall

SERVICE_MANAGED = "SERVICE_MANAGED"
NOT_STARTED = "NOT_STARTED"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
FILTERS_THAT_NARROW = ("INTERSECTION",)


@dataclass
class TrackedStackSet:
    """What the part knows of one service-managed StackSet."""

    arn: str
    name: str
    admin_account: str  # the account whose CloudFormation holds it (management or delegated administrator)
    region: str
    enabled: bool = False
    retain: bool = False
    depends_on: tuple[str, ...] = ()  # StackSet ARNs
    targets: dict[str, set[str]] = field(default_factory=dict)  # OU (or root) id -> regions


@dataclass(frozen=True)
class Deployment:
    """One StackSet's automatic deployment to one account."""

    stackset: str
    account: str
    ou: str
    regions: tuple[str, ...]  # in the order deployed (empty when it did not start)
    outcome: str  # SUCCEEDED | FAILED | NOT_STARTED
    results: tuple[RegionResult, ...] = ()
    reason: str = ""

    @property
    def line(self) -> str:
        if self.outcome == NOT_STARTED:
            return f"auto-deployment {self.stackset} to {self.account}: not started ({self.reason})"
        return f"auto-deployment {self.stackset} to {self.account}: {', '.join(self.regions)}"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class StackSetAutoDeployment:
    order: DeploymentOrder = field(default_factory=DeploymentOrder)
    announce: Callable[[str], None] = _stderr  # one line per StackSet and account, and per failure
    on_region: Callable[[RegionResult], None] | None = None  # called between two regions (tests look at the window)
    name: str = "stackset-auto-deployment"
    deployments: list[Deployment] = field(default_factory=list)
    _stacksets: dict[str, TrackedStackSet] = field(default_factory=dict)  # by ARN
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: threading.Lock = field(default_factory=threading.Lock)  # one automatic deployment at a time

    def reset(self) -> None:
        with self._lock:
            self._stacksets.clear()
            self.deployments.clear()

    def for_account(self, account: str) -> list[Deployment]:
        with self._lock:
            return [d for d in self.deployments if d.account == account]

    def tracked(self, name: str) -> TrackedStackSet | None:
        with self._lock:
            return next((s for s in self._stacksets.values() if s.name == name), None)

    def before(self, call: AwsCall) -> Response | None:
        if call.name != f"cloudformation:{LIST_TARGETS}":
            return None
        stackset = _moto_stackset(call)
        if stackset is None:
            return answer(call, None)
        with self._lock:
            tracked = self._stacksets.get(stackset.arn)
            targets = {unit: set(regions) for unit, regions in tracked.targets.items()} if tracked else {}
        return answer(call, targets)  # a self-managed StackSet (not tracked) has no automatic deployment targets

    def after(self, call: AwsCall, response: Response) -> Response:
        if response.status != 200:
            return response
        handler = _HANDLERS.get(call.name)
        if handler is not None:
            handler(self, call, response)
        return response

    # --- what the StackSet calls tell -------------------------------------------------------------------------

    def _stackset_written(self, call: AwsCall, response: Response | None = None) -> None:
        stackset = _moto_stackset(call)
        if stackset is None or stackset.permission_model != SERVICE_MANAGED:
            return
        admin, region = stackset.arn.split(":")[4], stackset.arn.split(":")[3]
        with self._lock:
            tracked = self._stacksets.setdefault(stackset.arn, TrackedStackSet(stackset.arn, stackset.name, admin,
                                                                               region))
            if "AutoDeployment.Enabled" in call.params:
                tracked.enabled = _true(call.params["AutoDeployment.Enabled"])
            if "AutoDeployment.RetainStacksOnAccountRemoval" in call.params:
                tracked.retain = _true(call.params["AutoDeployment.RetainStacksOnAccountRemoval"])
            if any(key.startswith("AutoDeployment.") for key in call.params):
                tracked.depends_on = tuple(str(arn) for arn in call.listed("AutoDeployment.DependsOn"))
        if call.operation == "UpdateStackSet" and call.listed("Regions"):
            self._retry(call)

    def _stackset_deleted(self, call: AwsCall, response: Response | None = None) -> None:
        name = str(call.params.get("StackSetName", ""))
        with self._lock:
            for arn, tracked in list(self._stacksets.items()):
                if name in (tracked.name, arn) or arn.endswith(f"/{name}"):
                    del self._stacksets[arn]

    def _target_change(self, call: AwsCall) -> tuple[TrackedStackSet, set[str], list[str]] | None:
        """(StackSet, regions, OUs) a CreateStackInstances or DeleteStackInstances names as deployment targets;
        None when it is not a tracked StackSet's or it is narrowed to listed accounts."""
        tracked = self._tracked(call)
        if tracked is None or _narrowed(call):
            return None
        units = [str(u) for u in call.listed("DeploymentTargets.OrganizationalUnitIds")]
        return tracked, set(map(str, call.listed("Regions"))), units

    def _instances_created(self, call: AwsCall, response: Response | None = None) -> None:
        change = self._target_change(call)
        if change is None:
            return
        tracked, regions, units = change
        with self._lock:
            for unit in units:
                tracked.targets.setdefault(unit, set()).update(regions)

    def _instances_deleted(self, call: AwsCall, response: Response | None = None) -> None:
        change = self._target_change(call)
        if change is None:
            return
        tracked, regions, units = change
        with self._lock:
            for unit in units:
                left = tracked.targets.get(unit, set()) - regions
                if left:
                    tracked.targets[unit] = left
                else:
                    tracked.targets.pop(unit, None)

    def _retry(self, call: AwsCall, response: Response | None = None) -> None:
        """UpdateStackInstances (or UpdateStackSet with regions) runs failed automatic deployments' stacks again."""
        stackset = _moto_stackset(call)
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
        self._account_placed(account, view, _ancestry(view.management_account, source))

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
        plans: list[tuple[TrackedStackSet, str, set[str]]] = []
        leaving: list[TrackedStackSet] = []
        with self._lock:
            stacksets = [s for s in self._stacksets.values() if s.enabled]
        for tracked in stacksets:
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
        with self._running:
            for tracked in leaving:
                self._remove(tracked, account)
            self._run(account, plans)

    # --- deploying ----------------------------------------------------------------------------------------------

    def _run(self, account: str, plans: list[tuple[TrackedStackSet, str, set[str]]]) -> None:
        """Deploy the planned StackSets to ``account``: dependencies first, each one region at a time."""
        pending = {tracked.arn: (tracked, ou, regions) for tracked, ou, regions in plans}
        outcome: dict[str, str] = {}
        while pending:
            blocked = {arn: dep for arn, (tracked, _, _) in pending.items() for dep in tracked.depends_on
                       if outcome.get(dep) in (FAILED, NOT_STARTED)}
            for arn, dependency in blocked.items():
                tracked, ou, _ = pending.pop(arn)
                name = self._name(dependency)
                self._record(Deployment(tracked.name, account, ou, (), NOT_STARTED,
                                        reason=f"it depends on {name}, whose deployment to {account} did not succeed"))
                outcome[arn] = NOT_STARTED
            ready = [arn for arn, (tracked, _, _) in pending.items()
                     if all(dep not in pending for dep in tracked.depends_on)]
            if not ready:
                for arn, (tracked, ou, _) in list(pending.items()):
                    self._record(Deployment(tracked.name, account, ou, (), NOT_STARTED,
                                            reason="its AutoDeployment.DependsOn forms a cycle"))
                    outcome[arn] = NOT_STARTED
                return
            names = {pending[arn][0].name: arn for arn in ready}
            chosen = names[self.order.next_stackset(sorted(names), account)]
            tracked, ou, regions = pending.pop(chosen)
            outcome[chosen] = self._deploy(tracked, account, ou, regions)

    def _deploy(self, tracked: TrackedStackSet, account: str, ou: str, regions: set[str]) -> str:
        stackset = _backend_stackset(tracked)
        if stackset is None:
            return NOT_STARTED
        missing = [r for r in regions if stackset.instances.get_instance(account, r) is None]
        if not missing:
            return SUCCEEDED  # the account has this StackSet's instances already: nothing to do
        ordered = self.order.regions_for(missing, tracked.name, account)
        self.announce(f"auto-deployment {tracked.name} to {account}: {', '.join(ordered)}")
        results = deploy(stackset, account, ou, ordered, self.on_region)
        failure = next((r for r in results if not r.ok), None)
        result = FAILED if failure is not None else SUCCEEDED
        reason = ""
        if failure is not None:
            cancelled = [r.region for r in results[failure.position + 1:]]
            reason = f"{failure.region} failed: {failure.reason}"
            self.announce(f"auto-deployment {tracked.name} to {account} stopped: {reason}"
                          + (f"; cancelled: {', '.join(cancelled)}" if cancelled else ""))
        with self._lock:
            self.deployments.append(Deployment(tracked.name, account, ou, tuple(ordered), result, tuple(results),
                                               reason))
        return result

    def _record(self, deployment: Deployment) -> None:
        self.announce(deployment.line)
        with self._lock:
            self.deployments.append(deployment)

    def _remove(self, tracked: TrackedStackSet, account: str) -> None:
        stackset = _backend_stackset(tracked)
        if stackset is None:
            return
        regions = sorted({i.region_name for i in stackset.instances.stack_instances if i.account_id == account})
        if regions:
            stackset.instances.delete([account], regions)
            self.announce(f"auto-deployment {tracked.name}: {account} left its target OUs; its stack instances in "
                          f"{', '.join(regions)} were deleted (RetainStacksOnAccountRemoval is false)")

    def _name(self, arn: str) -> str:
        with self._lock:
            tracked = self._stacksets.get(arn)
        return tracked.name if tracked is not None else arn

    def _tracked(self, call: AwsCall) -> TrackedStackSet | None:
        stackset = _moto_stackset(call)
        if stackset is None:
            return None
        with self._lock:
            return self._stacksets.get(stackset.arn)


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


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


def _narrowed(call: AwsCall) -> bool:
    """Targets narrowed to listed accounts: those accounts are reached, their OU does not become a target."""
    kind = str(call.params.get("DeploymentTargets.AccountFilterType", "NONE"))
    return kind in FILTERS_THAT_NARROW or (bool(call.listed("DeploymentTargets.Accounts")) and kind == "NONE")


def _moto_stackset(call: AwsCall) -> Any:
    """The StackSet a CloudFormation call named, from the backend moto used for it (None if there is none)."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.iam.models import get_account_id_from

    account = get_account_id_from(call.forward_as or call.access_key)
    try:
        return cloudformation_backends[account][call.region].describe_stack_set(str(call.params.get("StackSetName")))
    except Exception:  # StackSetNotFoundException: the call did not concern a StackSet moto holds
        return None


def _backend_stackset(tracked: TrackedStackSet) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    try:
        return cloudformation_backends[tracked.admin_account][tracked.region].describe_stack_set(tracked.name)
    except Exception:  # deleted meanwhile
        return None


def _ancestry(management_account: str, parent: str) -> tuple[str, ...]:
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
