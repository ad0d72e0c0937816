"""The audit and idempotency table: every event ends here with its outcome, exactly once.

An event's item (``pk = event#<eventID>``) moves through three states:

- ``claimed``: a conditional put won the event; the claim has a lease so a crashed invocation does not
  block the event forever, and a concurrent duplicate sees it and backs off.
- ``acted``: the outcome is recorded but the notification has not gone out (SNS failed): a retry
  re-sends the notification without acting again.
- ``done``: outcome recorded and notified. Any later delivery is a duplicate and does nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from handlers.contract import TABLE_PARTITION_KEY, TABLE_TTL_ATTRIBUTE

CLAIMED, ACTED, DONE = "claimed", "acted", "done"
LEASE_SECONDS = 900  # longer than the Lambda timeout (at most 15 minutes)


class InFlight(Exception):
    """Another invocation holds the claim on this event; raising lets Lambda retry later."""


@dataclass
class Claim:
    status: str  # "new", "done", "acted" (outcome recorded, notification pending), "in-flight"
    item: dict[str, Any]


def attribute_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
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


def event_key(event_id: str) -> str:
    return f"event#{event_id}"


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    def __init__(self, client: Any, table_name: str, retention_days: int = 400,
                 clock: Callable[[], float] = time.time, lease_seconds: int = LEASE_SECONDS) -> None:
        self._client = client
        self.table_name = table_name
        self._retention = retention_days * 86400
        self._clock = clock
        self._lease = lease_seconds

    def _expiry(self) -> int:
        return int(self._clock()) + self._retention

    def claim(self, key: str, fields: dict[str, Any]) -> Claim:
        now = self._clock()
        item = {TABLE_PARTITION_KEY: key, "state": CLAIMED, "lease_until": int(now + self._lease),
                "time": iso(now), TABLE_TTL_ATTRIBUTE: self._expiry(), "deliveries": 1, **fields}
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={k: attribute_value(v) for k, v in item.items() if v is not None},
                ConditionExpression="attribute_not_exists(#pk) OR (#state = :claimed AND lease_until < :now)",
                ExpressionAttributeNames={"#pk": TABLE_PARTITION_KEY, "#state": "state"},
                ExpressionAttributeValues={":claimed": {"S": CLAIMED}, ":now": {"N": str(int(now))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item") or self.get(key, raw=True) or {}
            existing = item_to_dict(old)
            state = existing.get("state")
            if state == DONE:
                return Claim("done", existing)
            if state == ACTED:
                return Claim("acted", existing)
            return Claim("in-flight", existing)
        return Claim("new", item)

    def finish(self, key: str, fields: dict[str, Any], notified: bool) -> None:
        """Record the outcome; ``notified=False`` leaves the event in ``acted`` so a retry only notifies."""
        values = {**fields, "state": DONE if notified else ACTED, "notified": notified,
                  "finished": iso(self._clock())}
        names = {f"#a{i}": name for i, name in enumerate(values)}
        expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values)))
        self._client.update_item(
            TableName=self.table_name,
            Key={TABLE_PARTITION_KEY: {"S": key}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": attribute_value(v) for i, v in enumerate(values.values())},
        )

    def mark_notified(self, key: str) -> None:
        self._client.update_item(
            TableName=self.table_name,
            Key={TABLE_PARTITION_KEY: {"S": key}},
            UpdateExpression="SET #state = :done, notified = :true",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":done": {"S": DONE}, ":true": {"BOOL": True}},
        )

    def release(self, key: str) -> None:
        """Give a claim back (a transient error happened before acting) so the retry can take it at once."""
        self._client.delete_item(
            TableName=self.table_name,
            Key={TABLE_PARTITION_KEY: {"S": key}},
            ConditionExpression="#state = :claimed",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":claimed": {"S": CLAIMED}},
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
