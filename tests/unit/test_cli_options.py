"""The CLI speaks one language: each command offers only the common options it reads, every option says what it
does, --json says whether it prints one document or JSON lines, and the console script points at deploy.main."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import tomllib
from pathlib import Path

import pytest

import deploy
from commands import node_env

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# How a command's source reads each common option (aws_session reads --profile and --region).
READS = {
    "dry-run": (r"\bargs\.dry_run\b",),
    "json": (r"\bargs\.json\b", r"\bprint_report\(args\b"),  # print_report prints JSON with --json
    "profile": (r"\bargs\.profile\b", r"\baws_session\(args\b"),
    "region": (r"\bargs\.region\b", r"\baws_session\(args\b"),
    "config": (r"\bargs\.config\b", r"(?<![.\w])settings(?!: Settings)\b"),  # main loads the settings from it
}
# Reading an option the command does not offer would fail: these say the command reads it directly.
READS_DIRECTLY = {"dry-run": r"\bargs\.dry_run\b", "json": r"\bargs\.json\b", "profile": r"\bargs\.profile\b",
                  "region": r"\bargs\.region\b", "config": r"\bargs\.config\b"}


def subparser(command: str) -> argparse.ArgumentParser:
    parser = deploy.build_parser(command)
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices[command]


def command_source(command: str) -> str:
    """The command's module and its helper modules (``commands/<command>_*.py``), without docstrings' lines
    that name options in prose."""
    files = [ROOT / "commands" / f"{command}.py", *sorted((ROOT / "commands").glob(f"{command}_*.py"))]
    source = "\n".join(path.read_text() for path in files)
    return re.sub(r"^def run\(args: argparse\.Namespace, settings: Settings\)", "", source, flags=re.M)


@pytest.mark.parametrize("command", deploy.COMMANDS)
def test_every_option_has_its_own_help(command: str) -> None:
    for action in subparser(command)._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help.strip(), f"{command} {action.option_strings or action.dest}: no help"


@pytest.mark.parametrize("command", deploy.COMMANDS)
def test_the_common_options_offered_are_the_ones_declared(command: str) -> None:
    module = importlib.import_module(f"commands.{command}")
    declared = set(module.COMMON_OPTIONS)
    assert declared <= set(deploy.COMMON_OPTIONS)
    offered = {s.lstrip("-") for a in subparser(command)._actions for s in a.option_strings}
    assert offered & set(deploy.COMMON_OPTIONS) == declared


@pytest.mark.parametrize("command", deploy.COMMANDS)
def test_each_declared_common_option_is_read_and_no_other(command: str) -> None:
    module = importlib.import_module(f"commands.{command}")
    source = command_source(command)
    for option in module.COMMON_OPTIONS:
        assert any(re.search(p, source) for p in READS[option]), f"{command} offers --{option} but never reads it"
    for option in set(deploy.COMMON_OPTIONS) - set(module.COMMON_OPTIONS):
        assert not re.search(READS_DIRECTLY[option], source), f"{command} reads --{option} without offering it"


@pytest.mark.parametrize(("command", "option"), [
    ("replay", ["--profile", "x"]), ("replay", ["--region", "eu-west-1"]), ("replay", ["--dry-run"]),
    ("demo", ["--profile", "x"]), ("demo", ["--config", "orgguard.toml"]), ("hub", ["--region", "eu-west-1"]),
    ("status", ["--dry-run"]), ("audit", ["--dry-run"]),
])
def test_an_option_a_command_ignores_is_refused_by_argparse(command: str, option: list[str],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    positional = {"replay": ["events.json"]}.get(command, [])
    with pytest.raises(SystemExit) as exit_info:
        deploy.main([command, *positional, *option])
    assert exit_info.value.code == 2
    assert f"unrecognized arguments: {option[0]}" in capsys.readouterr().err


@pytest.mark.parametrize("command", deploy.COMMANDS)
def test_json_help_says_one_document_or_json_lines(command: str) -> None:
    [json_option] = [a for a in subparser(command)._actions if "--json" in a.option_strings]
    help_text = json_option.help or ""
    assert ("one JSON document" in help_text) != ("JSON lines" in help_text), help_text
    streams = {name for name in deploy.COMMANDS if "JSON lines" in (importlib.import_module(
        f"commands.{name}").JSON_HELP)}
    assert streams == {"replay"}  # the one command whose output is a stream


def test_the_top_level_help_shows_the_convention(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        deploy.main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: orgguard ") and ".venv/bin/orgguard replay" in out


def test_the_console_script_is_deploy_main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"orgguard": "deploy:main"}
    assert "deploy" in project["tool"]["setuptools"]["py-modules"]
    module_name, _, attribute = project["project"]["scripts"]["orgguard"].partition(":")
    entry = getattr(importlib.import_module(module_name), attribute)
    assert entry is deploy.main and callable(entry)


def test_node_noise_is_silenced_for_the_running_node_without_overriding_the_caller(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_env, "node_major", lambda: "22")
    environ: dict[str, str] = {}
    node_env.quiet_node(environ)
    assert environ == {node_env.SILENCE_NODE: "22", node_env.DEPRECATED: "quiet"}
    given = {node_env.SILENCE_NODE: "18", node_env.DEPRECATED: "warn"}
    node_env.quiet_node(given)
    assert given == {node_env.SILENCE_NODE: "18", node_env.DEPRECATED: "warn"}
    monkeypatch.setattr(node_env, "node_major", lambda: None)
    environ = {}
    node_env.quiet_node(environ)
    assert environ[node_env.SILENCE_NODE] == node_env.FALLBACK_NODE_MAJOR


def test_node_major_reads_node_version(tmp_path: Path) -> None:
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\necho v20.20.2\n")
    node.chmod(0o755)
    assert node_env.node_major(str(node)) == "20"
    assert node_env.node_major(str(tmp_path / "missing")) is None


def test_main_sets_the_variables_before_the_command_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, str | None] = {}
    monkeypatch.delenv(node_env.SILENCE_NODE, raising=False)
    monkeypatch.delenv(node_env.DEPRECATED, raising=False)
    module = importlib.import_module("commands.demo")

    def record(args: argparse.Namespace, settings: object) -> int:
        seen.update({name: os.environ.get(name) for name in (node_env.SILENCE_NODE, node_env.DEPRECATED)})
        return 0

    monkeypatch.setattr(module, "run", record)
    assert deploy.main(["demo"]) == 0
    assert seen[node_env.DEPRECATED] == "quiet" and (seen[node_env.SILENCE_NODE] or "").isdigit()
