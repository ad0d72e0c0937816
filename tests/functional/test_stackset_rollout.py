"""``deploy.py stackset`` on moto: the spoke reaches exactly the accounts of the target OUs, in every region.

Every assertion reads the member account's own state through a session assumed into that account.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from org_world import (
    HOME_REGION,
    OTHER_REGION,
    REGIONS,
    FakeOrganization,
    quick_waiter,
    session_in,
    settings_for,
)

from handlers.contract import CANARY_RULE_NAME, FORWARD_DLQ_NAME, HUB_HANDLER_ROLE_NAME
from handlers.registry import FORWARD_RULE_NAME, FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from spoke.render import hub_bus_arn
from stacksets.checks import trust_admits
from stacksets.rollout import Rollout, RolloutReport
from tests.settings_files import write_settings

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..SQS..QueuePolicy")
MUTATING_PREFIXES = ("Create", "Update", "Delete")


def roll_out(session: boto3.Session, settings: Settings, **options: Any) -> RolloutReport:
    return Rollout(session, settings, "SELF", make_waiter=quick_waiter).run(**options)


def forward_targets(account: str, region: str, rule: str = FORWARD_RULE_NAME) -> list[dict[str, Any]]:
    events = session_in(account, region).client("events")
    assert events.describe_rule(Name=rule)["State"] == "ENABLED"
    return list(events.list_targets_by_rule(Rule=rule)["Targets"])


def has_rule(account: str, region: str) -> bool:
    names = [r["Name"] for r in session_in(account, region).client("events").list_rules()["Rules"]]
    return FORWARD_RULE_NAME in names


def role(account: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(session_in(account).client("iam").get_role(RoleName=name)["Role"])
    except ClientError:
        return None


def test_rollout_reaches_every_account_of_the_target_ous_and_no_other(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization, organization={"include_management_account": True})
    report = roll_out(management_session, settings)

    governed = organization.accounts_in("Workloads")  # Workloads and the nested Workloads/Prod
    assert {organization.account("app-1"), organization.account("app-2")} <= set(governed)
    bus = hub_bus_arn(settings)
    hub_role = f"arn:aws:iam::{settings.organization.hub_account}:role/{HUB_HANDLER_ROLE_NAME}"
    for account in governed:
        for region in REGIONS:
            for rule in (FORWARD_RULE_NAME, CANARY_RULE_NAME):
                (target,) = forward_targets(account, region, rule)
                assert target["Arn"] == bus
                assert target["RoleArn"] == f"arn:aws:iam::{account}:role/{FORWARDER_ROLE_NAME}"
                assert target["DeadLetterConfig"]["Arn"] == f"arn:aws:sqs:{region}:{account}:{FORWARD_DLQ_NAME}"
        assert role(account, FORWARDER_ROLE_NAME) is not None
        remediation = role(account, REMEDIATION_ROLE_NAME)
        assert remediation is not None
        assert trust_admits(remediation["AssumeRolePolicyDocument"], hub_role)

    outside = [organization.account("hub"), organization.account("sandbox-1")]
    for account in outside:
        assert not any(has_rule(account, region) for region in REGIONS)
        assert role(account, REMEDIATION_ROLE_NAME) is None

    # The management account gets the spoke as a plain stack, since the StackSet never reaches it.
    assert all(has_rule(organization.management, region) for region in REGIONS)
    assert {m.region for m in report.management if m.action == "created"} == set(REGIONS)

    assert report.ok
    assert {(row.account, row.region) for row in report.instances} == {(a, r) for a in governed for r in REGIONS}
    assert all(row.status == "CURRENT" for row in report.instances)


def test_instances_are_created_home_region_first(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization)
    calls: list[dict[str, Any]] = []
    management_session.events.register(
        "provide-client-params.cloudformation.CreateStackInstances", lambda params, **_: calls.append(params)
    )
    roll_out(management_session, settings)

    assert [c["Regions"] for c in calls] == [[HOME_REGION], [OTHER_REGION]]
    for call in calls:
        assert call["DeploymentTargets"] == {"OrganizationalUnitIds": [organization.ou("Workloads")]}
        assert call["OperationPreferences"]["ConcurrencyMode"] == "SOFT_FAILURE_TOLERANCE"
        assert call["OperationPreferences"]["RegionConcurrencyType"] == "PARALLEL"
        assert call["CallAs"] == "SELF"


def test_second_run_changes_nothing(organization: FakeOrganization, management_session: boto3.Session) -> None:
    settings = settings_for(organization, organization={"include_management_account": True})
    roll_out(management_session, settings)

    mutating: list[str] = []
    management_session.events.register(
        "before-call.cloudformation.*",
        lambda model, **_: mutating.append(model.name) if model.name.startswith(MUTATING_PREFIXES) else None,
    )
    again = roll_out(management_session, settings)

    assert again.action == "unchanged"
    assert again.created_instances == []
    assert mutating == []
    assert {m.action for m in again.management} == {"unchanged"}
    assert again.ok


@pytest.mark.usefixtures("stackset_updates_redeploy")
def test_settings_change_updates_the_deployed_rules(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    before = settings_for(organization)
    roll_out(management_session, before)
    after = settings_for(organization, hub={"bus_name": "orgguard-v2"})

    report = roll_out(management_session, after)

    assert report.action == "updated"
    assert report.ok
    for account in organization.accounts_in("Workloads"):
        for region in REGIONS:
            (target,) = forward_targets(account, region)
            assert target["Arn"] == hub_bus_arn(after)
            assert target["Arn"].endswith(":event-bus/orgguard-v2")


def test_update_names_the_deployed_ous_and_runs_the_home_region_first(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    roll_out(management_session, settings_for(organization))
    calls: list[dict[str, Any]] = []
    management_session.events.register(
        "provide-client-params.cloudformation.UpdateStackSet", lambda params, **_: calls.append(params)
    )
    roll_out(management_session, settings_for(organization, hub={"bus_name": "orgguard-v2"}))

    assert [c["Regions"] for c in calls] == [[HOME_REGION], [OTHER_REGION]]
    for call in calls:
        assert call["DeploymentTargets"] == {"OrganizationalUnitIds": [organization.ou("Workloads")]}
        assert call["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
        assert call["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
        assert ":event-bus/${HubBusName}" in call["TemplateBody"]
        assert {"ParameterKey": "HubBusName", "ParameterValue": "orgguard-v2"} in call["Parameters"]


def test_account_moved_into_a_target_ou_gets_the_spoke_on_the_next_run(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    from org_world import move_account

    settings = settings_for(organization)
    roll_out(management_session, settings)
    newcomer = organization.account("sandbox-1")
    move_account(organization, newcomer, "Workloads/Prod")

    report = roll_out(management_session, settings)

    assert report.action == "unchanged"
    assert set(report.created_instances) == {(newcomer, r) for r in REGIONS}
    assert all(has_rule(newcomer, region) for region in REGIONS)


def test_json_output_of_the_command(
    organization: FakeOrganization, management_session: boto3.Session, tmp_path: Any, capsys: Any
) -> None:
    import deploy

    config = write_settings(tmp_path, settings_for(organization, ("Workloads/Prod",)))
    code = deploy.main(["stackset", "--config", str(config), "--json"])

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["ok"] is True
    assert document["action"] == "created"
    rows = {(row["account"], row["region"]): row["status"] for row in document["instances"]}
    prod = organization.accounts_in("Workloads/Prod")
    assert rows == {(a, r): "CURRENT" for a in prod for r in REGIONS}


def test_automatic_deployment_switched_off_by_hand_is_switched_back_on(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization)
    roll_out(management_session, settings)

    def as_if_disabled(parsed: dict[str, Any], **_: Any) -> None:  # moto does not keep AutoDeployment
        parsed["StackSet"]["AutoDeployment"] = {"Enabled": False, "DependsOn": []}

    management_session.events.register("after-call.cloudformation.DescribeStackSet", as_if_disabled)
    assert roll_out(management_session, settings).action == "updated"

    def as_deployed(parsed: dict[str, Any], **_: Any) -> None:
        parsed["StackSet"]["AutoDeployment"] = {"Enabled": True, "RetainStacksOnAccountRemoval": False,
                                                "DependsOn": []}

    management_session.events.unregister("after-call.cloudformation.DescribeStackSet", as_if_disabled)
    management_session.events.register("after-call.cloudformation.DescribeStackSet", as_deployed)
    assert roll_out(management_session, settings).action == "unchanged"
