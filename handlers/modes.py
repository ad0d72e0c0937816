"""Policy modes applied to whole settings."""

from __future__ import annotations

from handlers.settings import Settings


def report_only(settings: Settings) -> Settings:
    """The same settings with every enforcing policy in report mode (the sweep without ``--fix``, redrive's
    ``--dry-run``); other settings and policies' other options are unchanged."""
    for guardrail_id in list(settings.policies):
        if settings.policies.mode(guardrail_id) == "enforce":
            settings = settings.with_mode(guardrail_id, "report")
    return settings
