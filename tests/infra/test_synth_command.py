"""`deploy.py synth`: writes the hub and both spoke templates and the asset, lint-clean, or nothing at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import deploy
from commands.synth import HUB_LINT_IGNORED, lint_template
from handlers.settings import Settings

CONFIG = """
[organization]
management_account = "111111111111"
hub_account = "222222222222"
hub_region = "eu-west-1"
regions = ["eu-west-1", "eu-central-1"]
organization_id = "o-a1b2c3d4e5"

[notifications]
emails = ["secops@example.com"]
"""


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Sub, !Ref, ...) read as plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture()
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "orgguard.toml"
    path.write_text(CONFIG)
    return path


def fake_hub_synth(template: dict[str, Any]) -> Any:
    """Stands in for the CDK synth where a test is about the command, not the hub."""

    def synth_hub(settings: Settings, out_dir: Path, asset_dir: Path | None = None,
                  validate: bool = True) -> dict[str, Any]:
        out = Path(out_dir)
        (out / "lambda-asset" / "handlers").mkdir(parents=True)
        (out / "hub.template.json").write_text(json.dumps(template, indent=1))
        return template

    return synth_hub


CLEAN_TEMPLATE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue",
                                          "Properties": {"SqsManagedSseEnabled": True}}}}
BROKEN_TEMPLATE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"NoSuchProperty": 1}}}}


@pytest.mark.xdist_group("hub-synth")
def test_synth_writes_hub_spoke_and_asset_and_both_lint_clean(tmp_path: Path, config_file: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "synth"
    assert deploy.main(["synth", "--config", str(config_file), "--out", str(out)]) == 0

    hub_text = (out / "hub.template.json").read_text()
    hub = json.loads(hub_text)
    assert hub["Resources"]["HubBus"]["Type"] == "AWS::Events::EventBus"
    assert hub["Parameters"]["OrganizationId"]["Default"] == "o-a1b2c3d4e5"
    spoke_text = (out / "spoke.template.yaml").read_text()
    spoke = yaml.load(spoke_text, Loader=CfnLoader)
    assert spoke["Resources"], "the spoke template has resources"
    global_text = (out / "spoke-global.template.yaml").read_text()
    roles = yaml.load(global_text, Loader=CfnLoader)
    assert {r["Type"] for r in roles["Resources"].values()} == {"AWS::IAM::Role"}
    assert "AWS::IAM::Role" not in {r["Type"] for r in spoke["Resources"].values()}
    assert (out / "lambda-asset" / "handlers" / "registry.py").is_file()
    assert (out / "lambda-asset" / "jinja2" / "__init__.py").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["hub.template.json", "lambda-asset",
                                                     "spoke-global.template.yaml", "spoke.template.yaml"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging directory left behind"

    assert lint_template("hub", hub_text, ["eu-west-1"], HUB_LINT_IGNORED) == []
    assert lint_template("spoke", spoke_text, ["eu-west-1", "eu-central-1"]) == []
    assert lint_template("spoke-global", global_text, ["eu-west-1"]) == []
    assert "cfn-lint: every template clean" in capsys.readouterr().out


def test_bad_config_gets_one_message_per_problem_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(CONFIG.replace('"222222222222"', '"22"').replace('"eu-central-1"', '"mars-1"'))
    out = tmp_path / "synth"
    assert deploy.main(["synth", "--config", str(config), "--out", str(out)]) != 0
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.toml"]
    errors = capsys.readouterr().err
    assert "organization.hub_account" in errors
    assert "mars-1" in errors


def test_lint_errors_are_printed_and_the_previous_output_is_kept(tmp_path: Path, config_file: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import hub.app

    monkeypatch.setattr(hub.app, "synth_hub", fake_hub_synth(BROKEN_TEMPLATE))
    out = tmp_path / "synth"
    out.mkdir()
    (out / "hub.template.json").write_text("previous")
    assert deploy.main(["synth", "--config", str(config_file), "--out", str(out)]) == 1
    assert [p.name for p in out.iterdir()] == ["hub.template.json"]
    assert (out / "hub.template.json").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orgguard.toml", "synth"]
    errors = capsys.readouterr().err
    assert "hub.template.json" in errors and "NoSuchProperty" in errors
    assert "Nothing was written." in errors


def test_success_replaces_a_previous_output(tmp_path: Path, config_file: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.app

    monkeypatch.setattr(hub.app, "synth_hub", fake_hub_synth(CLEAN_TEMPLATE))
    out = tmp_path / "synth"
    out.mkdir()
    (out / "hub.template.json").write_text("previous")
    (out / "lambda-asset").mkdir()
    (out / "lambda-asset" / "stale.py").write_text("")
    assert deploy.main(["synth", "--config", str(config_file), "--out", str(out)]) == 0
    assert json.loads((out / "hub.template.json").read_text()) == CLEAN_TEMPLATE
    assert not (out / "lambda-asset" / "stale.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orgguard.toml", "synth"]


def test_dry_run_builds_and_lints_but_writes_nothing(tmp_path: Path, config_file: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import hub.app

    monkeypatch.setattr(hub.app, "synth_hub", fake_hub_synth(CLEAN_TEMPLATE))
    out = tmp_path / "synth"
    assert deploy.main(["synth", "--config", str(config_file), "--out", str(out), "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["written"] is False and report["problems"] == []
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["orgguard.toml"]


def test_refuses_an_out_dir_holding_other_files(tmp_path: Path, config_file: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("mine")
    assert deploy.main(["synth", "--config", str(config_file), "--out", str(tmp_path)]) == 1
    assert (tmp_path / "README.md").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "orgguard.toml"]
    assert "holds files synth did not write" in capsys.readouterr().err
