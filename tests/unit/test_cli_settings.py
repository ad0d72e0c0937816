"""orgguard and settings: a command that touches a real account runs only on a complete settings file,
and with --json every refusal and error is one JSON object on stdout besides the text on stderr."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

import deploy
from handlers.settings import REQUIRED, Settings
from tests.support.settings_files import organization_raw, write_settings

REAL = [name for name in deploy.COMMANDS if name not in ("demo", "replay")]
POSITIONAL = {"onboard": ["111122223333"]}
Capture = pytest.CaptureFixture[str]


def argv(command: str, *extra: str) -> list[str]:
    return [command, *POSITIONAL.get(command, []), *extra]


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Settings]]:
    """Every command's ``run`` replaced by a recorder: what ran, with which settings."""
    calls: list[tuple[str, Settings]] = []
    for name in deploy.COMMANDS:
        module = importlib.import_module(f"commands.{name}")

        def record(args: argparse.Namespace, settings: Settings, name: str = name) -> int:
            calls.append((name, settings))
            return 0

        monkeypatch.setattr(module, "run", record)
    return calls


def complete() -> dict[str, Any]:
    return organization_raw("111111111111", "222222222222", "eu-west-1", ["eu-west-1"])


def test_every_command_declares_whether_it_needs_a_real_organization() -> None:
    declared = {name: importlib.import_module(f"commands.{name}").NEEDS_ORGANIZATION for name in deploy.COMMANDS}
    assert all(isinstance(v, bool) for v in declared.values())
    assert [name for name, needs in declared.items() if not needs] == ["demo", "replay"]


@pytest.mark.parametrize("command", REAL)
def test_without_config_a_real_account_command_is_refused_and_runs_nothing(
        command: str, runs: list[tuple[str, Settings]], capsys: Capture) -> None:
    assert deploy.main(argv(command)) == 2
    err = capsys.readouterr().err
    assert "pass --config FILE" in err and "orgguard.example.toml" in err and "Nothing was run" in err
    assert runs == []


@pytest.mark.parametrize("command", REAL)
def test_a_file_without_the_organization_is_refused_one_message_per_missing_key(
        command: str, runs: list[tuple[str, Settings]], tmp_path: Path, capsys: Capture) -> None:
    config = write_settings(tmp_path, {"hub": {"bus_name": "orgguard"}})
    assert deploy.main(argv(command, "--config", str(config))) == 2
    err = capsys.readouterr().err
    for key in REQUIRED:
        assert err.count(f"  - {key}: missing; set ") == 1, key
    assert f"{len(REQUIRED)} problem(s)" in err
    assert runs == []


@pytest.mark.parametrize("command", REAL)
def test_a_complete_file_runs_the_command_with_its_values(
        command: str, runs: list[tuple[str, Settings]], tmp_path: Path) -> None:
    config = write_settings(tmp_path, complete())
    assert deploy.main(argv(command, "--config", str(config))) == 0
    [(name, settings)] = runs
    assert name == command and settings.organization.hub_account == "222222222222"
    assert settings.organization.include_management_account is False and settings.sandbox is False


def test_a_file_that_says_sandbox_true_takes_the_sandbox_defaults_and_says_so(
        runs: list[tuple[str, Settings]], tmp_path: Path, capsys: Capture) -> None:
    config = write_settings(tmp_path, {"sandbox": True, "hub": {"bus_name": "local"}})
    assert deploy.main(["status", "--config", str(config)]) == 0
    [(_, settings)] = runs
    assert settings.sandbox is True and settings.hub.bus_name == "local"
    assert settings.organization.management_account == "123456789012"
    assert "says sandbox = true" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["demo", "replay"])
def test_demo_and_replay_run_without_config_on_the_sandbox_defaults(
        command: str, runs: list[tuple[str, Settings]], tmp_path: Path) -> None:
    extra = [str(tmp_path / "events.json")] if command == "replay" else []
    assert deploy.main([command, *extra]) == 0
    [(_, settings)] = runs
    assert settings.sandbox is True and settings.organization.management_account == "123456789012"


def test_json_settings_error_is_one_entry_per_problem_on_stdout(
        runs: list[tuple[str, Settings]], tmp_path: Path, capsys: Capture) -> None:
    raw = complete()
    raw["organization"]["regions"] = ["eu-westt-1"]
    raw["exemptions"] = {"tag": ""}
    config = write_settings(tmp_path, raw)

    assert deploy.main(["synth", "--config", str(config), "--json"]) == 2

    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["ok"] is False
    [region, tag] = document["errors"]
    assert region.startswith('organization.regions[0] = "eu-westt-1": must be a region botocore knows: ')
    assert tag.startswith('exemptions.tag = "": must be a tag key')
    assert region in captured.err and tag in captured.err  # the text stays on stderr
    assert runs == []


def test_json_missing_keys_and_missing_file_are_refused_on_stdout(tmp_path: Path, capsys: Capture) -> None:
    config = write_settings(tmp_path, {"organization": {"hub_account": "222222222222"}})
    assert deploy.main(["stackset", "--config", str(config), "--json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    assert [e.split(":")[0] for e in document["errors"]] == [k for k in REQUIRED if k != "organization.hub_account"]

    assert deploy.main(["audit", "--json"]) == 2
    [error] = json.loads(capsys.readouterr().out)["errors"]
    assert "pass --config FILE" in error


def test_json_command_error_is_one_entry_and_exit_code_1(tmp_path: Path, capsys: Capture) -> None:
    config = write_settings(tmp_path, complete())
    assert deploy.main(["onboard", "12", "--config", str(config), "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"ok": False, "errors": ["not an account id: 12 (12 digits, e.g. 111122223333)"]}
    assert "error: not an account id: 12" in captured.err


def test_json_aws_error_is_one_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    config = write_settings(tmp_path, complete())

    assert deploy.main(["audit", "--config", str(config), "--json"]) == 1

    [error] = json.loads(capsys.readouterr().out)["errors"]
    assert error.startswith("no AWS credentials found")
