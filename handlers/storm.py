"""Storm control: at most ``storm_limit`` e-mails per account and guardrail in a window; the rest in a digest.

An Auto Scaling group launching 200 instances, or a script creating 50 buckets, must not bury the admins.
Windows are fixed and aligned: ``start = floor(now / window) * window``. Each account x policy x window has
one item in the audit table, ``storm#<account>#<policy>#<start>``:

- ``sent``: the string set of event keys admitted for an e-mail. An event is admitted by a conditional
  ``ADD`` while the set has fewer than ``storm_limit`` members, or when it is already in it (a retry):
  concurrent invocations cannot admit more than the limit, and a retried event is never counted twice.
- ``folded``: the string set of event keys folded into the window's digest (``ADD`` is idempotent).
- ``digest``: the digest's state, written by ``handlers.digest`` once the window has ended
  (``sending`` -> ``sent`` | ``failed``), with its subject and message id.

A window with folded events is also listed in a due item, ``storm-due#<hour the window ends>``, a string
set of window keys, so the digest Lambda finds the windows to send with a few reads instead of a scan.

An event's record says which window it counted in (``storm_window``) and, when folded, its notification is
``digest``: a retry that carries the record (``carried_result``) uses the same window even after the window
has turned. Daily notices (not-onboarded, region-disabled) keep their own once-a-day key and are not counted.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from handlers.contract import TABLE_PARTITION_KEY, TABLE_TTL_ATTRIBUTE

KEY_PREFIX = "storm#"
DUE_PREFIX = "storm-due#"
STORM_WINDOW_FIELD = "storm_window"  # on an event's record: the window it was counted in
# Folded events beyond what one item can list (DynamoDB items are at most 400 KB: some 8,000 event keys)
# are only counted; the digest says how many and where the full record is.
OVERFLOW_FIELD = "overflow"
# Every attribute an expression names goes through a placeholder (DynamoDB reserves hundreds of words).
NAMES = {"#sent": "sent", "#folded": "folded", "#overflow": OVERFLOW_FIELD, "#windows": "windows",
         "#ttl": TABLE_TTL_ATTRIBUTE, "#w_account": "window_account", "#w_policy": "window_policy",
         "#w_start": "window_start", "#w_end": "window_end"}


class Decision(enum.StrEnum):
    SEND = "send"  # publish the e-mail now
    FOLD = "fold"  # record it for the window's digest


@dataclass(frozen=True)
class Window:
    account: str
    policy: str
    start: int  # epoch seconds
    seconds: int

    @property
    def end(self) -> int:
        return self.start + self.seconds

    @property
    def key(self) -> str:
        return window_key(self.account, self.policy, self.start)

    @property
    def due_key(self) -> str:
        return due_key(self.end)


def window_start(now: float, minutes: int) -> int:
    seconds = minutes * 60
    return int(now // seconds) * seconds


def window_key(account: str, policy: str, start: int) -> str:
    return f"{KEY_PREFIX}{account}#{policy}#{start}"


def parse_window_key(key: str) -> tuple[str, str, int]:
    """``storm#<account>#<policy>#<start>`` -> (account, policy, start)."""
    if not key.startswith(KEY_PREFIX):
        raise ValueError(f"not a storm window key: {key!r}")
    account, policy, start = key[len(KEY_PREFIX):].split("#")
    return account, policy, int(start)


def due_key(end: int) -> str:
    """The due item of windows ending in the hour of ``end`` (UTC)."""
    return DUE_PREFIX + dt.datetime.fromtimestamp(end, dt.UTC).strftime("%Y-%m-%dT%H")


def due_keys(now: float, lookback_hours: int) -> list[str]:
    """The due items of the hours from ``lookback_hours`` ago to now, oldest first."""
    hour = int(now // 3600) * 3600
    return [due_key(hour - h * 3600) for h in range(lookback_hours, -1, -1)]


def window_for(account: str, policy: str, now: float, minutes: int, recorded: str = "") -> Window:
    """The window an event counts in: the one its record already names (a retry), else the current one."""
    seconds = minutes * 60
    if recorded:
        rec_account, rec_policy, start = parse_window_key(recorded)
        if (rec_account, rec_policy) == (account, policy):
            return Window(account, policy, start, seconds)
    return Window(account, policy, window_start(now, minutes), seconds)


def decide(sent: set[str], event: str, limit: int) -> Decision:
    """Pure: what the conditional admission does, given the window's admitted events."""
    return Decision.SEND if event in sent or len(sent) < limit else Decision.FOLD


def item_too_large(error: ClientError) -> bool:
    """DynamoDB's refusal to grow an item beyond 400 KB (other validation errors are bugs, and raise)."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "size" in str(details.get("Message", "")).lower()


class StormControl:
    """The window counters in the audit table (``client``: DynamoDB, ``table``: the audit table's name)."""

    def __init__(self, client: Any, table: str, limit: int, retention_seconds: int) -> None:
        self._client = client
        self._table = table
        self.limit = limit
        self._retention = retention_seconds

    def _update(self, key: str, expression: str, values: dict[str, Any], condition: str = "") -> None:
        used = {name: attribute for name, attribute in NAMES.items() if name in expression + condition}
        request: dict[str, Any] = {
            "TableName": self._table, "Key": {TABLE_PARTITION_KEY: {"S": key}}, "UpdateExpression": expression,
            "ExpressionAttributeValues": values, "ExpressionAttributeNames": used,
        }
        if condition:
            request["ConditionExpression"] = condition
        self._client.update_item(**request)

    def admit(self, window: Window, event: str) -> Decision:
        """Admit ``event`` for an e-mail, or fold it into the window's digest. Idempotent by ``event``."""
        values = {":e": {"SS": [event]}, ":limit": {"N": str(self.limit)}, ":one": {"S": event},
                  **self._window_values(window)}
        try:
            self._update(window.key, f"ADD #sent :e SET {self._window_set()}", values,
                         "attribute_not_exists(#sent) OR size(#sent) < :limit OR contains(#sent, :one)")
            return Decision.SEND
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        self.fold(window, event)
        return Decision.FOLD

    def fold(self, window: Window, event: str) -> None:
        # The due entry first: a window with folded events is always found by the digest.
        self._update(window.due_key, "ADD #windows :w SET #ttl = if_not_exists(#ttl, :ttl)",
                     {":w": {"SS": [window.key]}, ":ttl": {"N": str(window.end + self._retention)}})
        try:
            self._update(window.key, f"ADD #folded :e SET {self._window_set()}",
                         {":e": {"SS": [event]}, **self._window_values(window)})
        except ClientError as error:
            if not item_too_large(error):
                raise
            self._update(window.key, "ADD #overflow :n", {":n": {"N": "1"}})

    def _window_set(self) -> str:
        return ("#w_account = :acc, #w_policy = :pol, #w_start = :start, #w_end = :end, "
                "#ttl = if_not_exists(#ttl, :ttl)")

    def _window_values(self, window: Window) -> dict[str, Any]:
        return {":acc": {"S": window.account}, ":pol": {"S": window.policy}, ":start": {"N": str(window.start)},
                ":end": {"N": str(window.end)}, ":ttl": {"N": str(window.end + self._retention)}}


def gate(audit: Any, settings: Any, record: dict[str, Any], key: str, now: float) -> Decision:
    """The engine's one call: count the event's e-mail in its window; SEND, or FOLD (the record says so)."""
    notifications = settings.notifications
    window = window_for(str(record.get("account", "")), str(record.get("policy", "")), now,
                        notifications.storm_window_minutes, str(record.get(STORM_WINDOW_FIELD, "")))
    control = StormControl(audit.client, audit.table_name, notifications.storm_limit,
                           settings.hub.audit_retention_days * 86400)
    decision = control.admit(window, key)
    record[STORM_WINDOW_FIELD] = window.key
    return decision
