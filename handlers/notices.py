"""Keys of the daily notices: each is sent once per account (and region) per day, whichever of the event
handlers, the scheduled reconcile or the CLI sweep notices first (``AuditLog.once`` claims the key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import outcome as oc

if TYPE_CHECKING:
    from handlers.events import ApiCallEvent

# Notices that say the same thing for every event of an account (and region): at most one a day, each with
# its own template.
DAILY_NOTICES = {oc.NOT_ONBOARDED: "not-onboarded", oc.REGION_DISABLED: "region-disabled"}
TEMPLATES = {oc.NOT_ONBOARDED: "not-onboarded.txt.j2", oc.REGION_DISABLED: "region-disabled.txt.j2"}


def not_onboarded_key(account: str, day: str) -> str:
    """One not-onboarded notice per account per day (``day``: ISO date, UTC)."""
    return f"notice#not-onboarded#{account}#{day}"


def region_disabled_key(account: str, region: str, day: str) -> str:
    """One region-disabled notice per account-region per day."""
    return f"notice#region-disabled#{account}#{region}#{day}"


def daily_notice_key(outcome: oc.Outcome, event: ApiCallEvent, day: str) -> str:
    """The key that makes an event's daily notice the day's only one for its account (and region)."""
    if outcome.kind is oc.OutcomeKind.REGION_DISABLED:
        return region_disabled_key(event.account, event.region, day)
    return not_onboarded_key(event.account, day)
