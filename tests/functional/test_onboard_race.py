"""``orgguard onboard`` right after an account moved into a target OU, while the automatic deployment runs.

On AWS the account's instances are PENDING, then RUNNING, before they succeed, and a StackSet operation may be in
progress (CreateStackInstances then fails with OperationInProgressException). The StackSet requests and answers are
told with botocore's Stubber, in order; the organization, the account's stacks (created by a rollout on moto
before the story starts) and the hub are moto's, so the rest of the checklist is proven for real.
"""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import stacksets.onboard_instances
from handlers.settings import Settings
from stacksets.errors import RolloutError
from stacksets.onboard_proof import INSTANCES, OnboardReport
from stacksets.onboarding import Onboarding
from stacksets.operations import Waiter
from stacksets.parts import GLOBAL, REGIONAL, spoke_parts
from tests.support.organization import HOME_REGION, OTHER_REGION, REGIONS, FakeOrganization, add_account
from tests.support.rollout import ROLLOUT_MARKS, FakeHub, build_hub, roll_out

pytestmark = ROLLOUT_MARKS
PREFERENCES = {"RegionConcurrencyType": "PARALLEL", "MaxConcurrentPercentage": 100,
               "FailureTolerancePercentage": 10, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}
BUSY = "Another Operation on StackSet orgguard-spoke:1 is in progress"


@pytest.fixture
def newcomer(organization: FakeOrganization, management_session: boto3.Session, settings: Settings) -> str:
    """app-4, just moved into Workloads/Prod; its stacks exist in moto (a rollout made them, as the automatic
    deployment would on AWS), so only the StackSet answers tell the race."""
    roll_out(management_session, settings)
    account = add_account(organization, "app-4", "Workloads/Prod")
    roll_out(management_session, settings)
    return account


@pytest.fixture
def hub(settings: Settings, newcomer: str) -> FakeHub:
    return build_hub(settings)


class Race:
    """The StackSet requests onboarding makes, each with the answer it gets, and what the waiter shows."""

    def __init__(self, stub: Stubber, settings: Settings, organization: FakeOrganization, account: str) -> None:
        self.stub, self.org, self.account = stub, organization, account
        self.parts = {part.kind: part for part in spoke_parts(settings)}
        self.stream = io.StringIO()
        self.sleeps: list[float] = []

    def waiter(self, api: Any) -> Waiter:
        return Waiter(api, stream=self.stream, poll_seconds=5, sleep=self.sleeps.append, timeout_seconds=60,
                      clock=lambda: 5.0 * len(self.sleeps))  # time passes only while the waiter sleeps

    def named(self, kind: str, **params: Any) -> dict[str, Any]:
        return {"StackSetName": self.parts[kind].stackset, "CallAs": "SELF", **params}

    def described(self) -> None:
        for kind in (GLOBAL, REGIONAL):
            part = self.parts[kind]
            self.stub.add_response("describe_stack_set", {"StackSet": {
                "StackSetName": part.stackset, "Status": "ACTIVE", "TemplateBody": part.template}}, self.named(kind))

    def listed(self, kind: str, **detailed: str) -> None:
        """ListStackInstances: the newcomer's instance per region (DetailedStatus; none where not given), and
        another account's, done long ago."""
        stackset = self.parts[kind].stackset
        summaries = [self._summary(stackset, self.org.account("app-1"), HOME_REGION, "SUCCEEDED")]
        summaries += [self._summary(stackset, self.account, region.replace("_", "-"), status)
                      for region, status in detailed.items()]
        self.stub.add_response("list_stack_instances", {"Summaries": summaries}, self.named(kind))

    def _summary(self, stackset: str, account: str, region: str, detailed: str) -> dict[str, Any]:
        return {"StackSetId": f"{stackset}:1", "Account": account, "Region": region,
                "Status": "CURRENT" if detailed == "SUCCEEDED" else "OUTDATED",
                "StackInstanceStatus": {"DetailedStatus": detailed}, "OrganizationalUnitId": self.org.ou("Workloads")}

    def create(self, kind: str, regions: list[str]) -> dict[str, Any]:
        return self.named(kind, Regions=regions, OperationPreferences=PREFERENCES, DeploymentTargets={
            "OrganizationalUnitIds": [self.org.ou("Workloads")], "Accounts": [self.account],
            "AccountFilterType": "INTERSECTION"})

    def busy(self, kind: str, regions: list[str]) -> None:
        self.stub.add_client_error("create_stack_instances", "OperationInProgressException", BUSY, 409,
                                   expected_params=self.create(kind, regions))

    def created(self, kind: str, regions: list[str], operation: str) -> None:
        self.stub.add_response("create_stack_instances", {"OperationId": operation}, self.create(kind, regions))
        self.stub.add_response("describe_stack_set_operation", {"StackSetOperation": {
            "OperationId": operation, "Action": "CREATE", "Status": "SUCCEEDED"}},
            self.named(kind, OperationId=operation))
        self.stub.add_response("list_stack_set_operation_results", {"Summaries": [
            {"Account": self.account, "Region": r, "Status": "SUCCEEDED"} for r in regions]},
            self.named(kind, OperationId=operation))


def onboard(session: boto3.Session, settings: Settings, race: Race, hub: FakeHub) -> OnboardReport:
    return Onboarding(session, settings, "SELF", make_waiter=race.waiter,
                      canary_waiter=hub.canary_waiter()).run([race.account], timeout=0)


def instances_check(report: OnboardReport) -> str:
    ((check,),) = [[c for c in proof.checks if c.name == INSTANCES] for proof in report.accounts]
    assert check.ok, check.detail
    return check.detail


def test_instances_of_a_running_automatic_deployment_are_waited_for_not_created(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, newcomer: str,
    hub: FakeHub, stackset_stub: Stubber,
) -> None:
    race = Race(stackset_stub, settings, organization, newcomer)
    race.described()
    # The roles' StackSet: the automatic deployment has the newcomer's instance queued, then running, then done.
    race.listed(GLOBAL, us_east_1="PENDING")
    race.listed(GLOBAL, us_east_1="RUNNING")
    race.listed(GLOBAL, us_east_1="SUCCEEDED")
    # The rules' StackSet: one region listed, the other not yet; creating it meets the deployment at work,
    # which is then seen creating that very instance: it is waited for, not created a second time.
    race.listed(REGIONAL, us_east_1="SUCCEEDED")
    race.busy(REGIONAL, [OTHER_REGION])
    race.listed(REGIONAL, us_east_1="SUCCEEDED", eu_west_1="RUNNING")
    race.listed(REGIONAL, us_east_1="SUCCEEDED", eu_west_1="SUCCEEDED")

    report = onboard(management_session, settings, race, hub)

    assert report.ok, report.to_dict()
    assert "already there, none added" in instances_check(report)
    assert report.operations == []
    assert race.sleeps == [5, 5, 5, 5]  # PENDING, RUNNING, the busy StackSet, RUNNING: each one poll interval
    shown = race.stream.getvalue()
    assert "automatic deployment orgguard-spoke-global [" in shown and "0/1  1 pending" in shown
    assert "0/1  1 running" in shown and "1/1" in shown
    assert "another operation is running on the StackSet; waiting 5s, then retry 1/30" in shown
    assert "automatic deployment orgguard-spoke [" in shown and "1/2  1 running" in shown


def test_a_busy_stackset_is_retried_and_the_missing_instance_created(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, newcomer: str,
    hub: FakeHub, stackset_stub: Stubber,
) -> None:
    race = Race(stackset_stub, settings, organization, newcomer)
    race.described()
    race.listed(GLOBAL, us_east_1="SUCCEEDED")
    race.listed(REGIONAL, us_east_1="SUCCEEDED")
    race.busy(REGIONAL, [OTHER_REGION])  # another operation (not creating this instance) still runs
    race.listed(REGIONAL, us_east_1="SUCCEEDED")
    race.created(REGIONAL, [OTHER_REGION], "op-1")
    race.listed(REGIONAL, us_east_1="SUCCEEDED", eu_west_1="SUCCEEDED")

    report = onboard(management_session, settings, race, hub)

    assert report.ok, report.to_dict()
    assert f"added now: orgguard-spoke {OTHER_REGION}" in instances_check(report)
    assert [(o.operation_id, o.status) for o in report.operations] == [("op-1", "SUCCEEDED")]
    assert race.sleeps == [5]
    assert {(c.name, c.region) for p in report.accounts for c in p.checks if c.ok} >= {
        ("canary reached the hub", r) for r in REGIONS}


def test_a_stackset_busy_for_too_long_is_given_up_with_what_to_do(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, newcomer: str,
    hub: FakeHub, stackset_stub: Stubber, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stacksets.onboard_instances, "BUSY_RETRIES", 2)
    race = Race(stackset_stub, settings, organization, newcomer)
    race.described()
    race.listed(GLOBAL, us_east_1="SUCCEEDED")
    for _ in range(3):
        race.listed(REGIONAL, us_east_1="SUCCEEDED")
        race.busy(REGIONAL, [OTHER_REGION])

    with pytest.raises(RolloutError, match=r"still running: wait for it to finish.*gave up after 2 retries"):
        onboard(management_session, settings, race, hub)
    assert race.sleeps == [5, 5]


def test_an_automatic_deployment_still_running_at_the_timeout_fails_the_check_as_running(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, newcomer: str,
    hub: FakeHub, stackset_stub: Stubber,
) -> None:
    race = Race(stackset_stub, settings, organization, newcomer)
    race.described()
    for _ in range(14):  # polled every 5 s until the 60 s timeout has passed
        race.listed(GLOBAL, us_east_1="RUNNING")
    race.listed(REGIONAL, us_east_1="SUCCEEDED", eu_west_1="SUCCEEDED")

    report = onboard(management_session, settings, race, hub)

    assert not report.ok
    ((check,),) = [[c for c in proof.checks if c.name == INSTANCES] for proof in report.accounts]
    assert not check.ok and check.detail == (
        f"orgguard-spoke-global {HOME_REGION}: still RUNNING (an operation (such as the automatic deployment) is "
        "still deploying; run this again when it ends)")
    assert "1 instance(s) still in progress after 60s" in race.stream.getvalue()
    assert len(race.sleeps) == 13
