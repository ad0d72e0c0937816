"""A new account gets the spoke from the StackSets' automatic deployment alone, whatever order AWS picks.

One embedded AWS for the module: an organization (one workload account), the hub from its synthesized template,
the real spoke rolled out by the real ``Rollout`` to the Workloads OU in three governed regions. Then, for every
order of the three regions, a new account is created and moved into Workloads; the sandbox deploys the two
StackSets to it (roles, then rules, in that order of regions), and a CloudTrail event in each region must reach
the hub's handler, both in the window right after that region's rules were created and afterwards.

The negative control shows why the spoke is two StackSets with ``DependsOn``: the single StackSet of before the
split (roles in the home region, rules everywhere, ``tests/functional/legacy``), or the two StackSets without
``DependsOn``, leave a region whose rules come before the roles dead-lettering what it forwards.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from handlers.audit import event_key, item_to_dict
from handlers.contract import CANARY_RULE_NAME, FORWARD_DLQ_NAME, TABLE_PARTITION_KEY
from handlers.registry import FORWARD_RULE_NAME, FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from sandbox.aws.deployment_order import DeploymentOrder
from sandbox.aws.server import EmbeddedAws, embedded_aws
from sandbox.aws.stackset_autodeploy import StackSetAutoDeployment
from sandbox.aws.stackset_autodeploy_runs import SUCCEEDED
from sandbox.aws.stackset_instances import RegionResult
from sandbox.demo.demo import seed_ids
from sandbox.world.cloudtrail import CloudTrail
from sandbox.world.flow import EventFlow, tap_lambda_targets
from sandbox.world.hub import DeployedHub, deploy_hub, moto_skips_quietly, synthesize_hub
from sandbox.world.identities import account_admin
from sandbox.world.lambda_runner import LAMBDA_SERVICE, LambdaRunner
from sandbox.world.organization import (
    HUB_REGION,
    SandboxOrganization,
    create_account,
    create_organization,
    move_account,
    sandbox_settings,
)
from stacksets.api import StackSetApi
from stacksets.operations import Waiter
from stacksets.parts import spoke_parts
from stacksets.rollout import Rollout
from tests.functional.legacy_spoke import legacy_parameters, render_legacy_spoke

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

HOME = HUB_REGION  # the spoke's home region: the hub's
REGIONS = (HOME, "eu-west-1", "ap-southeast-2")
ORDERS = list(itertools.permutations(REGIONS))


@dataclass
class World:
    aws: EmbeddedAws
    management: boto3.Session
    org: SandboxOrganization
    settings: Settings
    hub: DeployedHub
    flow: EventFlow
    accounts: int = 0

    @property
    def part(self) -> StackSetAutoDeployment:
        assert self.aws.parts.autodeploy is not None
        return self.aws.parts.autodeploy

    def unit(self, name: str) -> str:
        organizations = self.management.client("organizations")
        return str(organizations.create_organizational_unit(ParentId=self.org.root_id, Name=name)
                   ["OrganizationalUnit"]["Id"])

    def newcomer(self, unit: str) -> str:
        self.accounts += 1
        organizations = self.management.client("organizations")
        account = create_account(organizations, f"newcomer-{self.accounts}")
        move_account(organizations, account, unit)
        return account

    def audit(self, event_id: str) -> dict[str, Any] | None:
        response = self.hub.client("dynamodb").get_item(
            TableName=self.settings.hub.table_name, ConsistentRead=True,
            Key={TABLE_PARTITION_KEY: {"S": event_key(event_id)}})
        return item_to_dict(response["Item"]) if "Item" in response else None

    def recorded(self, event_id: str) -> bool:
        """Whether the hub's handler recorded the event, once everything waiting has been delivered."""
        self.flow.pump()
        return self.audit(event_id) is not None

    def dead_letters(self, account: str, region: str) -> list[dict[str, Any]]:
        """The spoke's dead-letter queue in ``account``/``region``: each event with its error attributes."""
        sqs = account_admin(self.management, account, region, "inspector").session(region).client("sqs")
        url = sqs.get_queue_url(QueueName=FORWARD_DLQ_NAME)["QueueUrl"]
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        return [{"event_id": json.loads(m["Body"])["detail"]["eventID"],
                 **{k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}} for m in messages]

    def misdelivered(self, account: str) -> list[str]:
        assert self.aws.parts.eventbridge is not None
        return [m.rule_arn for m in self.aws.parts.eventbridge.misdeliveries if f":{account}:" in m.rule_arn]


@dataclass
class Probe:
    """CloudTrail events from a new account: one per region right after that region's rules exist, and later."""

    world: World
    stackset: str  # the StackSet whose rules are watched
    trail: CloudTrail = field(default_factory=CloudTrail)
    window: dict[str, str] = field(default_factory=dict)  # region -> event id, put inside the window
    _ec2: dict[tuple[str, str], Any] = field(default_factory=dict)

    def event(self, account: str, region: str) -> str:
        """A user creates a VPC: CloudTrail puts the call on the account's default bus (the spoke takes it)."""
        if (account, region) not in self._ec2:
            identity = account_admin(self.world.management, account, region, "developer")
            self._ec2[(account, region)] = self.trail.watch(identity, region).client("ec2")
        self._ec2[(account, region)].create_vpc(CidrBlock="10.7.0.0/16")
        return str(self.trail.last("CreateVpc")["eventID"])

    def __call__(self, result: RegionResult) -> None:
        if result.stackset == self.stackset and result.ok:
            self.window[result.region] = self.event(result.account, result.region)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with moto_skips_quietly(), embedded_aws(HUB_REGION) as aws:
        seed_ids(aws.endpoint)
        management = aws.session()
        org = create_organization(management, member_names=("workload-alpha",))
        settings = sandbox_settings(org, {"organization": {"regions": list(REGIONS)}})
        template, asset_dir = synthesize_hub(settings)
        hub_session = account_admin(management, org.hub_account, HUB_REGION).session()
        hub = deploy_hub(hub_session, settings, template, asset_dir, org.organization_id)
        runner = LambdaRunner(aws.service_session(LAMBDA_SERVICE, org.hub_account), hub.resolver)
        flow = EventFlow(hub_session, hub.region, tap_lambda_targets(hub_session, hub.resolver, runner), runner)
        report = Rollout(management, settings, "SELF", stream=io.StringIO(),
                         make_waiter=lambda api: Waiter(api, io.StringIO(), poll_seconds=0.05)).run()
        assert report.ok, report.to_dict()
        yield World(aws, management, org, settings, hub, flow)


@pytest.fixture(autouse=True)
def lines(world: World) -> Iterator[list[str]]:
    printed: list[str] = []
    world.part.announce, world.part.on_region = printed.append, None
    yield printed
    world.part.order, world.part.on_region = DeploymentOrder(), None


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_a_new_account_is_covered_by_automatic_deployment_alone_in_every_region_order(
        world: World, lines: list[str], order: tuple[str, ...]) -> None:
    rollout = world.settings.rollout
    world.part.order = DeploymentOrder(regions=order)
    probe = Probe(world, rollout.stackset_name)
    world.part.on_region = probe
    account = world.newcomer(world.org.workloads_ou)

    assert lines == [f"auto-deployment {rollout.global_stackset_name} to {account}: {HOME}",
                     f"auto-deployment {rollout.stackset_name} to {account}: {', '.join(order)}"]
    assert [(d.stackset, d.outcome) for d in world.part.for_account(account)] == [
        (rollout.global_stackset_name, SUCCEEDED), (rollout.stackset_name, SUCCEEDED)]
    for part in spoke_parts(world.settings):  # ListStackInstances, as `orgguard status` reads it
        mine = {i.region: i for i in StackSetApi(world.management, world.settings, "SELF", part.stackset).instances()
                if i.account == account}
        assert {r: (i.status, i.ou) for r, i in mine.items()} == {
            r: ("CURRENT", world.org.workloads_ou) for r in part.regions}

    later = {region: probe.event(account, region) for region in order}
    world.flow.pump()
    for region in order:
        for event_id in (probe.window[region], later[region]):
            item = world.audit(event_id)
            assert item is not None, f"the hub did not record the event from {region}"
            assert (item["account"], item["region"], item["policy"]) == (account, region, "vpc-created")
    assert world.misdelivered(account) == []  # nothing dead-lettered or lost (the EventBridge part counts both)


def test_an_ou_empty_at_rollout_gets_the_spoke_with_its_first_account_and_no_further_rollout(
        world: World, lines: list[str]) -> None:
    """``orgguard stackset`` registers a target OU with no account in it; the first account moved in later gets
    the roles and the rules in every governed region from the automatic deployment alone."""
    rollout = world.settings.rollout
    staging = world.unit("Staging")
    settings = sandbox_settings(world.org, {"organization": {"regions": list(REGIONS),
                                                             "target_ous": [world.org.workloads_ou, staging]}})
    report = Rollout(world.management, settings, "SELF", stream=io.StringIO(),
                     make_waiter=lambda api: Waiter(api, io.StringIO(), poll_seconds=0.05)).run()
    assert report.ok, report.to_dict()
    assert [(s.action, s.created_instances) for s in report.stacksets] == [("unchanged", []), ("unchanged", [])]
    assert [[(t.ou, t.regions, t.accounts) for t in s.new_targets] for s in report.stacksets] == [
        [(staging, (HOME,), 0)], [(staging, REGIONS, 0)]]

    stackset_calls: list[str] = []  # CloudFormation calls of the operator from here on: none
    world.management.events.register("before-call.cloudformation.*",
                                     lambda model, **_: stackset_calls.append(model.name))
    try:
        account = world.newcomer(staging)
    finally:
        world.management.events.unregister("before-call.cloudformation.*")
    assert stackset_calls == []
    assert lines == [f"auto-deployment {rollout.global_stackset_name} to {account}: "
                     + ", ".join(DeploymentOrder().regions_for([HOME], rollout.global_stackset_name, account)),
                     f"auto-deployment {rollout.stackset_name} to {account}: "
                     + ", ".join(DeploymentOrder().regions_for(REGIONS, rollout.stackset_name, account))]

    inspector = account_admin(world.management, account, HOME, "inspector").session(HOME)
    for role in (FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME):
        assert inspector.client("iam").get_role(RoleName=role)["Role"]["RoleName"] == role
    probe = Probe(world, rollout.stackset_name)
    events = {}
    for region in REGIONS:
        rules = account_admin(world.management, account, region, "inspector").session(region).client("events")
        assert {FORWARD_RULE_NAME, CANARY_RULE_NAME} <= {r["Name"] for r in rules.list_rules()["Rules"]}, region
        events[region] = probe.event(account, region)
    world.flow.pump()
    for region, event_id in events.items():  # and the spoke forwards to the hub from every region
        item = world.audit(event_id)
        assert item is not None and (item["account"], item["region"]) == (account, region)


@pytest.fixture(scope="module")
def legacy_unit(world: World) -> str:
    """An OU the spoke of before the split targets: one StackSet, the roles in the home region, rules everywhere."""
    unit = world.unit("Legacy")
    cfn = world.management.client("cloudformation")
    parameters = legacy_parameters(world.settings)
    cfn.create_stack_set(StackSetName="orgguard-spoke-single", TemplateBody=render_legacy_spoke(world.settings),
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
                         Capabilities=["CAPABILITY_NAMED_IAM"], PermissionModel="SERVICE_MANAGED",
                         AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    cfn.create_stack_instances(StackSetName="orgguard-spoke-single", Regions=list(REGIONS),
                               DeploymentTargets={"OrganizationalUnitIds": [unit]})
    return unit


# The home region first (the control: nothing dead-lettered), second, last.
LEGACY_ORDERS = [REGIONS, (REGIONS[1], HOME, REGIONS[2]), (REGIONS[2], REGIONS[1], HOME)]


@pytest.mark.parametrize("order", LEGACY_ORDERS, ids=["-".join(o) for o in LEGACY_ORDERS])
def test_the_single_stackset_dead_letters_in_every_region_deployed_before_the_home_region(
        world: World, legacy_unit: str, order: tuple[str, ...]) -> None:
    world.part.order = DeploymentOrder(regions=order)
    probe = Probe(world, "orgguard-spoke-single")
    world.part.on_region = probe
    account = world.newcomer(legacy_unit)
    before_home = set(order[:order.index(HOME)])

    assert {r for r, event_id in probe.window.items() if not world.recorded(event_id)} == before_home
    assert len(world.misdelivered(account)) == len(before_home)
    for region in before_home:  # straight to the region's dead-letter queue, without retries
        (letter,) = world.dead_letters(account, region)
        assert letter["event_id"] == probe.window[region]
        assert letter["ERROR_CODE"] == "NO_PERMISSIONS" and "could not assume" in letter["ERROR_MESSAGE"]
        # The same rule delivers once the role exists: EventBridge looks the role up at each delivery.
        assert world.recorded(probe.event(account, region))


def test_without_depends_on_the_rules_may_all_come_before_the_roles(world: World, lines: list[str]) -> None:
    """The two StackSets, the rules' without ``DependsOn``: AWS may run the rules' StackSet first."""
    unit = world.unit("NoDependsOn")
    cfn = world.management.client("cloudformation")
    for part in spoke_parts(world.settings):
        name = f"{part.stackset}-nodeps"
        cfn.create_stack_set(StackSetName=name, TemplateBody=part.template, Capabilities=["CAPABILITY_NAMED_IAM"],
                             Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in part.parameters.items()],
                             PermissionModel="SERVICE_MANAGED", AutoDeployment={"Enabled": True})
        cfn.create_stack_instances(StackSetName=name, Regions=list(part.regions),
                                   DeploymentTargets={"OrganizationalUnitIds": [unit]})
    regional = f"{world.settings.rollout.stackset_name}-nodeps"
    world.part.order = DeploymentOrder(stacksets=(regional,))
    probe = Probe(world, regional)
    world.part.on_region = probe
    account = world.newcomer(unit)
    roles = f"{world.settings.rollout.global_stackset_name}-nodeps"
    assert [line.split(" to ")[0] for line in lines] == [f"auto-deployment {regional}", f"auto-deployment {roles}"]
    assert sorted(r for r, event_id in probe.window.items() if not world.recorded(event_id)) == sorted(REGIONS)
    assert len(world.misdelivered(account)) == len(REGIONS)
