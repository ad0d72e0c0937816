"""The spoke as it was before the split: one template holding the roles (home region only) and the rules.

``legacy/spoke-single.yaml.j2`` is that template, kept verbatim for the migration tests only; it renders
from today's context values (the names and patterns have not changed) plus its ``HomeRegion`` parameter.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from handlers.settings import Settings
from spoke.render import environment, global_context, regional_context, spoke_global_parameters

LEGACY_DIR = Path(__file__).resolve().parent / "legacy"


def legacy_parameters(settings: Settings) -> dict[str, str]:
    return {**spoke_global_parameters(settings), "HomeRegion": settings.organization.spoke_home_region}


def render_legacy_spoke(settings: Settings) -> str:
    context = {**regional_context(settings), **global_context(settings), "parameters": legacy_parameters(settings)}
    return environment(jinja2.FileSystemLoader(str(LEGACY_DIR))).get_template("spoke-single.yaml.j2").render(context)
