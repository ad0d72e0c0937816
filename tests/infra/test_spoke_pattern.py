"""The spoke's forwarding pattern, as rendered, run through an EventBridge pattern engine (moto's) over every
real CloudTrail sample: it forwards exactly the successful calls a policy needs, never OrgGuard's own."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from moto.events.models import EventPattern

from handlers.registry import (
    CLOUDTRAIL_DETAIL_TYPE,
    FORWARD_RULE_NAME,
    REMEDIATION_ROLE_NAME,
    all_event_names,
    policy_for,
)
from handlers.settings import validate
from spoke.lint import parse_template
from spoke.render import render_spoke
from tests.support.samples import needs_samples, require_samples

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "cloudtrail-samples"
OWN_ROLE_SUFFIX = f":role/{REMEDIATION_ROLE_NAME}"

Event = dict[str, Any]
Samples = dict[str, Event]
Forwards = Callable[[Event], bool]

pytestmark = [needs_samples(SAMPLES / "records"), needs_samples(SAMPLES / "wrapped")]


def envelope(record: Event) -> Event:
    """The EventBridge event CloudTrail puts on the default bus for a bare record."""
    source = record.get("eventSource")
    service = source.split(".")[0] if isinstance(source, str) else "unknown"
    return {
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": CLOUDTRAIL_DETAIL_TYPE,
        "source": f"aws.{service}",
        "account": record.get("recipientAccountId", "111111111111"),
        "time": record.get("eventTime", "2024-01-01T00:00:00Z"),
        "region": record.get("awsRegion", "us-east-1"),
        "resources": [],
        "detail": record,
    }


def load_samples() -> Samples:
    events = {}
    for path in sorted((SAMPLES / "wrapped").glob("*.json")):
        events[f"wrapped/{path.name}"] = json.loads(path.read_text())
    for path in sorted((SAMPLES / "records").glob("*.json")):
        events[f"records/{path.name}"] = envelope(json.loads(path.read_text()))
    return events


def issuer_arn(detail: dict[str, Any]) -> str | None:
    identity = detail.get("userIdentity")
    context = identity.get("sessionContext") if isinstance(identity, dict) else None
    issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    arn = issuer.get("arn") if isinstance(issuer, dict) else None
    return arn if isinstance(arn, str) else None


def should_forward(event: Event) -> bool:
    """What the registry needs, independently of the pattern: governed, succeeded, not our own call."""
    detail = event["detail"]
    arn = issuer_arn(detail)
    return (
        event["detail-type"] == CLOUDTRAIL_DETAIL_TYPE
        and policy_for(detail.get("eventSource"), detail.get("eventName")) is not None
        and "errorCode" not in detail
        and not (arn is not None and arn.endswith(OWN_ROLE_SUFFIX))
    )


@pytest.fixture(scope="module")
def samples() -> Samples:
    require_samples(SAMPLES / "records")  # a module fixture runs before the tests' marks are looked at
    require_samples(SAMPLES / "wrapped")
    return load_samples()


@pytest.fixture(scope="module")
def forwards() -> Forwards:
    """Whether the rendered ``orgguard-forward`` rule matches an event, by moto's EventBridge engine."""
    template = parse_template(render_spoke(validate({}, "defaults")))
    (rule,) = [r["Properties"] for r in template["Resources"].values()
               if r["Type"] == "AWS::Events::Rule" and r["Properties"]["Name"] == FORWARD_RULE_NAME]
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    return lambda event: pattern.matches_event(cast(Any, event))


def test_pattern_forwards_exactly_the_successful_governed_calls(samples: Samples, forwards: Forwards) -> None:
    forwarded = {name for name, event in samples.items() if forwards(event)}
    expected = {name for name, event in samples.items() if should_forward(event)}
    assert forwarded == expected, {"forwarded, not expected": sorted(forwarded - expected),
                                   "expected, not forwarded": sorted(expected - forwarded)}
    # The samples cover both shapes and every governed event name, so the equality above says something.
    assert {name.split("/")[0] for name in forwarded} == {"wrapped", "records"}
    assert {samples[name]["detail"]["eventName"] for name in forwarded} == set(all_event_names())


def sample(samples: Samples, name: str) -> Event:
    return copy.deepcopy(samples[name])


def test_iam_user_call_without_session_context_is_forwarded(samples: Samples, forwards: Forwards) -> None:
    event = sample(samples, "records/ctwatcher__CreateBucket__1.json")
    assert event["detail"]["userIdentity"]["type"] == "IAMUser"
    assert "sessionContext" not in event["detail"]["userIdentity"]
    assert forwards(event)


def test_root_call_is_forwarded(samples: Samples, forwards: Forwards) -> None:
    for name in ("wrapped/custodian__CreateBucket__1.json", "records/custodian__RunInstances__3.json"):
        event = sample(samples, name)
        assert event["detail"]["userIdentity"]["type"] == "Root" and issuer_arn(event["detail"]) is None
        assert forwards(event), name


def as_called_by(event: Event, role_arn: str) -> Event:
    identity = event["detail"]["userIdentity"]
    account = role_arn.split(":")[4]
    name = role_arn.split("/")[-1]
    identity["arn"] = role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/orgguard"
    identity["sessionContext"]["sessionIssuer"] = {
        "type": "Role", "principalId": "AROAEXAMPLE", "arn": role_arn, "accountId": account, "userName": name}
    return event


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov", "aws-cn"])
def test_call_by_orgguard_remediation_is_dropped(
        samples: Samples, forwards: Forwards, partition: str) -> None:
    original = sample(samples, "records/panther__CreateVpc__1.json")
    assert forwards(original)
    own = as_called_by(original, f"arn:{partition}:iam::111111111111:role/{REMEDIATION_ROLE_NAME}")
    assert not forwards(own)


@pytest.mark.parametrize("role_name", [f"{REMEDIATION_ROLE_NAME}Admin", f"Not{REMEDIATION_ROLE_NAME}",
                                       f"team/{REMEDIATION_ROLE_NAME}"])
def test_roles_only_resembling_orgguard_remediation_are_forwarded(
        samples: Samples, forwards: Forwards, role_name: str) -> None:
    event = as_called_by(sample(samples, "records/panther__CreateVpc__1.json"),
                         f"arn:aws:iam::111111111111:role/{role_name}")
    assert forwards(event)


def test_s3express_create_bucket_is_dropped(samples: Samples, forwards: Forwards) -> None:
    event = sample(samples, "records/spotlight__CreateBucket__2.json")
    assert event["detail"]["eventSource"] == "s3express.amazonaws.com"
    assert event["detail"]["eventName"] == "CreateBucket" and "errorCode" not in event["detail"]
    assert not forwards(event)
    event["detail"]["eventSource"] = "s3.amazonaws.com"
    assert forwards(event)


@pytest.mark.parametrize("name", [
    "records/panther__CreateVpc__2.json",
    "records/panther__RunInstances__9.json",
    "records/panther__DeleteBucketEncryption__2.json",
])
def test_failed_calls_are_dropped(samples: Samples, forwards: Forwards, name: str) -> None:
    event = sample(samples, name)
    assert event["detail"]["errorCode"]
    assert not forwards(event)
    del event["detail"]["errorCode"]
    assert forwards(event)


@pytest.mark.parametrize(("name", "other_source"), [
    ("records/panther__DeleteBucketEncryption__3.json", None),  # a real record: ec2 + an S3 event name
    ("records/panther__CreateVpc__1.json", "s3.amazonaws.com"),
    ("records/spotlight__CreateBucket__1.json", "ec2.amazonaws.com"),
])
def test_governed_name_under_another_governed_source_is_dropped(
        samples: Samples, forwards: Forwards, name: str, other_source: str | None) -> None:
    event = sample(samples, name)
    if other_source is not None:
        event["detail"]["eventSource"] = other_source
    detail = event["detail"]
    assert policy_for(detail["eventSource"], detail["eventName"]) is None
    assert not forwards(event)


def test_unrelated_event_is_dropped(samples: Samples, forwards: Forwards) -> None:
    for name in ("records/stratus__ConsoleLogin__1.json", "records/panther__ConsoleLogin__3.json"):
        event = sample(samples, name)
        assert event["detail"]["eventName"] == "ConsoleLogin"
        assert not forwards(event), name


def test_other_detail_types_are_dropped(samples: Samples, forwards: Forwards) -> None:
    event = sample(samples, "records/spotlight__CreateVpc__1.json")
    assert forwards(event)
    event["detail-type"] = "AWS Service Event via CloudTrail"
    assert not forwards(event)
