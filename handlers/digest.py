"""The storm digests: one e-mail per account x guardrail window that folded outcomes (``handlers.storm``).

A scheduled hub Lambda (``handler``, every few minutes) reads the due items of the last hours, and for each
window that has ended and has folded events:

1. reads the folded events' records (BatchGetItem) and renders one digest (``render_context`` is pure; the
   template is ``digest.txt.j2``, user-overridable like every template): one line per outcome;
2. claims the send with a conditional update of the window item (``digest`` = ``sending``, only when no
   digest was sent or claimed, or the last publish failed): a retried or concurrent run never sends twice;
3. publishes, then records ``digest`` = ``sent`` with the subject, count and message id (``failed`` when
   the publish raised: the next run sends it again), and takes the window off its due item.

A claim left ``sending`` by a run that died before its publish returned is recorded ``unknown`` (the digest
may not have gone out; OrgGuard sends a notification at most once, as for the events' own e-mails).
"now" is the later of the clock and the schedule's event time.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from handlers import storm
from handlers.audit import item_to_dict
from handlers.contract import TABLE_PARTITION_KEY
from handlers.logs import configure_lambda_logging, invocation
from handlers.mail_context import account_context
from handlers.notify import message_attributes
from handlers.registry import POLICIES_BY_ID
from handlers.runtime import Runtime, RuntimeHolder, runtime_from_environment

log = logging.getLogger("orgguard")

TEMPLATE = "digest.txt.j2"
LOOKBACK_HOURS = 48  # windows that ended this long ago are still sent (a broken schedule, fixed in time)
STALE_CLAIM_SECONDS = 900  # a "sending" claim older than a Lambda's longest run: its run died
BATCH_GET = 100  # BatchGetItem's maximum
SEVERITY_ORDER = ("info", "low", "medium", "high", "critical")
SENDING, SENT, FAILED, UNKNOWN = "sending", "sent", "failed", "unknown"


def strings(value: Any) -> set[str]:
    """A string set as ``item_to_dict`` leaves it (``{"SS": [...]}``), or nothing."""
    return set(value.get("SS", [])) if isinstance(value, dict) else set()


def _one_line(value: Any, limit: int = 200) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()[:limit]


def _utc(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M")


def digest_lines(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Pure: one line per folded outcome (resource, outcome, region, time, event id), in event order."""
    lines = [{"outcome": _one_line(r.get("outcome")), "resource": _one_line(r.get("resource")),
              "region": _one_line(r.get("region"), 32), "time": _one_line(r.get("event_time"), 40),
              "event_id": _one_line(r.get("event_id"), 100)} for r in records]
    return sorted(lines, key=lambda line: (line["time"], line["event_id"]))


def render_context(window: storm.Window, records: list[dict[str, Any]], *, missing: int, overflow: int,
                   settings: Any, account_name: str) -> dict[str, Any]:
    """Pure: the digest template's context."""
    policy = POLICIES_BY_ID.get(window.policy)
    lines = digest_lines(records)
    return {
        "subject_prefix": settings.notifications.subject_prefix,
        "account": account_context(window.account, account_name),
        "policy": {"id": window.policy, "title": policy.title if policy else window.policy,
                   "mode": settings.policies.mode(window.policy) if policy else "-",
                   "notify_only": policy.notify_only if policy else False},
        "start": _utc(window.start), "end": _utc(window.end), "minutes": window.seconds // 60,
        "limit": settings.notifications.storm_limit,
        "count": len(lines) + missing + overflow, "lines": lines, "missing": missing, "overflow": overflow,
    }


def digest_severity(records: list[dict[str, Any]]) -> str:
    found = {str(r.get("severity", "info")) for r in records}
    return max(found or {"info"}, key=lambda s: SEVERITY_ORDER.index(s) if s in SEVERITY_ORDER else 0)


def scheduled_now(event: Any, clock: Callable[[], float]) -> float:
    """The later of the clock and the scheduled event's ``time`` (the schedule says which windows are over)."""
    now = clock()
    text = event.get("time") if isinstance(event, dict) else None
    if isinstance(text, str):
        try:
            now = max(now, dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
        except ValueError:
            log.warning("scheduled event time %r is not ISO-8601; using the clock", text)
    return now


class Digests:
    """The digest run's table and topic work, on a runtime's audit log and notifier."""

    def __init__(self, rt: Runtime) -> None:
        if rt.audit is None or rt.notifier is None:
            raise RuntimeError("the digest needs the audit table and the topic")
        self.rt, self.audit, self.notifier = rt, rt.audit, rt.notifier
        self.client, self.table = rt.audit.client, rt.audit.table_name

    def _update(self, key: str, expression: str, values: dict[str, Any], condition: str = "",
                names: dict[str, str] | None = None) -> None:
        names = {k: v for k, v in {"#digest": "digest", **(names or {})}.items() if k in expression + condition}
        request: dict[str, Any] = {"TableName": self.table, "Key": {TABLE_PARTITION_KEY: {"S": key}},
                                   "UpdateExpression": expression, "ExpressionAttributeValues": values,
                                   "ExpressionAttributeNames": names}
        if condition:
            request["ConditionExpression"] = condition
        self.client.update_item(**request)

    def _records(self, keys: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for first in range(0, len(keys), BATCH_GET):
            pending: dict[str, Any] = {self.table: {"Keys": [{TABLE_PARTITION_KEY: {"S": k}}
                                                             for k in keys[first:first + BATCH_GET]],
                                                    "ConsistentRead": True}}
            while pending:
                response = self.client.batch_get_item(RequestItems=pending)
                found += [item_to_dict(i) for i in response.get("Responses", {}).get(self.table, [])]
                pending = response.get("UnprocessedKeys") or {}
        return found

    def _claim(self, window: storm.Window, now: float) -> bool:
        try:
            self._update(window.key, "SET #digest = :sending, digest_claimed = :now",
                         {":sending": {"S": SENDING}, ":failed": {"S": FAILED}, ":now": {"N": str(int(now))}},
                         "attribute_not_exists(#digest) OR #digest = :failed")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _record(self, window: storm.Window, state: str, fields: dict[str, Any]) -> None:
        values = {":state": {"S": state}, **{f":{k}": v for k, v in fields.items()}}
        sets = ", ".join(["#digest = :state", *(f"digest_{k} = :{k}" for k in fields)])
        self._update(window.key, f"SET {sets}", values)

    def _off_due(self, due: str, window: storm.Window) -> None:
        self._update(due, "DELETE #windows :w", {":w": {"SS": [window.key]}}, names={"#windows": "windows"})

    def send(self, window: storm.Window, item: dict[str, Any], now: float) -> str:
        """Send one ended window's digest (at most once); returns what became of it."""
        folded = sorted(strings(item.get("folded")))
        overflow = int(item.get("overflow", 0) or 0)
        if not folded and not overflow:
            return "empty"
        records = self._records(folded)
        context = render_context(window, records, missing=len(folded) - len(records), overflow=overflow,
                                 settings=self.rt.settings, account_name=self.rt.account_name(window.account))
        subject, body = self.notifier.renderer.render(TEMPLATE, context)
        attributes = message_attributes(window.account, window.policy, "digest", digest_severity(records))
        if not self._claim(window, now):
            return "claimed-elsewhere"
        try:
            message_id = self.notifier.publish(subject, body, attributes)
        except Exception:
            self._record(window, FAILED, {})
            raise
        self._record(window, SENT, {"subject": {"S": subject}, "count": {"N": str(context["count"])},
                                    "message_id": {"S": message_id or "-"}, "sent_at": {"N": str(int(now))}})
        return SENT

    def window_item(self, key: str) -> dict[str, Any]:
        response = self.client.get_item(TableName=self.table, Key={TABLE_PARTITION_KEY: {"S": key}},
                                        ConsistentRead=True)
        return item_to_dict(response.get("Item", {}))

    def visit(self, due: str, key: str, now: float) -> str:
        """One window of the due item ``due``: send it when it has ended; settle it when it is already settled."""
        item = self.window_item(key)
        account, policy, start = storm.parse_window_key(key)
        seconds = int(item.get("window_end", start)) - start
        window = storm.Window(account, policy, start, seconds)
        if not item:
            self._off_due(due, window)
            return "gone"
        if window.end > now:
            return "open"
        state = str(item.get("digest", ""))
        if state == SENDING and now - int(item.get("digest_claimed", 0)) > STALE_CLAIM_SECONDS:
            self._record(window, UNKNOWN, {})
            state = UNKNOWN
        if state in (SENT, UNKNOWN):
            self._off_due(due, window)
            return state
        if state == SENDING:
            return SENDING
        result = self.send(window, item, now)
        self._off_due(due, window)
        return result


def run(rt: Runtime, now: float) -> dict[str, Any]:
    """Every due window, oldest first; a failed publish is retried by the next run (and raised after all)."""
    digests = Digests(rt)
    results: dict[str, str] = {}
    failed: list[str] = []
    for due in storm.due_keys(now, LOOKBACK_HOURS):
        for key in sorted(strings(digests.window_item(due).get("windows"))):
            try:
                results[key] = digests.visit(due, key, now)
            except Exception as error:
                log.exception("digest of %s failed", key)
                results[key], failed = f"failed: {type(error).__name__}", [*failed, key]
    sent = sorted(k for k, v in results.items() if v == SENT)
    log.info("digest run: %d window(s) seen, %d digest(s) sent", len(results), len(sent),
             extra={"sent": len(sent), "failed": len(failed)})
    if failed:
        raise RuntimeError(f"{len(failed)} digest(s) failed and will be retried: {', '.join(failed)[:500]}")
    return {"windows": results, "sent": sent}


def _cold_start() -> Runtime:
    configure_lambda_logging()
    return runtime_from_environment(session_name="orgguard-digest")


RUNTIME: RuntimeHolder[Runtime] = RuntimeHolder(_cold_start)


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    runtime = RUNTIME.get()
    with invocation(context):
        return run(runtime, scheduled_now(event, runtime.clock))

