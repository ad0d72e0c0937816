"""Policy modes applied to whole settings."""

from __future__ import annotations

from dataclasses import fields, replace

from handlers.settings import Settings


def report_only(settings: Settings) -> Settings:
    """The same settings with every enforcing policy in report mode (the sweep without ``--fix``, redrive's
    ``--dry-run``); other settings and policies' other options are unchanged."""
    policies = settings.policies
    changed = {f.name: replace(getattr(policies, f.name), mode="report")
               for f in fields(policies) if getattr(policies, f.name).mode == "enforce"}
    return replace(settings, policies=replace(policies, **changed))
