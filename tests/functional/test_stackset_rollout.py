"""``orgguard stackset`` on moto: the spoke reaches exactly the accounts of the target OUs, in every region,
the roles (global StackSet, home region) before the rules (regional StackSet, every region).

Every assertion reads the member account's own state through a session assumed into that account.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers.contract import CANARY_RULE_NAME, FORWARD_DLQ_NAME, HUB_HANDLER_ROLE_NAME
from handlers.registry import FORWARD_RULE_NAME, FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from spoke.render import hub_bus_arn
from stacksets.checks import trust_admits
from stacksets.parts import GLOBAL, REGIONAL
from tests.support.organization import HOME_REGION, OTHER_REGION, REGIONS, FakeOrganization, session_in, settings_for
from tests.support.rollout import ROLLOUT_MARKS, roll_out, settings_file
from tests.support.stackset_calls import GLOBAL_STACKSET, REGIONAL_STACKSET, record, stackset_arn

pytestmark = ROLLOUT_MARKS
MUTATING_PREFIXES = ("Create", "Update", "Delete")


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

    # The management account gets the spoke as plain stacks, since the StackSets never reach it.
    assert all(has_rule(organization.management, region) for region in REGIONS)
    assert role(organization.management, REMEDIATION_ROLE_NAME) is not None
    assert {(m.stack, m.region) for m in report.management if m.action == "created"} == {
        (GLOBAL_STACKSET, HOME_REGION), *((REGIONAL_STACKSET, r) for r in REGIONS)}

    assert report.ok
    # The roles once per account, in the home region; the rules in every region.
    assert {(row.account, row.region) for row in report.stackset(GLOBAL).instances} == {
        (a, HOME_REGION) for a in governed}
    assert {(row.account, row.region) for row in report.stackset(REGIONAL).instances} == {
        (a, r) for a in governed for r in REGIONS}
    assert all(row.status == "CURRENT" for row in report.instances)


def test_roles_are_deployed_before_the_rules_and_the_rules_depend_on_them(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization)
    created = record(management_session, "CreateStackSet")
    instances = record(management_session, "CreateStackInstances")
    order: list[str] = []
    for operation in ("CreateStackSet", "CreateStackInstances"):
        management_session.events.register(
            f"provide-client-params.cloudformation.{operation}",
            lambda params, event_name, **_: order.append(f"{event_name.rsplit('.', 1)[-1]} {params['StackSetName']}"))

    roll_out(management_session, settings)

    assert order == [f"CreateStackSet {GLOBAL_STACKSET}", f"CreateStackInstances {GLOBAL_STACKSET}",
                     f"CreateStackSet {REGIONAL_STACKSET}", f"CreateStackInstances {REGIONAL_STACKSET}",
                     f"CreateStackInstances {REGIONAL_STACKSET}"]
    assert [(c["StackSetName"], c["Regions"]) for c in instances] == [
        (GLOBAL_STACKSET, [HOME_REGION]), (REGIONAL_STACKSET, [HOME_REGION]), (REGIONAL_STACKSET, [OTHER_REGION])]
    global_call, regional_call = created
    assert global_call["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    # An account joining a target OU gets its roles before its rules, whatever region StackSets starts with.
    assert regional_call["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False,
                                               "DependsOn": [stackset_arn(management_session, GLOBAL_STACKSET)]}
    assert "AWS::IAM::Role" in global_call["TemplateBody"] and "AWS::IAM::Role" not in regional_call["TemplateBody"]
    for call in instances:
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

    assert [(s.name, s.action, s.created_instances) for s in again.stacksets] == [
        (GLOBAL_STACKSET, "unchanged", []), (REGIONAL_STACKSET, "unchanged", [])]
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

    assert [s.action for s in report.stacksets] == ["updated", "updated"]  # the forwarder's bus and the targets
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
    calls = record(management_session, "UpdateStackSet")
    roll_out(management_session, settings_for(organization, hub={"bus_name": "orgguard-v2"}))

    assert [(c["StackSetName"], c["Regions"]) for c in calls] == [
        (GLOBAL_STACKSET, [HOME_REGION]), (REGIONAL_STACKSET, [HOME_REGION]), (REGIONAL_STACKSET, [OTHER_REGION])]
    for call in calls:
        assert call["DeploymentTargets"] == {"OrganizationalUnitIds": [organization.ou("Workloads")]}
        # UpdateStackSet takes AutoDeployment only without DeploymentTargets and Regions (botocore's model).
        assert "AutoDeployment" not in call
        assert call["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
        assert ":event-bus/${HubBusName}" in call["TemplateBody"]
        assert {"ParameterKey": "HubBusName", "ParameterValue": "orgguard-v2"} in call["Parameters"]


def test_account_moved_into_a_target_ou_gets_the_spoke_on_the_next_run(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    from tests.support.organization import move_account

    settings = settings_for(organization)
    roll_out(management_session, settings)
    newcomer = organization.account("sandbox-1")
    move_account(organization, newcomer, "Workloads/Prod")

    report = roll_out(management_session, settings)

    assert [s.action for s in report.stacksets] == ["unchanged", "unchanged"]
    assert set(report.stackset(GLOBAL).created_instances) == {(newcomer, HOME_REGION)}
    assert set(report.stackset(REGIONAL).created_instances) == {(newcomer, r) for r in REGIONS}
    assert all(has_rule(newcomer, region) for region in REGIONS)
    assert role(newcomer, FORWARDER_ROLE_NAME) is not None


def test_json_output_of_the_command(
    organization: FakeOrganization, management_session: boto3.Session, tmp_path: Any, capsys: Any
) -> None:
    import deploy

    config = settings_file(tmp_path, organization, ("Workloads/Prod",))
    code = deploy.main(["stackset", "--config", str(config), "--json"])

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["ok"] is True
    assert [(s["stackset"], s["part"], s["action"]) for s in document["stacksets"]] == [
        (GLOBAL_STACKSET, "global", "created"), (REGIONAL_STACKSET, "regional", "created")]
    rows = {(row["stackset"], row["account"], row["region"]): row["status"] for row in document["instances"]}
    prod = organization.accounts_in("Workloads/Prod")
    assert rows == {**{(GLOBAL_STACKSET, a, HOME_REGION): "CURRENT" for a in prod},
                    **{(REGIONAL_STACKSET, a, r): "CURRENT" for a in prod for r in REGIONS}}


def test_dry_run_says_what_it_would_do_and_does_nothing(
    organization: FakeOrganization, management_session: boto3.Session, tmp_path: Any, capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import commands.stackset
    import deploy

    monkeypatch.setattr(commands.stackset, "aws_session", lambda args, settings: management_session)
    config = settings_file(tmp_path, organization)  # include_management_account = false
    called: list[str] = []
    management_session.events.register("before-call.*.*", lambda model, **_: called.append(model.name))

    assert deploy.main(["stackset", "--config", str(config), "--dry-run", "--protect"]) == 0

    out = capsys.readouterr().out
    assert f"StackSet {GLOBAL_STACKSET} (global): would be created" in out
    assert f"StackSet {REGIONAL_STACKSET} (regional): would be created" in out
    assert f"{organization.account('app-1')} {HOME_REGION}" in out
    assert "service control policy OrgGuardSpokeProtection: would be created" in out
    assert "DescribeStackSet" in called and "ListPolicies" in called
    assert [name for name in called if name.startswith((*MUTATING_PREFIXES, "Enable", "Attach"))] == []
    assert management_session.client("cloudformation").list_stack_sets()["Summaries"] == []
