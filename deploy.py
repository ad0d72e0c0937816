#!/usr/bin/env python3
"""OrgGuard's command line: every command a user runs.

    .venv/bin/orgguard COMMAND [OPTIONS] ...        (after `make install`; `orgguard COMMAND --help` for each)

Each command lives in ``commands/<name>.py`` with ``HELP``, ``NEEDS_ORGANIZATION``, ``COMMON_OPTIONS`` (which of
--config, --profile, --region, --dry-run and --json it takes: only those it reads are offered), ``JSON_HELP``
(what its --json prints), ``add_arguments(parser)`` and ``run(args, settings) -> int``; they are imported only
when chosen, so ``--help`` stays fast. A command that needs a real organization gets its settings only from a
complete ``--config`` file (or one that says ``sandbox = true``); the built-in sandbox defaults are for the
others (demo, replay).

``--json`` means the same everywhere: stdout carries JSON only, one document (a refusal or an error too:
``{"ok": false, "errors": [...]}``), or JSON lines (one document per line) where the output is a stream;
each command's ``--json`` help says which. Progress and notes go to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType
from typing import Any

PROG = "orgguard"

COMMANDS: dict[str, str] = {
    "demo": "run the whole story on the embedded local AWS (no account needed)",
    "replay": "run real CloudTrail events through routing and decisions on the embedded AWS",
    "synth": "render the hub and spoke templates and the Lambda asset, and lint them",
    "hub": "deploy the hub stack into the hub account with the AWS CDK CLI",
    "stackset": "create or update the spoke StackSet for the target OUs and regions",
    "onboard": "give accounts their spoke instances and prove the path end to end",
    "status": "stack instances, drift, last event and DLQ depth per account and region",
    "sweep": "evaluate (and with --fix remediate) existing resources across the organization",
    "audit": "what OrgGuard did and when, from the audit table",
    "report": "compliance per account and guardrail over the last days, as a table, JSON or an HTML page",
    "redrive": "replay dead-lettered events through the handlers, idempotently",
    "destroy": "remove the stack instances, the StackSet and (with --hub) the hub",
}

# The options several commands share; a command offers those its COMMON_OPTIONS names, in this order.
COMMON_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "config": ("--config", {"metavar": "FILE", "help": "settings TOML (start from orgguard.example.toml); required, "
                                                       "and it must describe the organization completely"}),
    "profile": ("--profile", {"metavar": "NAME", "help": "AWS profile whose credentials to use (default: the AWS "
                                                         "environment: AWS_PROFILE, AWS_ACCESS_KEY_ID, ...)"}),
    "region": ("--region", {"metavar": "REGION",
                            "help": "AWS region for the calls (default: organization.hub_region)"}),
    "dry-run": ("--dry-run", {"action": "store_true", "help": "say what would be done, change nothing"}),
    "json": ("--json", {"action": "store_true", "help": "print one JSON document on stdout instead of text"}),
}
CONFIG_HELP_SANDBOX = ("settings TOML (optional): what it leaves out comes from the built-in sandbox organization's "
                       "settings")

EPILOG = f"""\
examples (after `make install`, which creates .venv/bin/{PROG}):
  .venv/bin/{PROG} demo
  .venv/bin/{PROG} replay tests/events/records/panther__DeleteBucketEncryption__1.json
  .venv/bin/{PROG} synth --config orgguard.toml
  .venv/bin/{PROG} COMMAND --help

--json prints JSON only on stdout: one document, or JSON lines where the command's output is a stream
(each command's --json help says which); progress and notes go to stderr."""


def _module_name(command: str) -> str:
    return "commands." + command.replace("-", "_")


def command_module(command: str) -> ModuleType:
    return importlib.import_module(_module_name(command))


def add_common_options(parser: argparse.ArgumentParser, module: ModuleType) -> None:
    """The common options ``module.COMMON_OPTIONS`` declares, with its own help where the module gives one."""
    declared: tuple[str, ...] = module.COMMON_OPTIONS
    unknown = set(declared) - set(COMMON_OPTIONS)
    if unknown:
        raise ValueError(f"{module.__name__}.COMMON_OPTIONS: unknown {sorted(unknown)}")
    own_help: dict[str, str] = dict(getattr(module, "OPTION_HELP", {}))
    if "json" in declared:
        own_help.setdefault("json", module.JSON_HELP)
    if "config" in declared and not module.NEEDS_ORGANIZATION:
        own_help.setdefault("config", CONFIG_HELP_SANDBOX)
    for name in COMMON_OPTIONS:
        if name in declared:
            flag, keywords = COMMON_OPTIONS[name]
            parser.add_argument(flag, **{**keywords, "help": own_help.get(name, keywords["help"])})


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="OrgGuard: organization-wide AWS guardrails.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            module = command_module(name)
            add_common_options(p, module)
            module.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(selected if selected in COMMANDS else None)
    args = parser.parse_args(argv)

    # Before anything imports aws_cdk (synth, hub, demo, replay synthesize the hub): no Node banner, no CDK noise.
    from commands.node_env import quiet_node

    quiet_node()

    from commands.common import fail_settings
    from handlers.settings import SettingsError, load, settings_warnings

    module = command_module(args.command)
    needs_organization: bool = module.NEEDS_ORGANIZATION
    config = getattr(args, "config", None)
    try:
        settings = load(config, sandbox_defaults=not needs_organization)
    except SettingsError as error:
        return fail_settings(args, error)
    if needs_organization and settings.sandbox:
        print(f"note: {config} says sandbox = true: what it leaves out comes from the built-in sandbox "
              "organization", file=sys.stderr)
    for warning in settings_warnings(settings):
        print(f"warning: {warning}", file=sys.stderr)
    try:
        return int(module.run(args, settings))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
