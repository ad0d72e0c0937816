"""Keys of the daily notices: each is sent once per account (and region) per day, whichever of the event
handlers, the scheduled reconcile or the CLI sweep notices first (``AuditLog.once`` claims the key)."""

from __future__ import annotations


def not_onboarded_key(account: str, day: str) -> str:
    """One not-onboarded notice per account per day (``day``: ISO date, UTC)."""
    return f"notice#not-onboarded#{account}#{day}"


def region_disabled_key(account: str, region: str, day: str) -> str:
    """One region-disabled notice per account-region per day."""
    return f"notice#region-disabled#{account}#{region}#{day}"
