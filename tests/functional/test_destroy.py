"""``orgguard destroy`` on moto: what goes is named first, then the SCP, the regional StackSet's instances and
the StackSet, the global one's, the plain stacks, the hub."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

import commands.destroy
import deploy
from handlers.registry import FORWARD_RULE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from tests.support.organization import HOME_REGION, OTHER_REGION, REGIONS, FakeOrganization, session_in, settings_for
from tests.support.rollout import ROLLOUT_MARKS, roll_out, settings_file
from tests.support.settings_files import write_settings

pytestmark = ROLLOUT_MARKS

HUB_TEMPLATE = "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: orgguard-hub-test\n"


@pytest.fixture
def settings(organization: FakeOrganization) -> Settings:
    return settings_for(organization, organization={"include_management_account": True})


@pytest.fixture
def deployed(organization: FakeOrganization, management_session: boto3.Session, settings: Settings,
             monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> str:
    """Spoke rolled out (instances and the management account's plain stack), a hub stack; the config file."""
    roll_out(management_session, settings)
    hub = session_in(organization.account("hub"))
    hub.client("cloudformation").create_stack(StackName=settings.hub.stack_name, TemplateBody=HUB_TEMPLATE)
    monkeypatch.setattr(commands.destroy, "aws_session", lambda args, s: management_session)
    config = write_settings(tmp_path, settings)
    return str(config)


def rule_names(account: str, region: str) -> set[str]:
    return {r["Name"] for r in session_in(account, region).client("events").list_rules()["Rules"]}


def hub_stacks(organization: FakeOrganization) -> list[str]:
    cfn = session_in(organization.account("hub")).client("cloudformation")
    return [s["StackName"] for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]


def test_without_confirmation_nothing_goes_and_everything_is_named(
    organization: FakeOrganization, deployed: str, capsys: Any
) -> None:
    code = deploy.main(["destroy", "--config", deployed, "--hub"])  # stdin is not a terminal under pytest

    err = capsys.readouterr().err
    assert code == 1
    assert "6 stack instances of StackSet orgguard-spoke in 3 accounts" in err
    assert "3 stack instances of StackSet orgguard-spoke-global in 3 accounts" in err
    assert (f"the plain stacks in the management account {organization.management} (orgguard-spoke-global in "
            f"{HOME_REGION}; orgguard-spoke in {HOME_REGION}, {OTHER_REGION})") in err
    assert "the hub stack OrgGuardHub" in err
    assert "pass --yes" in err
    assert all(FORWARD_RULE_NAME in rule_names(a, r) for a in organization.accounts_in("Workloads") for r in REGIONS)
    assert hub_stacks(organization) == ["OrgGuardHub"]


def test_answer_other_than_destroy_keeps_everything(
    organization: FakeOrganization, deployed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")

    assert deploy.main(["destroy", "--config", deployed]) == 1
    assert FORWARD_RULE_NAME in rule_names(organization.management, HOME_REGION)


@pytest.mark.usefixtures("stackset_deletes_by_ou")
def test_yes_removes_instances_stackset_plain_stacks_and_hub(
    organization: FakeOrganization, management_session: boto3.Session, deployed: str
) -> None:
    deletes: list[dict[str, Any]] = []
    management_session.events.register(
        "provide-client-params.cloudformation.DeleteStackInstances", lambda params, **_: deletes.append(params))

    assert deploy.main(["destroy", "--config", deployed, "--hub", "--yes"]) == 0

    # The rules (other regions first), then the roles they name.
    assert [(d["StackSetName"], d["Regions"]) for d in deletes] == [
        ("orgguard-spoke", [OTHER_REGION]), ("orgguard-spoke", [HOME_REGION]),
        ("orgguard-spoke-global", [HOME_REGION])]
    assert all(d["DeploymentTargets"] == {"OrganizationalUnitIds": [organization.ou("Workloads")]} for d in deletes)
    assert all(d["RetainStacks"] is False for d in deletes)
    for account in [*organization.accounts_in("Workloads"), organization.management]:
        for region in REGIONS:
            assert FORWARD_RULE_NAME not in rule_names(account, region)
        roles = session_in(account).client("iam").list_roles()["Roles"]
        assert REMEDIATION_ROLE_NAME not in {r["RoleName"] for r in roles}
    summaries = management_session.client("cloudformation").list_stack_sets()["Summaries"]
    assert [s["StackSetName"] for s in summaries if s["Status"] != "DELETED"] == []
    assert hub_stacks(organization) == []


def test_nothing_deployed_means_nothing_to_remove(
    organization: FakeOrganization, management_session: boto3.Session, tmp_path: Any, capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(commands.destroy, "aws_session", lambda args, s: management_session)
    config = settings_file(tmp_path, organization)

    assert deploy.main(["destroy", "--config", str(config), "--hub"]) == 0
    assert "nothing to remove" in capsys.readouterr().out

    assert deploy.main(["destroy", "--config", str(config), "--hub", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "dry_run": False, "removed": False,
                                                   "would_remove": []}


def test_dry_run_lists_what_would_go_and_removes_nothing(
    organization: FakeOrganization, deployed: str, capsys: Any
) -> None:
    assert deploy.main(["destroy", "--config", deployed, "--hub", "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert "would remove:" in out and "the StackSet orgguard-spoke itself" in out and "OrgGuardHub" in out
    assert "the StackSet orgguard-spoke-global itself" in out
    assert FORWARD_RULE_NAME in rule_names(organization.management, OTHER_REGION)
    assert hub_stacks(organization) == ["OrgGuardHub"]


def test_a_json_dry_run_is_one_document(organization: FakeOrganization, deployed: str, capsys: Any) -> None:
    assert deploy.main(["destroy", "--config", deployed, "--hub", "--dry-run", "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document["dry_run"] is True and document["removed"] is False
    assert "the StackSet orgguard-spoke itself" in document["would_remove"]
    assert hub_stacks(organization) == ["OrgGuardHub"]
