"""The onboarding canary: an event put on a member's default bus, proven to arrive by the hub's record.

The spoke's canary rule forwards it to the hub bus by the same path (and role) as the governed API calls;
the hub's canary Lambda writes ``pk = canary#<id>`` into the audit table with the account and region it
saw and whether it could assume ``OrgGuardRemediation`` there. Reading that item back proves the whole
path, hub side included.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from handlers.contract import CANARY_DETAIL_TYPE, CANARY_SOURCE, TABLE_PARTITION_KEY
from stacksets.access import error_code, error_message
from stacksets.errors import RolloutError

POLL_SECONDS = 3.0


class CanaryError(RolloutError):
    """The canary could not be sent or its arrival could not be read."""


@dataclass(frozen=True)
class Canary:
    account: str
    region: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def key(self) -> str:
        return f"canary#{self.id}"


def canary_entry(canary: Canary) -> dict[str, Any]:
    detail = {"canary_id": canary.id, "account": canary.account, "region": canary.region}
    return {
        "Source": CANARY_SOURCE,
        "DetailType": CANARY_DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "EventBusName": "default",
    }


def send(events: Any, canary: Canary) -> None:
    try:
        response = events.put_events(Entries=[canary_entry(canary)])
    except ClientError as error:
        raise CanaryError(f"cannot put the canary event on the default bus: {error_message(error)}") from error
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        raise CanaryError(
            f"the default bus refused the canary event: {entry.get('ErrorCode')} {entry.get('ErrorMessage', '')}"
        )


# Given the canaries sent and a timeout in seconds, the hub's record of each one that arrived, by canary id.
CanaryWaiter = Callable[[Sequence[Canary], float], dict[str, dict[str, Any]]]


@dataclass
class HubTableWaiter:
    """Polls the hub's audit table for the canaries' items until all are there or the timeout passes."""

    dynamodb: Any
    table_name: str
    poll_seconds: float = POLL_SECONDS
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def _read(self, canary: Canary) -> dict[str, Any] | None:
        try:
            item = self.dynamodb.get_item(
                TableName=self.table_name, ConsistentRead=True, Key={TABLE_PARTITION_KEY: {"S": canary.key}}
            ).get("Item")
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise CanaryError(
                    f"the hub's audit table {self.table_name} does not exist: deploy the hub "
                    "(`orgguard hub`), then run this again"
                ) from error
            raise CanaryError(f"cannot read the hub's audit table {self.table_name}: {error_message(error)}") from error
        if item is None:
            return None
        deserializer = TypeDeserializer()
        return {k: deserializer.deserialize(v) for k, v in item.items()}

    def __call__(self, canaries: Sequence[Canary], timeout: float) -> dict[str, dict[str, Any]]:
        arrived: dict[str, dict[str, Any]] = {}
        deadline = self.clock() + timeout
        while True:
            for canary in canaries:
                if canary.id not in arrived:
                    item = self._read(canary)
                    if item is not None:
                        arrived[canary.id] = item
            if len(arrived) == len(canaries) or self.clock() >= deadline:
                return arrived
            self.sleep(self.poll_seconds)
