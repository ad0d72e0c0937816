"""Every target OU is a deployment target of both StackSets, also when it holds no account yet.

CreateStackInstances naming an empty OU creates no instance but registers the OU, so its first account gets the
spoke automatically; ListStackSetAutoDeploymentTargets tells which OUs and regions are registered already. The
exact requests are checked with botocore's Stubber on the CloudFormation client (the organization is moto's);
the rollout, its second run and ``--dry-run`` on moto (whose missing ListStackSetAutoDeploymentTargets the
functional fixtures supply: ``tests/support/moto_targets.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from handlers.settings import Settings
from stacksets.api import StackSetApi
from stacksets.parts import GLOBAL, REGIONAL, spoke_parts
from stacksets.rollout_report import RolloutReport
from stacksets.targets import NewTarget
from tests.support.organization import (
    HOME_REGION,
    OTHER_REGION,
    REGIONS,
    STANDARD_LAYOUT,
    FakeOrganization,
    build_organization,
    settings_for,
)
from tests.support.rollout import ROLLOUT_MARKS, roll_out
from tests.support.settings_files import write_settings

pytestmark = ROLLOUT_MARKS
GLOBAL_STACKSET, REGIONAL_STACKSET = "orgguard-spoke-global", "orgguard-spoke"
GLOBAL_ARN = "arn:aws:cloudformation:us-east-1:111111111111:stackset/orgguard-spoke-global:0f6c1e5e"
PREFERENCES = {"RegionConcurrencyType": "PARALLEL", "MaxConcurrentPercentage": 100,
               "FailureTolerancePercentage": 10, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}
AUTO = {"Enabled": True, "RetainStacksOnAccountRemoval": False}


@pytest.fixture
def organization(mocked_aws: None) -> FakeOrganization:
    """The standard layout and an OU ``Staging`` with no account in it."""
    return build_organization({**STANDARD_LAYOUT, "Staging": []})


@pytest.fixture
def settings(organization: FakeOrganization) -> Settings:
    return settings_for(organization, ("Workloads", "Staging"))


@pytest.fixture
def stub(stackset_stub: Stubber) -> Stubber:
    return stackset_stub


class Story:
    """The CloudFormation requests of one rollout, each with the answer it gets, in order."""

    def __init__(self, stub: Stubber, settings: Settings, organization: FakeOrganization) -> None:
        self.stub, self.settings, self.org = stub, settings, organization
        self.parts = {part.kind: part for part in spoke_parts(settings)}
        self.operations = 0

    def named(self, name: str, **params: Any) -> dict[str, Any]:
        return {"StackSetName": name, "CallAs": "SELF", **params}

    def described(self, kind: str) -> None:
        part = self.parts[kind]
        auto = {**AUTO, "DependsOn": [GLOBAL_ARN]} if kind == REGIONAL else AUTO
        stack_set = {"StackSetName": part.stackset, "StackSetId": f"{part.stackset}:1", "Status": "ACTIVE",
                     "StackSetARN": GLOBAL_ARN if kind == GLOBAL else f"{GLOBAL_ARN}-regional",
                     "TemplateBody": part.template, "Capabilities": ["CAPABILITY_NAMED_IAM"],
                     "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in part.parameters.items()],
                     "PermissionModel": "SERVICE_MANAGED", "AutoDeployment": auto}
        self.stub.add_response("describe_stack_set", {"StackSet": stack_set}, self.named(part.stackset))

    def instances(self, kind: str) -> None:
        """Every account of Workloads has its instances, CURRENT, reached through Workloads."""
        part, workloads = self.parts[kind], self.org.ou("Workloads")
        summaries = [{"StackSetId": f"{part.stackset}:1", "Region": region, "Account": account, "Status": "CURRENT",
                      "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}, "OrganizationalUnitId": workloads}
                     for account in self.org.accounts_in("Workloads") for region in part.regions]
        self.stub.add_response("list_stack_instances", {"Summaries": summaries}, self.named(part.stackset))

    def targets(self, kind: str, targeted: Mapping[str, Sequence[str]]) -> None:
        summaries = [{"OrganizationalUnitId": unit, "Regions": list(regions)} for unit, regions in targeted.items()]
        self.stub.add_response("list_stack_set_auto_deployment_targets", {"Summaries": summaries},
                               self.named(self.parts[kind].stackset))

    def created(self, kind: str, units: list[str], regions: list[str]) -> None:
        """CreateStackInstances for ``units`` in ``regions``, then the operation polled until it succeeded."""
        name = self.parts[kind].stackset
        self.operations += 1
        operation = f"op-{self.operations}"
        self.stub.add_response("create_stack_instances", {"OperationId": operation}, self.named(
            name, DeploymentTargets={"OrganizationalUnitIds": units}, Regions=regions,
            OperationPreferences=PREFERENCES))
        self.stub.add_response("describe_stack_set_operation", {"StackSetOperation": {
            "OperationId": operation, "Action": "CREATE", "Status": "SUCCEEDED"}},
            self.named(name, OperationId=operation))
        self.stub.add_response("list_stack_set_operation_results", {"Summaries": []},
                               self.named(name, OperationId=operation))


def run(session: boto3.Session, settings: Settings) -> RolloutReport:
    return roll_out(session, settings)


def test_an_empty_target_ou_is_registered_in_every_region_and_nothing_else_is_created(
    organization: FakeOrganization, settings: Settings, management_session: boto3.Session, stub: Stubber
) -> None:
    staging, workloads = organization.ou("Staging"), organization.ou("Workloads")
    story = Story(stub, settings, organization)
    story.described(GLOBAL)
    story.described(REGIONAL)
    story.instances(GLOBAL)
    story.targets(GLOBAL, {workloads: [HOME_REGION]})
    story.created(GLOBAL, [staging], [HOME_REGION])  # the roles: the home region only
    story.instances(GLOBAL)
    story.described(GLOBAL)  # the ARN the rules depend on
    story.instances(REGIONAL)
    story.targets(REGIONAL, {workloads: list(REGIONS), staging: [OTHER_REGION]})  # registered in one region only
    story.created(REGIONAL, [staging], [HOME_REGION])
    story.instances(REGIONAL)

    report = run(management_session, settings)

    assert report.ok, report.to_dict()
    assert [(s.action, s.created_instances) for s in report.stacksets] == [("unchanged", []), ("unchanged", [])]
    assert report.stackset(GLOBAL).new_targets == [NewTarget(staging, "Staging", (HOME_REGION,), 0)]
    assert report.stackset(REGIONAL).new_targets == [NewTarget(staging, "Staging", (HOME_REGION,), 0)]


def test_an_empty_ou_of_a_new_spoke_is_registered_home_region_first_in_its_own_operation(
    organization: FakeOrganization, settings: Settings, management_session: boto3.Session, stub: Stubber
) -> None:
    """Neither OU registered (a spoke whose instances onboard made, one account at a time): both are named, the
    home region on its own first."""
    staging, workloads = organization.ou("Staging"), organization.ou("Workloads")
    story = Story(stub, settings, organization)
    story.described(GLOBAL)
    story.described(REGIONAL)
    story.instances(GLOBAL)
    story.targets(GLOBAL, {})
    story.created(GLOBAL, sorted([staging, workloads]), [HOME_REGION])
    story.instances(GLOBAL)
    story.described(GLOBAL)
    story.instances(REGIONAL)
    story.targets(REGIONAL, {})
    story.created(REGIONAL, sorted([staging, workloads]), [HOME_REGION])
    story.created(REGIONAL, sorted([staging, workloads]), [OTHER_REGION])
    story.instances(REGIONAL)

    assert run(management_session, settings).ok


def test_registered_targets_are_not_registered_again(
    organization: FakeOrganization, settings: Settings, management_session: boto3.Session, stub: Stubber
) -> None:
    staging, workloads = organization.ou("Staging"), organization.ou("Workloads")
    story = Story(stub, settings, organization)
    story.described(GLOBAL)
    story.described(REGIONAL)
    story.instances(GLOBAL)
    story.targets(GLOBAL, {workloads: [HOME_REGION], staging: [HOME_REGION]})
    story.instances(GLOBAL)
    story.described(GLOBAL)
    story.instances(REGIONAL)
    story.targets(REGIONAL, {workloads: list(REGIONS), staging: list(REGIONS)})
    story.instances(REGIONAL)

    report = run(management_session, settings)  # no CreateStackInstances: the Stubber has none to answer

    assert report.ok and [s.new_targets for s in report.stacksets] == [[], []]


def test_targets_are_read_page_by_page_as_delegated_admin(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_raw = {"organization": {"management_account": "111111111111", "hub_account": "222222222222",
                                     "hub_region": HOME_REGION, "regions": list(REGIONS),
                                     "target_ous": ["ou-ab12-11111111"]}}
    from handlers.settings import validate

    api = StackSetApi(boto3.Session(region_name=HOME_REGION), validate(settings_raw), "DELEGATED_ADMIN")
    asked = {"StackSetName": "orgguard-spoke", "CallAs": "DELEGATED_ADMIN"}
    with Stubber(api.cfn) as stub:
        stub.add_response("list_stack_set_auto_deployment_targets", {"Summaries": [
            {"OrganizationalUnitId": "ou-ab12-11111111", "Regions": [HOME_REGION]}], "NextToken": "page-2"}, asked)
        stub.add_response("list_stack_set_auto_deployment_targets", {"Summaries": [
            {"OrganizationalUnitId": "ou-ab12-11111111", "Regions": [OTHER_REGION]},
            {"OrganizationalUnitId": "r-ab12", "Regions": [HOME_REGION]}]},
            {**asked, "NextToken": "page-2"})
        stub.add_client_error("list_stack_set_auto_deployment_targets", "StackSetNotFoundException",
                              "StackSet orgguard-spoke not found", 404, expected_params=asked)

        assert api.auto_deployment_targets() == {"ou-ab12-11111111": {HOME_REGION, OTHER_REGION},
                                                 "r-ab12": {HOME_REGION}}
        assert api.auto_deployment_targets() == {}  # no StackSet yet: nothing targeted
        stub.assert_no_pending_responses()


# --- on moto ------------------------------------------------------------------------------------------------------


def record(session: boto3.Session, operation: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    session.events.register(f"provide-client-params.cloudformation.{operation}",
                            lambda params, **_: calls.append(dict(params)))
    return calls


def test_rollout_registers_the_empty_ou_once(
    organization: FakeOrganization, settings: Settings, management_session: boto3.Session
) -> None:
    staging, workloads = organization.ou("Staging"), organization.ou("Workloads")
    created = record(management_session, "CreateStackInstances")

    first = run(management_session, settings)

    assert first.ok, first.to_dict()
    assert [(c["StackSetName"], c["DeploymentTargets"]["OrganizationalUnitIds"], c["Regions"]) for c in created] == [
        (GLOBAL_STACKSET, sorted([staging, workloads]), [HOME_REGION]),
        (REGIONAL_STACKSET, sorted([staging, workloads]), [HOME_REGION]),
        (REGIONAL_STACKSET, sorted([staging, workloads]), [OTHER_REGION])]
    cfn = management_session.client("cloudformation")
    for name, regions in ((GLOBAL_STACKSET, [HOME_REGION]), (REGIONAL_STACKSET, sorted(REGIONS))):
        summaries = cfn.list_stack_set_auto_deployment_targets(StackSetName=name, CallAs="SELF")["Summaries"]
        assert {s["OrganizationalUnitId"]: sorted(s["Regions"]) for s in summaries} == {
            staging: regions, workloads: regions}

    created.clear()
    again = run(management_session, settings)

    assert created == [] and again.ok
    assert [(s.action, s.created_instances, s.new_targets) for s in again.stacksets] == [
        ("unchanged", [], []), ("unchanged", [], [])]


def test_dry_run_says_it_would_register_the_empty_ou(
    organization: FakeOrganization, settings: Settings, management_session: boto3.Session, tmp_path: Any,
    capsys: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import commands.stackset
    import deploy

    monkeypatch.setattr(commands.stackset, "aws_session", lambda args, s: management_session)
    config = write_settings(tmp_path, settings)
    run(management_session, settings_for(organization, ("Workloads",)))  # deployed before Staging was added
    created = record(management_session, "CreateStackInstances")

    assert deploy.main(["stackset", "--config", str(config), "--dry-run"]) == 0

    out = capsys.readouterr().out
    staging = organization.ou("Staging")
    assert (f"StackSet {GLOBAL_STACKSET} (global): would be unchanged\n  instances to create: 0\n"
            f"  would register OU {staging} (Staging, no account yet) in {HOME_REGION} as a deployment target") in out
    assert f"would register OU {staging} (Staging, no account yet) in {HOME_REGION}, {OTHER_REGION}" in out
    assert created == []
