"""Synthesize the hub: ``synth_hub`` for ``orgguard synth`` and the tests, ``main`` for the CDK CLI.

``CDK_VALIDATION=false`` in the environment skips cdk-nag (fast unit runs); every other synth runs the
AwsSolutions checks and fails on an unacknowledged finding. The CLI entry point reads the settings file
named by ``ORGGUARD_CONFIG`` (``orgguard hub`` sets it from ``--config``), checked as strictly as
``orgguard hub`` checks it: the hub is deployed to a real account, never with the sandbox defaults.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from handlers.settings import Settings, SettingsError, load
from hub.asset import build_lambda_asset
from hub.nag import HubNagError, apply_checks, synthesize
from hub.stack import OrgGuardHubStack

CONFIG_VARIABLE = "ORGGUARD_CONFIG"
VALIDATION_VARIABLE = "CDK_VALIDATION"
TEMPLATE_FILE = "hub.template.json"
ASSET_DIR = "lambda-asset"


def validation_enabled(requested: bool = True) -> bool:
    """cdk-nag runs unless the caller or ``CDK_VALIDATION=false`` turns it off."""
    return requested and os.environ.get(VALIDATION_VARIABLE, "").strip().lower() != "false"


def build_stack(app: cdk.App, settings: Settings, asset_dir: Path, validate: bool) -> OrgGuardHubStack:
    stack = OrgGuardHubStack(
        app, settings.hub.stack_name,
        settings=settings,
        asset_dir=asset_dir,
        env=cdk.Environment(account=settings.organization.hub_account,
                            region=settings.organization.hub_region),
    )
    if validate:
        apply_checks(app, stack)
    return stack


def synth_hub(settings: Settings, out_dir: Path | str, asset_dir: Path | str | None = None,
              validate: bool = True) -> dict[str, Any]:
    """Synthesize the hub stack; write ``out_dir/hub.template.json`` (and the asset, unless given) and return
    the template. Raises ``HubNagError`` when cdk-nag reports a finding nobody acknowledged."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    asset = Path(asset_dir) if asset_dir is not None else build_lambda_asset(out / ASSET_DIR)
    validate = validation_enabled(validate)
    with tempfile.TemporaryDirectory(prefix="orgguard-cdk-") as assembly_dir:
        app = cdk.App(outdir=assembly_dir, analytics_reporting=False)
        stack = build_stack(app, settings, asset, validate)
        assembly = synthesize(app, assembly_dir)
        template: dict[str, Any] = assembly.get_stack_by_name(stack.stack_name).template
    (out / TEMPLATE_FILE).write_text(json.dumps(template, indent=1) + "\n")
    return template


def main() -> int:
    """The CDK CLI's app (``cdk.json``): settings from ``ORGGUARD_CONFIG``, assembly where the CLI says."""
    path = os.environ.get(CONFIG_VARIABLE)
    if not path:
        print(f"error: {CONFIG_VARIABLE} is not set: set it to the settings file, or deploy with "
              "`orgguard hub --config FILE`", file=sys.stderr)
        return 2
    try:
        settings = load(path, sandbox_defaults=False)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="orgguard-asset-") as work:
        # The CDK copies the asset into its output directory while the stack is built, so the
        # temporary build can go once the assembly is written.
        asset = build_lambda_asset(Path(work) / ASSET_DIR)
        app = cdk.App(analytics_reporting=False)
        build_stack(app, settings, asset, validation_enabled())
        try:
            synthesize(app, app.outdir)
        except HubNagError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
