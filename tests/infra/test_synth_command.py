"""`orgguard synth`: writes the hub and both spoke templates and the asset, lint-clean, or nothing at all."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import deploy
from commands.synth import HUB_LINT_IGNORED, lint_template
from handlers.settings import Settings, known_regions
from tests.support.settings_files import organization_raw, write_settings

CONFIG = organization_raw("111111111111", "222222222222", "eu-west-1", ["eu-west-1", "eu-central-1"],
                          organization_id="o-a1b2c3d4e5")


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Sub, !Ref, ...) read as plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture()
def config_file(tmp_path: Path) -> Path:
    return write_settings(tmp_path, CONFIG)


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
    bad = copy.deepcopy(CONFIG)
    bad["organization"].update(hub_account="22", regions=["eu-west-1", "mars-1"])
    config = write_settings(tmp_path, bad, "bad.toml")
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
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # the progress is on stderr: stdout is the one document
    assert report["ok"] is True and report["written"] is False and report["problems"] == []
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["orgguard.toml"]
    steps = re.findall(r"^synth: (\w+) .* done in \d+\.\ds$", captured.err, re.M)
    assert steps == ["synthesize", "render", "lint"]


def test_refuses_an_out_dir_holding_other_files(tmp_path: Path, config_file: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("mine")
    assert deploy.main(["synth", "--config", str(config_file), "--out", str(tmp_path)]) == 1
    assert (tmp_path / "README.md").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "orgguard.toml"]
    assert "holds files synth did not write" in capsys.readouterr().err


def test_refusal_with_json_is_one_error_object(tmp_path: Path, config_file: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("mine")
    assert deploy.main(["synth", "--config", str(config_file), "--out", str(tmp_path), "--json"]) == 1
    captured = capsys.readouterr()
    [error] = json.loads(captured.out)["errors"]
    assert json.loads(captured.out)["ok"] is False and "holds files synth did not write" in error
    assert f"error: {error}" in captured.err and "Nothing was written." in captured.err


def test_a_region_botocore_knows_but_cfn_lint_does_not_is_named_and_left_out_of_the_lint(
        capsys: pytest.CaptureFixture[str]) -> None:
    from cfnlint.helpers import REGIONS

    newer = [r for r in known_regions() if r not in REGIONS]
    if not newer:
        pytest.skip("this cfn-lint knows every region botocore knows")
    text = json.dumps(CLEAN_TEMPLATE)
    assert lint_template("spoke", text, ["eu-west-1", newer[0]]) == []  # cfn-lint raised InvalidRegionException
    assert lint_template("spoke", text, [newer[0]]) == []
    assert f"note: cfn-lint has no data for {newer[0]}: spoke linted for eu-west-1" in capsys.readouterr().err
