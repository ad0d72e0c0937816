"""The spoke's forwarding decision, made the way EventBridge makes it: the registry's pattern on the envelope.

The pattern is ``handlers.registry.spoke_forward_pattern()`` (exactly what the spoke rule carries) and the
matcher is moto's EventBridge pattern engine, the one the embedded AWS uses to route events between
buses. A bare CloudTrail record is first put in the envelope CloudTrail's delivery to the default bus
gives it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from handlers.cloudtrail_fields import text as _text
from handlers.registry import CLOUDTRAIL_DETAIL_TYPE, spoke_forward_pattern


def is_envelope(payload: dict[str, Any]) -> bool:
    return "detail" in payload or "detail-type" in payload


def source_for(event_source: str) -> str:
    """``s3.amazonaws.com`` -> ``aws.s3``: the envelope ``source`` of a service's CloudTrail events."""
    service = event_source.split(".", 1)[0]
    return f"aws.{service}" if service else "aws.unknown"


def record_account(record: dict[str, Any]) -> str:
    identity = record.get("userIdentity")
    identity_account = identity.get("accountId") if isinstance(identity, dict) else None
    return _text(record.get("recipientAccountId")) or _text(identity_account)


def envelope_for(payload: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge envelope of ``payload``: itself if it is one, else the record wrapped."""
    if is_envelope(payload):
        return payload
    event_id = _text(payload.get("eventID"))
    return {
        "version": "0",
        "id": f"replay-{event_id}" if event_id else "replay",
        "detail-type": CLOUDTRAIL_DETAIL_TYPE,
        "source": source_for(_text(payload.get("eventSource"))),
        "account": record_account(payload),
        "time": _text(payload.get("eventTime")),
        "region": _text(payload.get("awsRegion")),
        "resources": [],
        "detail": payload,
    }


@lru_cache(maxsize=1)
def _spoke_pattern() -> Any:
    from moto.events.models import EventPattern

    return EventPattern.load(json.dumps(spoke_forward_pattern()))


def spoke_forwards(envelope: dict[str, Any]) -> bool:
    """Would the member account's rule forward this event to the hub bus?"""
    return bool(_spoke_pattern().matches_event(envelope))
