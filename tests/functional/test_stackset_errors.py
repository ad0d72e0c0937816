"""The errors a user meets before anything is deployed, each with what to do, and nothing deployed."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from stacksets.errors import RolloutError
from tests.support.organization import HOME_REGION, FakeOrganization, build_organization, session_in, settings_for
from tests.support.rollout import ROLLOUT_MARKS, roll_out, settings_file
from tests.support.settings_files import organization_raw, write_settings

pytestmark = ROLLOUT_MARKS



def no_stackset(session: boto3.Session) -> bool:
    return session.client("cloudformation").list_stack_sets()["Summaries"] == []


def test_trusted_access_not_enabled(mocked_aws: None, management_session: boto3.Session) -> None:
    organization = build_organization(trusted_access=False)

    with pytest.raises(RolloutError, match="trusted access for CloudFormation StackSets is not enabled") as error:
        roll_out(management_session, settings_for(organization))

    assert "activate-organizations-access" in str(error.value)
    assert no_stackset(management_session)


def test_target_ou_that_does_not_exist(organization: FakeOrganization, management_session: boto3.Session) -> None:
    settings = settings_for(organization)
    missing = "ou-zz99-99999999"
    settings = settings_for(organization, organization={"target_ous": [organization.ou("Workloads"), missing]})

    with pytest.raises(RolloutError, match=f"lists {missing}, which does not exist"):
        roll_out(management_session, settings)
    assert no_stackset(management_session)


def test_caller_that_is_not_the_management_account(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    member = session_in(organization.account("app-1"))

    with pytest.raises(RolloutError, match="not the management account") as error:
        roll_out(member, settings_for(organization))

    assert "--call-as DELEGATED_ADMIN" in str(error.value)
    assert no_stackset(management_session)


def test_delegated_admin_mode_from_the_management_account(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    with pytest.raises(RolloutError, match="use --call-as SELF"):
        roll_out(management_session, settings_for(organization), call_as="DELEGATED_ADMIN")


def test_settings_naming_another_management_account(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization, organization={"management_account": "999999999999"})

    with pytest.raises(RolloutError, match="organization's management account is"):
        roll_out(management_session, settings)


def test_command_reports_an_operation_already_running(
    organization: FakeOrganization, management_session: boto3.Session, tmp_path: Any, capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import commands.stackset
    import deploy

    def busy(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = {"Error": {"Code": "OperationInProgressException", "Message": "Another Operation is in progress"}}
        return AWSResponse("https://cloudformation", 400, {}, None), body

    management_session.events.register("before-call.cloudformation.CreateStackInstances", busy)
    monkeypatch.setattr(commands.stackset, "aws_session", lambda args, settings: management_session)

    code = deploy.main(["stackset", "--config", str(settings_file(tmp_path, organization))])

    assert code == 1
    err = capsys.readouterr().err
    assert "another operation on StackSet orgguard-spoke-global is still running" in err  # the roles come first
    assert "list-stack-set-operations" in err


def test_command_without_credentials(tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import deploy

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    config = write_settings(tmp_path, organization_raw("111111111111", "222222222222", HOME_REGION, [HOME_REGION]))
    code = deploy.main(["stackset", "--config", str(config)])

    assert code == 1
    assert "no AWS credentials found" in capsys.readouterr().err
