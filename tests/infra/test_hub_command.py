"""`orgguard hub` without AWS: the checks before a deploy (moto), the CDK command lines, bootstrapping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import commands.hub as hub_command
import deploy
from tests.support.settings_files import organization_raw, write_settings

MOTO_ACCOUNT = "123456789012"  # the account moto's default credentials belong to
REGION = "us-east-1"
Capture = pytest.CaptureFixture[str]


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials for moto; nothing from the machine's own AWS configuration is read."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    with mock_aws():
        yield


@pytest.fixture()
def tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """npx on the PATH and the pinned CDK CLI installed, as after `make install`."""
    cdk_bin = tmp_path / "node_modules" / ".bin" / "cdk"
    cdk_bin.parent.mkdir(parents=True)
    cdk_bin.write_text("")
    monkeypatch.setattr(hub_command, "CDK_BIN", cdk_bin)
    monkeypatch.setattr(hub_command.shutil, "which", lambda name: f"/usr/bin/{name}")
    return cdk_bin


class FakeCdk:
    """Records the CDK CLI calls; a deploy creates the hub stack (with outputs) in moto."""

    def __init__(self, exit_code: int = 0) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.exit_code = exit_code
        self.to_stderr = False

    def __call__(self, command: list[str], environment: dict[str, str], to_stderr: bool = False) -> int:
        self.calls.append((command, environment))
        self.to_stderr = to_stderr
        if command[3] == "deploy" and self.exit_code == 0:
            boto3.client("cloudformation", region_name=REGION).create_stack(
                StackName=command[4],
                TemplateBody=json.dumps({
                    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                    "Outputs": {
                        "BusArn": {"Value": f"arn:aws:events:{REGION}:{MOTO_ACCOUNT}:event-bus/orgguard"},
                        "TopicArn": {"Value": f"arn:aws:sns:{REGION}:{MOTO_ACCOUNT}:orgguard-alerts"},
                        "TableName": {"Value": "orgguard-audit"},
                    },
                }))
        return self.exit_code

    @property
    def commands(self) -> list[list[str]]:
        return [c for c, _ in self.calls]


@pytest.fixture()
def fake_cdk(monkeypatch: pytest.MonkeyPatch) -> FakeCdk:
    fake = FakeCdk()
    monkeypatch.setattr(hub_command, "run_cli", fake)
    return fake


def write_config(tmp_path: Path, hub_account: str = MOTO_ACCOUNT, organization_id: str = "") -> Path:
    return write_settings(tmp_path, organization_raw("111111111111", hub_account, REGION, [REGION],
                                                     organization_id=organization_id))


def create_toolkit_stack() -> None:
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=hub_command.TOOLKIT_STACK,
        TemplateBody=json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}))


def test_bootstraps_a_new_account_then_deploys_with_the_organization_id_from_organizations(
        aws: None, tools: Path, fake_cdk: FakeCdk, tmp_path: Path, capsys: Capture) -> None:
    organization = boto3.client("organizations").create_organization(FeatureSet="ALL")["Organization"]
    organization_id = organization["Id"]
    config = write_config(tmp_path)

    assert deploy.main(["hub", "--config", str(config)]) == 0

    bootstrap, deploy_call = fake_cdk.commands
    assert bootstrap == ["npx", "--no-install", "cdk", "bootstrap", f"aws://{MOTO_ACCOUNT}/{REGION}"]
    assert deploy_call[:5] == ["npx", "--no-install", "cdk", "deploy", "OrgGuardHub"]
    assert deploy_call[deploy_call.index("--parameters") + 1] == f"OrganizationId={organization_id}"
    assert deploy_call[deploy_call.index("--require-approval") + 1] == "broadening"
    assert deploy_call[deploy_call.index("--app") + 1].endswith(" -m hub.app")
    environment = fake_cdk.calls[1][1]
    assert environment["ORGGUARD_CONFIG"] == str(config.resolve())
    assert environment["AWS_REGION"] == REGION
    out = capsys.readouterr().out
    assert f"arn:aws:events:{REGION}:{MOTO_ACCOUNT}:event-bus/orgguard" in out
    assert f"arn:aws:sns:{REGION}:{MOTO_ACCOUNT}:orgguard-alerts" in out
    assert out.index("BusArn") < out.index("TopicArn") < out.index("TableName")


def test_skips_bootstrap_when_the_toolkit_stack_exists(aws: None, tools: Path, fake_cdk: FakeCdk,
                                                       tmp_path: Path, capsys: Capture) -> None:
    create_toolkit_stack()
    config = write_config(tmp_path, organization_id="o-fromconfig1")

    assert deploy.main(["hub", "--config", str(config), "--yes", "--json"]) == 0
    [deploy_call] = fake_cdk.commands
    assert deploy_call[3] == "deploy"
    assert deploy_call[deploy_call.index("--parameters") + 1] == "OrganizationId=o-fromconfig1"
    assert deploy_call[deploy_call.index("--require-approval") + 1] == "never"
    report = json.loads(capsys.readouterr().out)
    assert report["outputs"]["BusArn"].endswith(":event-bus/orgguard")
    assert list(report["outputs"])[:2] == ["BusArn", "TopicArn"]


def test_unknown_profile_is_refused_before_anything_runs(aws: None, tools: Path, fake_cdk: FakeCdk,
                                                         tmp_path: Path, capsys: Capture) -> None:
    config = write_config(tmp_path, organization_id="o-a1b2c3d4e5")
    assert deploy.main(["hub", "--config", str(config), "--profile", "hub-admin"]) == 1
    assert fake_cdk.commands == []
    assert "AWS profile 'hub-admin' not found" in capsys.readouterr().err


def test_needs_bootstrap_only_without_a_toolkit_stack(aws: None) -> None:
    session = boto3.Session(region_name=REGION)
    assert hub_command.needs_bootstrap(session, REGION) is True
    create_toolkit_stack()
    assert hub_command.needs_bootstrap(session, REGION) is False


def test_wrong_account_is_refused_before_anything_runs(aws: None, tools: Path, fake_cdk: FakeCdk,
                                                       tmp_path: Path, capsys: Capture) -> None:
    config = write_config(tmp_path, hub_account="222222222222", organization_id="o-a1b2c3d4e5")
    assert deploy.main(["hub", "--config", str(config)]) == 1
    assert fake_cdk.commands == []
    error = capsys.readouterr().err
    assert f"these credentials are for account {MOTO_ACCOUNT}" in error
    assert "organization.hub_account) is 222222222222" in error


def test_organization_id_flag_is_checked(aws: None, tools: Path, fake_cdk: FakeCdk, tmp_path: Path,
                                         capsys: Capture) -> None:
    config = write_config(tmp_path)
    assert deploy.main(["hub", "--config", str(config), "--organization-id", "o-BAD"]) == 1
    assert fake_cdk.commands == []
    assert "--organization-id = 'o-BAD'" in capsys.readouterr().err


def test_missing_organization_id_without_an_organization_says_how_to_give_it(
        aws: None, tools: Path, fake_cdk: FakeCdk, tmp_path: Path, capsys: Capture) -> None:
    config = write_config(tmp_path)
    assert deploy.main(["hub", "--config", str(config)]) == 1
    assert fake_cdk.commands == []
    assert "pass --organization-id" in capsys.readouterr().err


def test_dry_run_prints_the_commands_and_runs_none(aws: None, tools: Path, fake_cdk: FakeCdk, tmp_path: Path,
                                                   capsys: Capture) -> None:
    config = write_config(tmp_path, organization_id="o-a1b2c3d4e5")
    assert deploy.main(["hub", "--config", str(config), "--dry-run"]) == 0
    assert fake_cdk.commands == []
    out = capsys.readouterr().out
    assert f"npx --no-install cdk bootstrap aws://{MOTO_ACCOUNT}/{REGION}" in out
    assert "OrganizationId=o-a1b2c3d4e5" in out


def test_a_failed_cdk_deploy_is_reported_with_its_exit_code(aws: None, tools: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: Capture) -> None:
    create_toolkit_stack()
    failing = FakeCdk(exit_code=3)
    monkeypatch.setattr(hub_command, "run_cli", failing)
    config = write_config(tmp_path, organization_id="o-a1b2c3d4e5")
    assert deploy.main(["hub", "--config", str(config)]) == 1
    error = capsys.readouterr().err
    assert "`cdk deploy` failed with exit code 3" in error
    assert "--yes" in error


def test_missing_npx_says_what_to_install(tools: Path, monkeypatch: pytest.MonkeyPatch, fake_cdk: FakeCdk,
                                          tmp_path: Path, capsys: Capture) -> None:
    monkeypatch.setattr(hub_command.shutil, "which", lambda name: None)
    assert deploy.main(["hub", "--config", str(write_config(tmp_path))]) == 1
    assert "npx not found: install Node.js" in capsys.readouterr().err
    assert fake_cdk.commands == []


def test_missing_cdk_cli_says_make_install(tools: Path, monkeypatch: pytest.MonkeyPatch, fake_cdk: FakeCdk,
                                           tmp_path: Path, capsys: Capture) -> None:
    tools.unlink()
    assert deploy.main(["hub", "--config", str(write_config(tmp_path))]) == 1
    assert "run `make install`" in capsys.readouterr().err


def test_no_credentials_gets_a_clear_message(tools: Path, fake_cdk: FakeCdk, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: Capture) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                     "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert deploy.main(["hub", "--config", str(write_config(tmp_path))]) == 1
    assert "no AWS credentials found" in capsys.readouterr().err
    assert fake_cdk.commands == []


def test_the_hub_takes_no_region_option(tools: Path, fake_cdk: FakeCdk, tmp_path: Path, capsys: Capture) -> None:
    """The hub lives in organization.hub_region: --region is not offered, so argparse refuses it."""
    with pytest.raises(SystemExit) as exit_info:
        deploy.main(["hub", "--config", str(write_config(tmp_path)), "--region", "ap-south-1"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --region" in capsys.readouterr().err
    assert fake_cdk.commands == []


def test_the_cdk_app_needs_a_complete_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: Capture) -> None:
    import hub.app

    monkeypatch.delenv("ORGGUARD_CONFIG", raising=False)
    assert hub.app.main() == 2
    assert "ORGGUARD_CONFIG is not set" in capsys.readouterr().err
    partial = write_settings(tmp_path, {"organization": {"hub_account": MOTO_ACCOUNT}})
    monkeypatch.setenv("ORGGUARD_CONFIG", str(partial))
    assert hub.app.main() == 2
    assert "organization.management_account: missing" in capsys.readouterr().err
