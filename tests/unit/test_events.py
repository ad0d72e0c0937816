"""Event parsing: typed, defensive, and never raising anything but MalformedEvent (with a reason)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.events import MalformedEvent, content_key, parse
from handlers.registry import CLOUDTRAIL_DETAIL_TYPE
from tests.support.samples import needs_samples

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "cloudtrail-samples"
LOCAL = Path(__file__).resolve().parents[1] / "events"
REASONS = {"not-an-object", "wrong-detail-type", "no-detail", "not-cloudtrail", "no-event-name", "no-event-source",
           "no-account", "no-region"}


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("records/*.json")) + sorted(SAMPLES.glob("wrapped/*.json"))


def sample_params() -> list[Path]:
    """The samples; without them one stand-in, so the test is there to skip (to fail under CI), not left out."""
    return sample_files() or [SAMPLES / "records" / "absent.json"]


def record() -> dict[str, Any]:
    return dict(json.loads((LOCAL / "records" / "panther__PutBucketEncryption__1.json").read_text()))


def envelope(detail: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"version": "0", "id": "env-1", "detail-type": CLOUDTRAIL_DETAIL_TYPE, "source": "aws.s3",
            "account": "999999999999", "time": "2024-01-01T00:00:00Z", "region": "us-west-2", "resources": [],
            "detail": detail, **fields}


@needs_samples(SAMPLES / "records")
@pytest.mark.parametrize("path", sample_params(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_parses_or_is_rejected_with_a_reason(path: Path) -> None:
    payload = json.loads(path.read_text())
    for candidate in (payload, payload.get("detail", payload)):
        try:
            event = parse(candidate)
        except MalformedEvent as error:
            assert error.reason in REASONS and str(error)
            continue
        assert event.event_name and event.event_source
        assert len(event.account) == 12 and event.account.isdigit()
        assert event.region and event.event_id
        assert isinstance(event.request, dict) and isinstance(event.response, dict)


def test_bare_record_and_envelope_parse_alike() -> None:
    bare = parse(record())
    wrapped = parse(envelope(record()))
    assert bare == type(bare)(**{**wrapped.__dict__, "envelope_id": ""})
    assert wrapped.envelope_id == "env-1"
    assert (bare.event_name, bare.event_source) == ("PutBucketEncryption", "s3.amazonaws.com")
    assert (bare.account, bare.region, bare.event_time) == ("111111111111", "us-east-1", "2024-01-15T10:45:23Z")
    assert bare.request["bucketName"] == "sensitive-data-bucket"
    assert bare.actor.type == "AssumedRole" and bare.actor.arn.startswith("arn:aws:sts::111111111111:assumed-role/")
    assert bare.succeeded


def test_account_comes_from_recipient_then_identity_then_envelope() -> None:
    detail = record()
    detail["recipientAccountId"], detail["userIdentity"]["accountId"] = "222222222222", "333333333333"
    assert parse(envelope(detail)).account == "222222222222"
    for bad in (None, "", "12345", 222222222222.5, ["222222222222"]):
        detail["recipientAccountId"] = bad
        assert parse(envelope(detail)).account == "333333333333"
    del detail["recipientAccountId"]
    detail["userIdentity"] = {}
    assert parse(envelope(detail)).account == "999999999999"
    detail["userIdentity"] = None
    with pytest.raises(MalformedEvent) as raised:
        parse(detail)  # a bare record has no envelope to fall back on
    assert raised.value.reason == "no-account"


def test_numeric_account_id_is_accepted() -> None:
    detail = record()
    detail["recipientAccountId"] = 123456789012
    assert parse(detail).account == "123456789012"


@pytest.mark.parametrize("value", [None, "null", " null ", "", "absent", ["x"], 5])
def test_request_parameters_that_are_not_an_object_become_empty(value: Any) -> None:
    detail = record()
    if value == "absent":
        del detail["requestParameters"]
    else:
        detail["requestParameters"] = value
    detail["responseElements"] = value if value != "absent" else None
    event = parse(envelope(detail))
    assert event.request == {} and event.response == {}


def test_wrong_detail_type_is_rejected() -> None:
    with pytest.raises(MalformedEvent) as raised:
        parse(envelope(record(), **{"detail-type": "AWS Console Sign In via CloudTrail"}))
    assert raised.value.reason == "wrong-detail-type"


@pytest.mark.parametrize(("payload", "reason"), [
    (None, "not-an-object"),
    ("{\"detail\": {\"eventName\": \"Cre", "not-an-object"),
    ([{"eventName": "CreateBucket"}], "not-an-object"),
    ({}, "not-cloudtrail"),
    ({"Records": [{}]}, "not-cloudtrail"),
    ({"detail-type": CLOUDTRAIL_DETAIL_TYPE}, "no-detail"),
    ({"detail": "null"}, "no-detail"),
    ({"eventSource": "s3.amazonaws.com"}, "no-event-name"),
    ({"eventName": "CreateBucket"}, "no-event-source"),
    ({"eventName": "CreateBucket", "eventSource": "s3.amazonaws.com", "recipientAccountId": "111111111111"},
     "no-region"),
    ({"eventName": "CreateBucket", "eventSource": "s3.amazonaws.com", "recipientAccountId": "111111111111",
      "awsRegion": "us-east-1r"}, "no-region"),
])
def test_malformed_payloads_name_their_reason(payload: Any, reason: str) -> None:
    with pytest.raises(MalformedEvent) as raised:
        parse(payload)
    assert raised.value.reason == reason


def test_event_id_falls_back_to_the_envelope_then_to_the_content() -> None:
    detail = record()
    del detail["eventID"]
    assert parse(envelope(detail)).event_id == "env-1"
    first, second = parse(detail).event_id, parse(copy.deepcopy(detail)).event_id
    assert first == second == content_key(detail) and first.startswith("sha256-")
    detail["eventTime"] = "2024-01-15T10:45:24Z"
    assert parse(detail).event_id != first


def test_error_code_and_actor_shapes() -> None:
    detail = record()
    detail["errorCode"] = "AccessDenied"
    assert parse(detail).error_code == "AccessDenied" and not parse(detail).succeeded
    detail["errorCode"] = ""  # present, even empty: the spoke pattern's {"exists": false} drops it too
    assert not parse(detail).succeeded
    detail["errorCode"] = {"code": "x"}  # not a string, but present and truthy: still a failed call
    assert not parse(detail).succeeded
    detail["errorCode"] = None
    detail["userIdentity"] = {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com",
                              "accountId": "111111111111"}
    assert parse(detail).actor.display == "autoscaling.amazonaws.com"
    detail["userIdentity"] = {"accountId": "111111111111", "sessionContext": {"sessionIssuer": {
        "arn": "arn:aws:iam::111111111111:role/Ops"}}}
    assert parse(detail).actor.display == "arn:aws:iam::111111111111:role/Ops"
    detail["userIdentity"] = {"accountId": "111111111111", "sessionContext": "null"}
    assert parse(detail).actor.display == "unknown"


def test_oversized_fields_are_cut() -> None:
    detail = record()
    detail["userIdentity"]["arn"] = "arn:" + "x" * 10_000
    detail["eventName"] = "E" * 1000
    event = parse(detail)
    assert len(event.actor.arn) <= 1024 and len(event.event_name) <= 128


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
FIELDS = ["eventName", "eventSource", "recipientAccountId", "awsRegion", "eventID", "eventTime", "userIdentity",
          "requestParameters", "responseElements", "errorCode"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=JSON)
def test_arbitrary_json_never_raises_anything_else(payload: Any) -> None:
    try:
        parse(payload)
    except MalformedEvent as error:
        assert error.reason in REASONS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4), wrap=st.booleans())
def test_a_real_record_with_fields_replaced_never_raises_anything_else(changes: dict[str, Any], wrap: bool) -> None:
    detail = {**record(), **changes}
    try:
        event = parse(envelope(detail) if wrap else detail)
    except MalformedEvent as error:
        assert error.reason in REASONS
    else:
        assert isinstance(event.request, dict) and isinstance(event.actor.arn, str)
