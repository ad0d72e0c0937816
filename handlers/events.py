"""Parse an EventBridge "AWS API Call via CloudTrail" event (or a bare CloudTrail record) into a typed object.

Real records are messy (see ``../shared/cloudtrail-samples``): ``requestParameters`` may be null, absent or
the string ``"null"``; ``userIdentity`` may be empty; ``eventTime`` is not always ISO. Parsing never
trusts a field's type. Only what the decision needs is required; everything else has a safe default.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from handlers.cloudtrail_fields import scalar_text
from handlers.contract import CLOUDTRAIL_DETAIL_TYPE

ACCOUNT_RE = re.compile(r"^\d{12}$")
MAX_FIELD = 1024


class MalformedEvent(ValueError):
    """The event cannot be acted on; ``reason`` is a short machine-friendly slug."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class Actor:
    type: str = ""
    arn: str = ""
    issuer_arn: str = ""
    invoked_by: str = ""

    @property
    def display(self) -> str:
        return self.arn or self.issuer_arn or self.invoked_by or self.type or "unknown"


@dataclass(frozen=True)
class ApiCallEvent:
    event_id: str
    event_name: str
    event_source: str
    event_time: str
    account: str
    region: str
    actor: Actor
    error_code: str
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    envelope_id: str = ""

    @property
    def succeeded(self) -> bool:
        return not self.error_code


def _text(value: Any, limit: int = MAX_FIELD) -> str:
    return scalar_text(value, limit)


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value.strip() in ("null", ""):
        return {}
    return value if isinstance(value, dict) else {}


def content_key(payload: Any) -> str:
    """A stable id for events that carry none (rejected input is still audited once)."""
    try:
        text = json.dumps(payload, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(payload)
    return "sha256-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]


def detail_of(payload: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split an EventBridge envelope from its CloudTrail record; a bare record has an empty envelope."""
    if not isinstance(payload, dict):
        raise MalformedEvent("not-an-object", f"event must be a JSON object, got {type(payload).__name__}")
    if "detail" in payload or "detail-type" in payload:
        detail_type = payload.get("detail-type")
        if detail_type is not None and detail_type != CLOUDTRAIL_DETAIL_TYPE:
            raise MalformedEvent("wrong-detail-type",
                                 f"detail-type must be {CLOUDTRAIL_DETAIL_TYPE!r}, got {_text(detail_type, 80)!r}")
        detail = payload.get("detail")
        if not isinstance(detail, dict):
            raise MalformedEvent("no-detail", "envelope has no 'detail' object")
        return payload, detail
    if "eventName" in payload or "eventSource" in payload:
        return {}, payload
    raise MalformedEvent("not-cloudtrail", "neither an EventBridge envelope nor a CloudTrail record")


def parse(payload: Any) -> ApiCallEvent:
    envelope, detail = detail_of(payload)
    name = _text(detail.get("eventName"), 128)
    source = _text(detail.get("eventSource"), 128)
    if not name:
        raise MalformedEvent("no-event-name", "detail.eventName is missing or not a string")
    if not source:
        raise MalformedEvent("no-event-source", "detail.eventSource is missing or not a string")
    identity = _mapping(detail.get("userIdentity"))
    context = _mapping(identity.get("sessionContext"))
    issuer = _mapping(context.get("sessionIssuer"))
    account = ""
    for candidate in (detail.get("recipientAccountId"), identity.get("accountId"), envelope.get("account")):
        text = _text(candidate, 32)
        if ACCOUNT_RE.fullmatch(text):
            account = text
            break
    if not account:
        raise MalformedEvent("no-account", "no 12-digit account id in detail.recipientAccountId, "
                                           "detail.userIdentity.accountId or account")
    region = _text(detail.get("awsRegion"), 32) or _text(envelope.get("region"), 32)
    if not re.fullmatch(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$", region):
        raise MalformedEvent("no-region", f"detail.awsRegion is missing or not a region: {region[:40]!r}")
    event_id = _text(detail.get("eventID"), 128) or _text(envelope.get("id"), 128) or content_key(payload)
    return ApiCallEvent(
        event_id=event_id,
        event_name=name,
        event_source=source,
        event_time=_text(detail.get("eventTime"), 64) or _text(envelope.get("time"), 64),
        account=account,
        region=region,
        actor=Actor(
            type=_text(identity.get("type"), 64),
            arn=_text(identity.get("arn")),
            issuer_arn=_text(issuer.get("arn")),
            invoked_by=_text(identity.get("invokedBy"), 256),
        ),
        # Present at all means failed: the spoke pattern ({"exists": false}) drops such events the same way.
        error_code=_text(detail.get("errorCode"), 256) or ("error" if "errorCode" in detail else ""),
        request=_mapping(detail.get("requestParameters")),
        response=_mapping(detail.get("responseElements")),
        detail=detail,
        envelope_id=_text(envelope.get("id"), 128),
    )
