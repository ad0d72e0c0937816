"""Outcome vocabulary, severities, and which AWS errors are transient (raised so Lambda retries)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ParamValidationError

from handlers import outcome as oc
from handlers.errors import error_code, is_transient


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "Op")


@pytest.mark.parametrize(("outcome", "policy_severity", "expected"), [
    ("remediated", "high", "high"), ("reported", "low", "low"), ("failed:no-admin-group", "low", "high"),
    ("failed:AccessDenied", "medium", "high"), ("not-onboarded", "low", "high"), ("gone", "high", "low"),
    ("compliant", "high", "info"), ("exempt", "high", "info"), ("skipped:duplicate", "high", "info"),
    ("rejected:no-account", "high", "info"),
])
def test_severity(outcome: str, policy_severity: str, expected: str) -> None:
    assert oc.severity(outcome, policy_severity) == expected


def test_outcome_helpers() -> None:
    assert (oc.skipped("x"), oc.failed("y"), oc.rejected("z")) == ("skipped:x", "failed:y", "rejected:z")
    assert oc.Result(oc.REMEDIATED).acted and not oc.Result(oc.REPORTED).acted
    action = oc.Action("ec2:CreateTags", {"Resources": ["i-1"]})
    assert action.to_dict() == {"action": "ec2:CreateTags", "params": {"Resources": ["i-1"]}}


@pytest.mark.parametrize("error", [
    client_error("Throttling"), client_error("ThrottlingException"), client_error("RequestLimitExceeded"),
    client_error("SlowDown", 503), client_error("ProvisionedThroughputExceededException"),
    client_error("InternalError", 500), client_error("SomethingNew", 502), client_error("ServiceUnavailable", 503),
    EndpointConnectionError(endpoint_url="https://x"), ConnectTimeoutError(endpoint_url="https://x"),
])
def test_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    client_error("AccessDenied", 403), client_error("NoSuchBucket", 404), client_error("InvalidParameterValue"),
    client_error("UnauthorizedOperation", 403), ParamValidationError(report="bad"), ValueError("x"),
])
def test_not_transient(error: Exception) -> None:
    assert not is_transient(error)


def test_error_code() -> None:
    assert error_code(client_error("AccessDenied")) == "AccessDenied"
    assert error_code(ValueError("x")) == "ValueError"
    assert error_code(ClientError({}, "Op")) == "ClientError"


OUTCOME_TEXTS = [
    "compliant", "remediated", "reported", "exempt", "gone", "not-onboarded", "region-disabled", "ignored",
    "skipped:own-remediation", "skipped:duplicate", "failed:InvalidInstanceID.NotFound", "rejected:no-account",
    "failed:AccessDenied: not authorized: s3:PutEncryptionConfiguration",  # reasons may contain ':'
    "rejected:detail.eventID: missing", "skipped:a:b:c",
]


@pytest.mark.parametrize("text", OUTCOME_TEXTS)
def test_outcome_round_trip(text: str) -> None:
    parsed = oc.Outcome.parse(text)
    assert str(parsed) == text and oc.Outcome.parse(str(parsed)) == parsed
    assert parsed.kind.value == text.partition(":")[0] and parsed.reason == text.partition(":")[2]
    assert oc.Outcome(parsed.kind, parsed.reason) == parsed


@pytest.mark.parametrize("kind", list(oc.OutcomeKind))
def test_every_kind_has_a_text(kind: oc.OutcomeKind) -> None:
    outcome = oc.Outcome(kind, "why: because") if kind.reasoned else oc.Outcome(kind)
    assert oc.Outcome.parse(str(outcome)).kind is kind
    assert oc.kind_of(str(outcome)) is kind


def test_outcome_serialises_as_its_text() -> None:
    import json
    import pickle
    outcome = oc.failed("InvalidInstanceID.NotFound")
    assert json.dumps({"outcome": outcome}) == '{"outcome": "failed:InvalidInstanceID.NotFound"}'
    assert f"{outcome}" == "failed:InvalidInstanceID.NotFound" and type(str(outcome)) is str
    assert pickle.loads(pickle.dumps(outcome)).reason == "InvalidInstanceID.NotFound"


@pytest.mark.parametrize("text", ["", "done", "failed", "skipped", "remediated:why", "Failed:x", "unknown:x"])
def test_not_an_outcome(text: str) -> None:
    with pytest.raises(oc.InvalidOutcome):
        oc.Outcome.parse(text)
    assert oc.Outcome.maybe(text) is None and oc.kind_of(text) is None and not oc.is_failure(text)


def test_reason_only_where_the_kind_has_one() -> None:
    with pytest.raises(oc.InvalidOutcome):
        oc.Outcome(oc.OutcomeKind.FAILED)
    with pytest.raises(oc.InvalidOutcome):
        oc.Outcome(oc.OutcomeKind.REMEDIATED, "why")
