"""``orgguard stackset`` on a spoke deployed before the split (one StackSet whose template holds the roles):
the plan is printed, then the regional StackSet lets the roles go, the global one creates them again, and the
regional automatic deployment is made to depend on the global one. The management account's plain stacks
follow the same order. The old state is built with the StackSet API and the template of that time
(``legacy/spoke-single.yaml.j2``)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from legacy_spoke import legacy_parameters, render_legacy_spoke

from handlers.registry import FORWARD_RULE_NAME, FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from spoke.render import forwarder_role_arn, hub_bus_arn
from stacksets.parts import holds_roles
from tests.support.organization import HOME_REGION, OTHER_REGION, REGIONS, FakeOrganization, session_in, settings_for
from tests.support.rollout import ROLLOUT_MARKS, roll_out, settings_file

pytestmark = [*ROLLOUT_MARKS,
              # moto, replacing the old stacks: their roles were conditional on the home region
              pytest.mark.filterwarnings("ignore:Unable to delete .*Role, as it was never created"),
              pytest.mark.usefixtures("stackset_updates_redeploy")]
GLOBAL, REGIONAL = "orgguard-spoke-global", "orgguard-spoke"
MUTATING_PREFIXES = ("Create", "Update", "Delete")


@pytest.fixture
def settings(organization: FakeOrganization) -> Settings:
    return settings_for(organization, organization={"include_management_account": True})


@pytest.fixture
def legacy(organization: FakeOrganization, management_session: boto3.Session, settings: Settings) -> str:
    """The spoke as the single-StackSet code deployed it: home region first, then the others; and the plain
    stack in the management account."""
    body = render_legacy_spoke(settings)
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(legacy_parameters(settings).items())]
    cfn = management_session.client("cloudformation")
    cfn.create_stack_set(StackSetName=REGIONAL, TemplateBody=body, Parameters=parameters,
                         Capabilities=["CAPABILITY_NAMED_IAM"], PermissionModel="SERVICE_MANAGED",
                         AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    for region in REGIONS:
        cfn.create_stack_instances(StackSetName=REGIONAL, Regions=[region],
                                   DeploymentTargets={"OrganizationalUnitIds": [organization.ou("Workloads")]})
    for region in REGIONS:
        management_session.client("cloudformation", region_name=region).create_stack(
            StackName=REGIONAL, TemplateBody=body, Parameters=parameters, Capabilities=["CAPABILITY_NAMED_IAM"])
    for account in [*organization.accounts_in("Workloads"), organization.management]:
        assert has_role(account, REMEDIATION_ROLE_NAME)
    return body


def has_role(account: str, name: str) -> bool:
    try:
        session_in(account).client("iam").get_role(RoleName=name)
    except ClientError:
        return False
    return True


def calls_of(session: boto3.Session) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    for operation in ("UpdateStackSet", "CreateStackSet", "CreateStackInstances"):
        session.events.register(
            f"provide-client-params.cloudformation.{operation}",
            lambda params, event_name, **_: calls.append((event_name.rsplit(".", 1)[-1], dict(params))))
    return calls



def test_a_single_stackset_spoke_is_migrated_roles_released_first_then_created_again(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, legacy: str
) -> None:
    calls = calls_of(management_session)
    witness = organization.account("app-1")
    roles_when_the_global_stackset_is_created: list[bool] = []
    management_session.events.register(
        "provide-client-params.cloudformation.CreateStackSet",
        lambda **_: roles_when_the_global_stackset_is_created.append(has_role(witness, REMEDIATION_ROLE_NAME)))

    report = roll_out(management_session, settings)

    assert report.ok, report.to_dict()
    plan = "\n".join(report.migration)
    assert f"StackSet {REGIONAL} still holds the roles" in plan
    assert "orgguard-forward-dlq" in plan and "not-onboarded" in plan and "orgguard redrive" in plan
    global_arn = management_session.client("cloudformation").describe_stack_set(
        StackSetName=GLOBAL)["StackSet"]["StackSetARN"]
    steps = [(op, p["StackSetName"], p.get("Regions"), p.get("AutoDeployment", {}).get("DependsOn"))
             for op, p in calls]
    assert steps == [
        ("UpdateStackSet", REGIONAL, [HOME_REGION], None),
        ("UpdateStackSet", REGIONAL, [OTHER_REGION], None),
        ("CreateStackSet", GLOBAL, None, None),
        ("CreateStackInstances", GLOBAL, [HOME_REGION], None),
        ("UpdateStackSet", REGIONAL, None, [global_arn]),
    ]
    assert roles_when_the_global_stackset_is_created == [False], "the old template let the roles go first"

    cfn = management_session.client("cloudformation")
    assert not holds_roles(cfn.describe_stack_set(StackSetName=REGIONAL)["StackSet"]["TemplateBody"], REGIONAL)
    assert holds_roles(cfn.describe_stack_set(StackSetName=GLOBAL)["StackSet"]["TemplateBody"], GLOBAL)
    for account in organization.accounts_in("Workloads"):
        assert has_role(account, REMEDIATION_ROLE_NAME) and has_role(account, FORWARDER_ROLE_NAME)
        for region in REGIONS:
            events = session_in(account, region).client("events")
            (target,) = events.list_targets_by_rule(Rule=FORWARD_RULE_NAME)["Targets"]
            assert (target["Arn"], target["RoleArn"]) == (hub_bus_arn(settings), forwarder_role_arn(settings, account))

    # The management account: its regional stacks let the roles go, then its global stack holds them.
    management = organization.management
    assert [m.stack for m in report.management] == [REGIONAL, REGIONAL, GLOBAL]
    assert {(m.stack, m.region, m.action) for m in report.management} == {
        (REGIONAL, HOME_REGION, "updated"), (REGIONAL, OTHER_REGION, "updated"), (GLOBAL, HOME_REGION, "created")}
    for region in REGIONS:
        body = management_session.client("cloudformation", region_name=region).get_template(
            StackName=REGIONAL)["TemplateBody"]
        assert not holds_roles(body, REGIONAL)
    assert has_role(management, REMEDIATION_ROLE_NAME)

    again = roll_out(management_session, settings)
    assert again.migration == [] and [s.action for s in again.stacksets] == ["unchanged", "unchanged"]
    assert {m.action for m in again.management} == {"unchanged"}


def test_the_command_prints_the_plan_and_with_dry_run_changes_nothing(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, legacy: str,
    tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import commands.stackset
    import deploy

    monkeypatch.setattr(commands.stackset, "aws_session", lambda args, s: management_session)
    config = settings_file(tmp_path, organization)  # include_management_account = false
    called: list[str] = []
    management_session.events.register("before-call.cloudformation.*", lambda model, **_: called.append(model.name))

    assert deploy.main(["stackset", "--config", str(config), "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert "migration (would run; nothing changed):" in out
    assert f"1. update {REGIONAL} to the regional template" in out
    assert f"2. create StackSet {GLOBAL}" in out and "orgguard redrive" in out
    assert f"StackSet {GLOBAL} (global): would be created" in out
    assert f"StackSet {REGIONAL} (regional): would be updated" in out
    assert [name for name in called if name.startswith(MUTATING_PREFIXES)] == []
    assert has_role(organization.account("app-2"), REMEDIATION_ROLE_NAME)

    assert deploy.main(["stackset", "--config", str(config)]) == 0

    captured = capsys.readouterr()
    assert f"migration: StackSet {REGIONAL} still holds the roles" in captured.err  # printed before it runs
    assert "`orgguard redrive`" in captured.err
    assert has_role(organization.account("app-2"), REMEDIATION_ROLE_NAME)


def test_a_global_stackset_made_by_hand_next_to_the_old_one_stops_the_migration(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, legacy: str
) -> None:
    from stacksets.errors import RolloutError

    management_session.client("cloudformation").create_stack_set(
        StackSetName=GLOBAL, TemplateBody="Resources: {}", PermissionModel="SERVICE_MANAGED")
    calls = calls_of(management_session)

    with pytest.raises(RolloutError, match="both would own roles of the same names"):
        roll_out(management_session, settings)
    assert calls == []
    assert has_role(organization.account("app-1"), REMEDIATION_ROLE_NAME)
