"""The sandbox part that plays StackSet automatic deployment (``sandbox/aws/stackset_autodeploy.py``), on its own.

An organization on the embedded AWS, small service-managed StackSets (a queue per region, a role with a fixed name)
aimed at OUs of each test's own, and accounts moved into those OUs: what gets deployed, in which order, one region
at a time, stopping at the first failure, dependencies first. The real spoke's story is in
``test_sandbox_autodeploy_story.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from sandbox.aws.deployment_order import DeploymentOrder
from sandbox.aws.server import EmbeddedAws, embedded_aws
from sandbox.aws.stackset_autodeploy import StackSetAutoDeployment
from sandbox.aws.stackset_autodeploy_runs import FAILED, NOT_STARTED, SUCCEEDED
from sandbox.aws.stackset_instances import CANCELLED, RegionResult
from sandbox.world.identities import account_admin
from sandbox.world.organization import SandboxOrganization, create_account, create_organization, move_account

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def queue_template(name: str) -> str:
    return json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}}}})


def role_template(name: str) -> str:
    """A role with a fixed name in every region: IAM is global, so the second region's stack fails."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "events.amazonaws.com"}}]}
    return json.dumps({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": name, "AssumeRolePolicyDocument": trust}}}})


@dataclass
class World:
    aws: EmbeddedAws
    management: boto3.Session
    org: SandboxOrganization

    @property
    def part(self) -> StackSetAutoDeployment:
        assert self.aws.parts.autodeploy is not None
        return self.aws.parts.autodeploy

    @property
    def cfn(self) -> Any:
        return self.management.client("cloudformation")

    def unit(self, name: str) -> str:
        organizations = self.management.client("organizations")
        return str(organizations.create_organizational_unit(ParentId=self.org.root_id, Name=name)
                   ["OrganizationalUnit"]["Id"])

    def stackset(self, name: str, template: str, unit: str, regions: tuple[str, ...] = REGIONS,
                 auto: dict[str, Any] | None = None) -> str:
        """A service-managed StackSet aimed at ``unit`` (no account in it yet); returns its ARN."""
        self.cfn.create_stack_set(StackSetName=name, TemplateBody=template, PermissionModel="SERVICE_MANAGED",
                                  Capabilities=["CAPABILITY_NAMED_IAM"],
                                  AutoDeployment=auto or {"Enabled": True, "RetainStacksOnAccountRemoval": False})
        self.cfn.create_stack_instances(StackSetName=name, DeploymentTargets={"OrganizationalUnitIds": [unit]},
                                        Regions=list(regions))
        return str(self.cfn.describe_stack_set(StackSetName=name)["StackSet"]["StackSetARN"])

    def newcomer(self, name: str, unit: str) -> str:
        """A new account, moved into ``unit`` (which triggers the automatic deployments)."""
        organizations = self.management.client("organizations")
        account = create_account(organizations, name)
        move_account(organizations, account, unit)
        return account

    def instances(self, stackset: str, account: str) -> dict[str, dict[str, Any]]:
        summaries = self.cfn.list_stack_instances(StackSetName=stackset)["Summaries"]
        return {s["Region"]: s for s in summaries if s["Account"] == account}

    def queues(self, account: str, region: str) -> list[str]:
        sqs = account_admin(self.management, account, region).session(region).client("sqs")
        return [url.rsplit("/", 1)[-1] for url in sqs.list_queues().get("QueueUrls", [])]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with embedded_aws("us-east-1") as aws:
        management = aws.session()
        yield World(aws, management, create_organization(management, member_names=()))


@pytest.fixture(autouse=True)
def fresh_part(world: World) -> Iterator[list[str]]:
    """Each test sets its own order and observer; the printed lines are collected rather than printed."""
    lines: list[str] = []
    part = world.part
    part.order, part.on_region, part.announce = DeploymentOrder(), None, lines.append
    yield lines
    part.order, part.on_region = DeploymentOrder(), None


# --- deploying ------------------------------------------------------------------------------------------------


def test_a_moved_account_gets_the_stackset_one_region_at_a_time_in_the_order_printed(
        world: World, fresh_part: list[str]) -> None:
    unit = world.unit("OneAtATime")
    world.stackset("one-at-a-time", queue_template("one-at-a-time"), unit)
    world.part.order = DeploymentOrder(regions=("eu-west-1", "ap-southeast-2", "us-east-1"))
    windows: list[tuple[str, list[str]]] = []

    def look(result: RegionResult) -> None:  # between two regions: what exists already, and what not yet
        windows.append((result.region, sorted(world.instances("one-at-a-time", result.account))))

    world.part.on_region = look
    account = world.newcomer("one-at-a-time", unit)
    assert fresh_part == [f"auto-deployment one-at-a-time to {account}: eu-west-1, ap-southeast-2, us-east-1"]
    assert windows == [("eu-west-1", ["eu-west-1"]), ("ap-southeast-2", ["ap-southeast-2", "eu-west-1"]),
                       ("us-east-1", list(sorted(REGIONS)))]
    instances = world.instances("one-at-a-time", account)
    assert {r: (i["Status"], i["StackInstanceStatus"]["DetailedStatus"], i["OrganizationalUnitId"])
            for r, i in instances.items()} == {r: ("CURRENT", "SUCCEEDED", unit) for r in REGIONS}
    for region in REGIONS:  # the stacks' resources exist in the member account, in each region
        assert world.queues(account, region) == ["one-at-a-time"]
    (deployment,) = world.part.for_account(account)
    assert deployment.outcome == SUCCEEDED and deployment.regions == ("eu-west-1", "ap-southeast-2", "us-east-1")
    operations = world.cfn.list_stack_set_operations(StackSetName="one-at-a-time")["Summaries"]
    assert [o["Status"] for o in operations] == ["SUCCEEDED", "SUCCEEDED"]  # CreateStackInstances, then this one


def test_without_an_explicit_order_the_seeded_order_is_used_and_printed(world: World, fresh_part: list[str]) -> None:
    unit = world.unit("Seeded")
    world.stackset("seeded", queue_template("seeded"), unit)
    account = world.newcomer("seeded", unit)
    expected = DeploymentOrder().regions_for(REGIONS, "seeded", account)
    assert fresh_part == [f"auto-deployment seeded to {account}: {', '.join(expected)}"]
    assert world.part.for_account(account)[0].regions == tuple(expected)


def test_the_first_failed_region_stops_the_deployment_and_cancels_the_rest(world: World, fresh_part: list[str]) -> None:
    unit = world.unit("NoTolerance")
    world.stackset("no-tolerance", role_template("NoToleranceRole"), unit)
    world.part.order = DeploymentOrder(regions=("ap-southeast-2", "us-east-1", "eu-west-1"))
    account = world.newcomer("no-tolerance", unit)
    instances = world.instances("no-tolerance", account)
    state = {r: (i["Status"], i["StackInstanceStatus"]["DetailedStatus"]) for r, i in instances.items()}
    assert state == {"ap-southeast-2": ("CURRENT", "SUCCEEDED"), "us-east-1": ("OUTDATED", "FAILED"),
                     "eu-west-1": ("OUTDATED", CANCELLED)}
    assert "NoToleranceRole" in instances["us-east-1"]["StatusReason"]
    (deployment,) = world.part.for_account(account)
    assert deployment.outcome == FAILED
    assert fresh_part[1].startswith(f"auto-deployment no-tolerance to {account} stopped: us-east-1 failed")
    assert fresh_part[1].endswith("cancelled: eu-west-1")
    operations = world.cfn.list_stack_set_operations(StackSetName="no-tolerance")["Summaries"]
    assert operations[-1]["Status"] == "FAILED"

    # As on AWS, the failed and cancelled instances are retried by UpdateStackInstances once the cause is gone:
    # here a StackSet whose template no longer names the role in every region.
    world.cfn.update_stack_set(StackSetName="no-tolerance", TemplateBody=queue_template("no-tolerance"),
                               Capabilities=["CAPABILITY_NAMED_IAM"])
    world.cfn.update_stack_instances(StackSetName="no-tolerance", Regions=["us-east-1", "eu-west-1"],
                                     DeploymentTargets={"OrganizationalUnitIds": [unit]})
    retried = world.instances("no-tolerance", account)
    assert {r: i["Status"] for r, i in retried.items()} == {r: "CURRENT" for r in REGIONS}


def test_a_dependent_stackset_waits_for_its_dependency_whatever_the_order_prefers(
        world: World, fresh_part: list[str]) -> None:
    unit = world.unit("Dependent")
    roles = world.stackset("dependent-roles", role_template("DependentRole"), unit, regions=("us-east-1",))
    world.stackset("dependent-rules", queue_template("dependent-rules"), unit,
                   auto={"Enabled": True, "RetainStacksOnAccountRemoval": False, "DependsOn": [roles]})
    world.part.order = DeploymentOrder(stacksets=("dependent-rules", "dependent-roles"))
    steps: list[tuple[str, str]] = []
    world.part.on_region = lambda result: steps.append((result.stackset, result.region))
    account = world.newcomer("dependent", unit)
    assert steps[0] == ("dependent-roles", "us-east-1")
    assert [s for s, _ in steps[1:]] == ["dependent-rules"] * 3
    assert [line.split(" to ")[0] for line in fresh_part] == ["auto-deployment dependent-roles",
                                                              "auto-deployment dependent-rules"]
    assert {d.stackset: d.outcome for d in world.part.for_account(account)} == {
        "dependent-roles": SUCCEEDED, "dependent-rules": SUCCEEDED}


def test_a_stackset_whose_dependency_failed_does_not_start(world: World, fresh_part: list[str]) -> None:
    unit = world.unit("DependencyFailed")
    roles = world.stackset("failing-roles", role_template("FailingRole"), unit, regions=("us-east-1", "eu-west-1"))
    world.stackset("blocked-rules", queue_template("blocked-rules"), unit,
                   auto={"Enabled": True, "RetainStacksOnAccountRemoval": False, "DependsOn": [roles]})
    account = world.newcomer("dependency-failed", unit)
    outcomes = {d.stackset: d for d in world.part.for_account(account)}
    assert outcomes["failing-roles"].outcome == FAILED
    assert outcomes["blocked-rules"].outcome == NOT_STARTED
    assert world.instances("blocked-rules", account) == {}
    assert all(world.queues(account, region) == [] for region in REGIONS)
    assert fresh_part[-1] == (f"auto-deployment blocked-rules to {account}: not started (it depends on "
                              f"failing-roles, whose deployment to {account} did not succeed)")


def test_only_stacksets_with_automatic_deployment_that_target_the_ou_deploy(
        world: World, fresh_part: list[str]) -> None:
    unit, other = world.unit("Targeted"), world.unit("Elsewhere")
    world.stackset("targeted", queue_template("targeted"), unit)
    world.stackset("disabled", queue_template("disabled"), unit, auto={"Enabled": False})
    world.stackset("elsewhere", queue_template("elsewhere"), other)
    # An instance made for one listed account (how `orgguard onboard` reaches an account) does not target its OU.
    parked = world.newcomer("parked", other)
    world.cfn.create_stack_set(StackSetName="listed-only", TemplateBody=queue_template("listed-only"),
                               PermissionModel="SERVICE_MANAGED", AutoDeployment={"Enabled": True})
    world.cfn.create_stack_instances(StackSetName="listed-only", Regions=["us-east-1"], DeploymentTargets={
        "OrganizationalUnitIds": [unit], "Accounts": [parked], "AccountFilterType": "INTERSECTION"})
    fresh_part.clear()
    account = world.newcomer("targeted", unit)
    assert [d.stackset for d in world.part.for_account(account)] == ["targeted"]
    assert [line.split(":")[0] for line in fresh_part] == [f"auto-deployment targeted to {account}"]
    for name in ("disabled", "elsewhere", "listed-only"):
        assert world.instances(name, account) == {}, name
    # Turning automatic deployment on later makes the next newcomer get it.
    world.cfn.update_stack_set(StackSetName="disabled", UsePreviousTemplate=True,
                               AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    second = world.newcomer("targeted-later", unit)
    assert sorted(d.stackset for d in world.part.for_account(second)) == ["disabled", "targeted"]


def test_an_account_below_a_target_ou_gets_it_and_one_that_leaves_loses_it(world: World) -> None:
    unit = world.unit("Parent")
    child = world.management.client("organizations").create_organizational_unit(
        ParentId=unit, Name="Child")["OrganizationalUnit"]["Id"]
    world.stackset("nested", queue_template("nested"), unit, regions=("us-east-1",))
    world.stackset("kept", queue_template("kept"), unit, regions=("us-east-1",),
                   auto={"Enabled": True, "RetainStacksOnAccountRemoval": True})
    account = world.newcomer("nested", child)
    assert world.instances("nested", account)["us-east-1"]["OrganizationalUnitId"] == unit
    assert sorted(world.queues(account, "us-east-1")) == ["kept", "nested"]
    move_account(world.management.client("organizations"), account, world.org.root_id)
    assert world.instances("nested", account) == {}  # RetainStacksOnAccountRemoval false: instance and stack go
    assert list(world.instances("kept", account)) == ["us-east-1"]
    assert world.queues(account, "us-east-1") == ["kept"]


def test_an_account_created_in_a_targeted_root_gets_it(world: World, fresh_part: list[str]) -> None:
    world.stackset("whole-organization", queue_template("whole-organization"), world.org.root_id,
                   regions=("eu-west-1",))
    try:
        account = create_account(world.management.client("organizations"), "born-in-root")
        assert fresh_part == [f"auto-deployment whole-organization to {account}: eu-west-1"]
        assert world.queues(account, "eu-west-1") == ["whole-organization"]
    finally:  # every account of the later tests would get it too
        world.cfn.update_stack_set(StackSetName="whole-organization", UsePreviousTemplate=True,
                                   AutoDeployment={"Enabled": False})


# --- ListStackSetAutoDeploymentTargets -------------------------------------------------------------------------


def test_the_targets_are_listed_in_awss_shape_an_empty_ou_included(world: World) -> None:
    """moto lacks the operation; the part answers it from the targets it tracks, and boto3 reads the answer."""
    empty, narrowed = world.unit("ListedEmpty"), world.unit("ListedNarrowed")
    world.stackset("listed", queue_template("listed"), empty)  # no account in the OU: a target all the same
    parked = world.newcomer("listed-parked", narrowed)
    world.cfn.create_stack_instances(StackSetName="listed", Regions=["us-east-1"], DeploymentTargets={
        "OrganizationalUnitIds": [narrowed], "Accounts": [parked], "AccountFilterType": "INTERSECTION"})

    def listed(**page: Any) -> dict[str, Any]:
        return dict(world.cfn.list_stack_set_auto_deployment_targets(StackSetName="listed", CallAs="SELF", **page))

    assert listed()["Summaries"] == [{"OrganizationalUnitId": empty, "Regions": sorted(REGIONS)}]
    world.cfn.delete_stack_instances(StackSetName="listed", Regions=["eu-west-1"], RetainStacks=False,
                                     DeploymentTargets={"OrganizationalUnitIds": [empty]})
    assert listed()["Summaries"] == [{"OrganizationalUnitId": empty, "Regions": ["ap-southeast-2", "us-east-1"]}]

    second = world.unit("ListedSecond")
    world.cfn.create_stack_instances(StackSetName="listed", Regions=["us-east-1"],
                                     DeploymentTargets={"OrganizationalUnitIds": [second]})
    first = listed(MaxResults=1)
    assert len(first["Summaries"]) == 1 and first["NextToken"]
    rest = listed(MaxResults=1, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    assert {s["OrganizationalUnitId"] for s in first["Summaries"] + rest["Summaries"]} == {empty, second}

    with pytest.raises(world.cfn.exceptions.StackSetNotFoundException):
        world.cfn.list_stack_set_auto_deployment_targets(StackSetName="no-such-stackset")
