#!/usr/bin/env python3
"""OrgGuard's command line: every command a user runs.

    python deploy.py COMMAND [--config FILE] [--profile NAME] [--region REGION] [--dry-run] [--json] ...

Each command lives in ``commands/<name>.py`` with ``HELP``, ``NEEDS_ORGANIZATION``, ``add_arguments(parser)``
and ``run(args, settings) -> int``; they are imported only when chosen, so ``--help`` stays fast. A command
that needs a real organization gets its settings only from a complete ``--config`` file (or one that says
``sandbox = true``); the built-in sandbox defaults are for the others (demo, replay).
"""

from __future__ import annotations

import argparse
import importlib
import sys

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


def _module_name(command: str) -> str:
    return "commands." + command.replace("-", "_")


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploy.py", description="OrgGuard: organization-wide AWS guardrails.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", metavar="FILE",
                       help="settings TOML, required by every command but demo and replay "
                            "(start from orgguard.example.toml)")
        p.add_argument("--profile", help="AWS profile to use")
        p.add_argument("--region", help="AWS region for the calls (default: the hub region)")
        p.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
        p.add_argument("--json", action="store_true", help="print one machine-readable JSON document")
        if name == selected:
            importlib.import_module(_module_name(name)).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(selected if selected in COMMANDS else None)
    args = parser.parse_args(argv)

    from commands.common import fail_settings
    from handlers.settings import SettingsError, load, settings_warnings

    module = importlib.import_module(_module_name(args.command))
    needs_organization: bool = module.NEEDS_ORGANIZATION
    try:
        settings = load(args.config, sandbox_defaults=not needs_organization)
    except SettingsError as error:
        return fail_settings(args, error)
    if needs_organization and settings.sandbox:
        print(f"note: {args.config} says sandbox = true: what it leaves out comes from the built-in sandbox "
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
