"""The synthesized hub and rendered spoke, made once per test process and shared by every test tier of mine.

Imported by its absolute name (``tests.security.templates``) everywhere, so the cache below is one object
per process: the security and the reliability tests read the same synthesis. The settings are the
infrastructure tests' (``tests/infra/conftest.py``), so all tiers judge the same hub.
"""

from __future__ import annotations

import functools
import json
import tempfile
from typing import Any

from handlers.settings import Settings, validate
from spoke.lint import parse_template
from spoke.render import render_spoke, render_spoke_global
from tests.infra.conftest import HUB_TEST_CONFIG

OPERATOR_ROLE = "arn:aws:iam::222222222222:role/PlatformOperator"
MEMBER_ACCOUNT = "333333333333"  # the account the spoke is resolved in


def security_settings() -> Settings:
    """The infrastructure tests' settings plus an operator role, so the spoke's richest trust is checked."""
    raw: dict[str, Any] = {**HUB_TEST_CONFIG, "organization": {**HUB_TEST_CONFIG["organization"],
                                                                "operator_roles": [OPERATOR_ROLE]}}
    return validate(raw, "security test settings")


@functools.cache
def _hub(settings_json: str) -> str:
    from hub.app import synth_hub

    with tempfile.TemporaryDirectory(prefix="orgguard-security-synth-") as out:
        template = synth_hub(validate(json.loads(settings_json), "security test settings"), out, validate=False)
    return json.dumps(template)


def hub_template(settings: Settings) -> dict[str, Any]:
    """A fresh copy each call (tests may not share mutable state through the cache)."""
    template: dict[str, Any] = json.loads(_hub(settings.to_json()))
    return template


def spoke_template(settings: Settings) -> dict[str, Any]:
    """The regional spoke template (rules, dead-letter queue, alarm)."""
    return parse_template(render_spoke(settings))


def spoke_global_template(settings: Settings) -> dict[str, Any]:
    """The global spoke template (the two roles)."""
    return parse_template(render_spoke_global(settings))
