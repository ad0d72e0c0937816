"""The audit and idempotency table: every event ends here with its outcome, exactly once.

An event's item (``pk = event#<eventID>``) moves through three states:

- ``claimed``: a conditional put won the event; the claim has a lease (the function's timeout plus a
  margin) so a crashed invocation does not block the event beyond Lambda's own retries, and a concurrent
  duplicate sees it and backs off. An attempt that raised after acting hands the claim over with what it
  did (``carried_actions``), or, when only its final write failed, with its whole result
  (``carried_result``); the next attempt takes both from the claim it wins.
- ``acted``: the outcome and the rendered notification are recorded before the notification is
  published (``notification`` = ``pending``); a publish that raised is recorded as ``failed``, and a retry
  sends it again. A retry that finds ``pending`` cannot know whether the message went out and does not
  send it (at most once): it records ``unknown``.
- ``done``: outcome recorded and the notification ``sent`` (or ``none`` to send, or ``unknown``). Any later
  delivery is a duplicate and does nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from handlers.contract import TABLE_PARTITION_KEY, TABLE_TTL_ATTRIBUTE
from handlers.settings import Hub


class RecordState(enum.StrEnum):
    """The ``state`` attribute of an event's item, as stored (a ``StrEnum``: it is written as its text)."""

    CLAIMED = "claimed"
    ACTED = "acted"
    DONE = "done"


CLAIMED, ACTED, DONE = RecordState.CLAIMED, RecordState.ACTED, RecordState.DONE


class ClaimStatus(enum.Enum):
    """What trying to claim an event found: the caller's next step depends on it, and it is never stored."""

    NEW = "new"  # this invocation holds the claim: decide and act
    DONE = "done"  # recorded and settled: a duplicate delivery
    ACTED = "acted"  # outcome recorded, notification not confirmed
    IN_FLIGHT = "in-flight"  # another invocation holds an unexpired lease

# Notification states of a recorded outcome (``digest``: folded into its storm window's digest, handlers.storm).
NONE, PENDING, FAILED, SENT, UNKNOWN, DIGEST = "none", "pending", "failed", "sent", "unknown", "digest"
LEASE_MARGIN_SECONDS = 30
CARRIED_ACTIONS, CARRIED_RESULT = "carried_actions", "carried_result"


def lease_for(timeout_seconds: int) -> int:
    """A claim outlives the invocation holding it by a margin, and no more: Lambda retries a failed
    asynchronous invocation after about one and two minutes, and a longer lease would turn a crashed
    (timed-out) invocation's retries into no-ops."""
    return timeout_seconds + LEASE_MARGIN_SECONDS


DEFAULT_LEASE_SECONDS = lease_for(Hub.lambda_timeout_seconds)


class InFlight(Exception):
    """Another invocation holds the claim on this event; raising lets Lambda retry later."""


@dataclass
class Claim:
    status: ClaimStatus
    item: dict[str, Any]
    claim_id: str = ""
    carried_actions: list[dict[str, Any]] = field(default_factory=list)  # done by earlier attempts
    carried_result: dict[str, Any] | None = None  # an earlier attempt's record, whose final write failed


def _json_field(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return default
    return default


def attribute_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": str(value)}  # an Outcome or RecordState is stored as its plain text
    return {"S": json.dumps(value, sort_keys=True, default=str)}


def _plain(attr: dict[str, Any]) -> Any:
    if "S" in attr:
        return attr["S"]
    if "N" in attr:
        number = float(attr["N"])
        return int(number) if number.is_integer() else number
    if "BOOL" in attr:
        return attr["BOOL"]
    if "NULL" in attr:
        return None
    return attr


def item_to_dict(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in item.items()}


def event_key(event_id: str, suffix: str = "") -> str:
    """The record of one event for one guardrail: ``event#<id>``, and ``event#<id>#<guardrail>`` for each further
    guardrail the event reaches (``handlers.registry.record_key_suffix``)."""
    return f"event#{event_id}#{suffix}" if suffix else f"event#{event_id}"


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    def __init__(self, client: Any, table_name: str, retention_days: int = 400,
                 clock: Callable[[], float] = time.time, lease_seconds: int = DEFAULT_LEASE_SECONDS) -> None:
        self._client = client
        self.table_name = table_name
        self._retention = retention_days * 86400
        self._clock = clock
        self.lease_seconds = lease_seconds

    @property
    def client(self) -> Any:
        """The table's DynamoDB client (storm control keeps its window counters in the same table)."""
        return self._client

    def _expiry(self) -> int:
        return int(self._clock()) + self._retention

    def claim(self, key: str, fields: dict[str, Any]) -> Claim:
        now = self._clock()
        claim_id = uuid.uuid4().hex
        item = {TABLE_PARTITION_KEY: key, "state": CLAIMED, "lease_until": int(now + self.lease_seconds),
                "claim_id": claim_id, "time": iso(now), TABLE_TTL_ATTRIBUTE: self._expiry(), "deliveries": 1,
                **fields}
        try:
            response = self._client.put_item(
                TableName=self.table_name,
                Item={k: attribute_value(v) for k, v in item.items() if v is not None},
                ConditionExpression="attribute_not_exists(#pk) OR (#state = :claimed AND lease_until < :now)",
                ExpressionAttributeNames={"#pk": TABLE_PARTITION_KEY, "#state": "state"},
                ExpressionAttributeValues={":claimed": {"S": str(CLAIMED)}, ":now": {"N": str(int(now))}},
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item") or self.get(key, raw=True) or {}
            existing = item_to_dict(old)
            state = existing.get("state")
            if state == RecordState.DONE:
                return Claim(ClaimStatus.DONE, existing)
            if state == RecordState.ACTED:
                return Claim(ClaimStatus.ACTED, existing)
            return Claim(ClaimStatus.IN_FLIGHT, existing)
        # A claim taken over (lease over, or handed over) brings what the earlier attempts left in it.
        previous = item_to_dict(response.get("Attributes") or {})
        return Claim(ClaimStatus.NEW, item, claim_id, _json_field(previous.get(CARRIED_ACTIONS), []),
                     _json_field(previous.get(CARRIED_RESULT), None))

    def hand_over(self, claim: Claim, carried: dict[str, Any]) -> None:
        """Give the claim back with what this attempt did, for the next attempt to take at once.

        A conditional put of the whole claim item (not an update): it replaces the claim only while this
        attempt still holds it, and it is a different request from the final record's update whose failure
        is one reason to hand over."""
        item = {**claim.item, "lease_until": 0, **carried}
        self._client.put_item(
            TableName=self.table_name,
            Item={k: attribute_value(v) for k, v in item.items() if v is not None},
            ConditionExpression="#state = :claimed AND claim_id = :id",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":claimed": {"S": str(CLAIMED)}, ":id": {"S": claim.claim_id}},
        )

    def finish(self, key: str, fields: dict[str, Any], notification: str) -> None:
        """Record the outcome; a ``pending`` or ``failed`` notification leaves the event ``acted``."""
        values = {**fields, **self._notification_fields(notification), "finished": iso(self._clock())}
        names = {f"#a{i}": name for i, name in enumerate(values)}
        names.update({"#carried_actions": CARRIED_ACTIONS, "#carried_result": CARRIED_RESULT})
        expression = ("SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values)))
                      + " REMOVE #carried_actions, #carried_result")
        self._client.update_item(
            TableName=self.table_name,
            Key={TABLE_PARTITION_KEY: {"S": key}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": attribute_value(v) for i, v in enumerate(values.values())},
        )

    def set_notification(self, key: str, notification: str, note: str = "") -> None:
        values = self._notification_fields(notification)
        if note:
            values["notification_note"] = note
        names = {f"#a{i}": name for i, name in enumerate(values)}
        self._client.update_item(
            TableName=self.table_name,
            Key={TABLE_PARTITION_KEY: {"S": key}},
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": attribute_value(v) for i, v in enumerate(values.values())},
        )

    @staticmethod
    def _notification_fields(notification: str) -> dict[str, Any]:
        if notification not in (NONE, PENDING, FAILED, SENT, UNKNOWN, DIGEST):
            raise ValueError(f"unknown notification state {notification!r}")
        return {"state": ACTED if notification in (PENDING, FAILED) else DONE, "notification": notification,
                "notified": notification == SENT}

    def release(self, key: str, claim_id: str = "") -> None:
        """Give a claim back (a transient error happened before acting) so the retry can take it at once."""
        condition, values = "#state = :claimed", {":claimed": {"S": str(CLAIMED)}}
        if claim_id:
            condition += " AND claim_id = :id"
            values[":id"] = {"S": claim_id}
        self._client.delete_item(
            TableName=self.table_name,
            Key={TABLE_PARTITION_KEY: {"S": key}},
            ConditionExpression=condition,
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=values,
        )

    def once(self, key: str, fields: dict[str, Any], ttl_seconds: int = 2 * 86400) -> bool:
        """True the first time ``key`` is seen (e.g. one not-onboarded notice per account per day)."""
        now = self._clock()
        item = {TABLE_PARTITION_KEY: key, "time": iso(now), TABLE_TTL_ATTRIBUTE: int(now) + ttl_seconds, **fields}
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={k: attribute_value(v) for k, v in item.items()},
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": TABLE_PARTITION_KEY},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put(self, key: str, fields: dict[str, Any]) -> None:
        now = self._clock()
        item = {TABLE_PARTITION_KEY: key, "time": iso(now), TABLE_TTL_ATTRIBUTE: self._expiry(), **fields}
        self._client.put_item(TableName=self.table_name, Item={k: attribute_value(v) for k, v in item.items()})

    def get(self, key: str, raw: bool = False) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, Key={TABLE_PARTITION_KEY: {"S": key}},
                                         ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return None
        return item if raw else item_to_dict(item)
