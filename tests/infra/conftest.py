"""Infrastructure-test fixtures: one synthesized hub per test session (per xdist worker), and the rendered spoke
templates (``default_settings``, ``template``: the regional one, ``roles``: the global one) per module.

``CDK_VALIDATION=false`` is set here, before anything imports ``aws_cdk``, so the shared synth skips
cdk-nag (it adds up to a few seconds); the one fully validated synth lives in ``test_hub_nag.py`` and turns
it back on.
Tests that read the shared template are grouped (``xdist_group``) so ``--dist loadgroup`` synthesizes it on
one worker only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from handlers.settings import Settings, validate

os.environ["CDK_VALIDATION"] = "false"

# A config that differs from the built-in defaults wherever the hub reads it, so the tests can tell the
# template took its values from the settings.
HUB_TEST_CONFIG: dict[str, Any] = {
    "organization": {
        "management_account": "111111111111",
        "hub_account": "222222222222",
        "hub_region": "eu-west-1",
        "regions": ["eu-west-1", "us-east-1"],
        "organization_id": "o-a1b2c3d4e5",
    },
    "hub": {
        "bus_name": "orgguard-test-bus",
        "topic_name": "orgguard-test-alerts",
        "table_name": "orgguard-test-audit",
        "log_retention_days": 30,
        "lambda_memory_mb": 512,
        "lambda_timeout_seconds": 60,
        "reconcile_schedule": "cron(0 3 * * ? *)",
        "reconcile_max_concurrency": 7,
    },
    "notifications": {"emails": ["secops@example.com", "platform@example.org"]},
    "policies": {"s3-encryption": {"mode": "report", "kms_key": "alias/org-s3"}},
}


@pytest.fixture(scope="session")
def hub_settings() -> Settings:
    return validate(HUB_TEST_CONFIG, "hub test config")


@pytest.fixture(scope="session")
def hub_synth_dir(tmp_path_factory: pytest.TempPathFactory, hub_settings: Settings) -> Path:
    from hub.app import synth_hub

    out = tmp_path_factory.mktemp("hub-synth")
    synth_hub(hub_settings, out, validate=False)
    return out


@pytest.fixture(scope="session")
def hub_template(hub_synth_dir: Path) -> dict[str, Any]:
    import json

    template: dict[str, Any] = json.loads((hub_synth_dir / "hub.template.json").read_text())
    return template


# The rendered spoke templates, for test_spoke_render and test_spoke_privileges (rendering is cheap; once per module).
@pytest.fixture(scope="module")
def default_settings() -> Settings:
    return validate({}, "defaults")


@pytest.fixture(scope="module")
def template(default_settings: Settings) -> dict[str, Any]:
    """The regional template: rules, dead-letter queue and its alarm."""
    from spoke.lint import parse_template
    from spoke.render import render_spoke

    return parse_template(render_spoke(default_settings))


@pytest.fixture(scope="module")
def roles(default_settings: Settings) -> dict[str, Any]:
    """The global template: the two roles."""
    from spoke.lint import parse_template
    from spoke.render import render_spoke_global

    return parse_template(render_spoke_global(default_settings))
