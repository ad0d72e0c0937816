"""Who made a call, in words: the person first, then the role, then the account; the ARN on its own line;
root flagged; services named. Over the real CloudTrail samples, and the documented SSO shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.actor_text import Who, who
from tests.support.samples import SAMPLES, needs_samples

RECORDS = Path(__file__).resolve().parents[1] / "events" / "records"


def identity(path: Path) -> Any:
    record = json.loads(path.read_text())
    return record.get("detail", record).get("userIdentity")


@pytest.mark.parametrize(("sample", "expected"), [
    ("ctwatcher__CreateBucket__1.json", Who("test", "IAM user", "arn:aws:iam::000000000000:user/test")),
    ("custodian__RunInstances__3.json", Who("the root user", "via autoscaling.amazonaws.com",
                                            "arn:aws:iam::619193117841:root", root=True)),
    ("panther__CreateVpc__1.json", Who("tester", "role tester", "arn:aws:sts::123456789012:assumed-role/tester")),
])
def test_the_repository_samples(sample: str, expected: Who) -> None:
    assert who(identity(RECORDS / sample)) == expected


def test_an_assumed_role_session_is_the_person_and_the_role_comes_second() -> None:
    found = who(identity(RECORDS / "panther__PutBucketEncryption__1.json"))
    assert found.role == "role sample-role-dreamy-yonath"
    assert found.person.startswith("sample-role-brave-yalow") and found.arn.endswith(found.person)


def test_an_sso_session_names_the_person_and_the_permission_set() -> None:
    arn = ("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_PowerUserAccess_0123456789abcdef/"
           "jane.doe@example.com")
    found = who({"type": "AssumedRole", "arn": arn, "principalId": "AROAEXAMPLE:jane.doe@example.com",
                 "sessionContext": {"sessionIssuer": {
                     "type": "Role", "userName": "AWSReservedSSO_PowerUserAccess_0123456789abcdef",
                     "arn": "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
                            "AWSReservedSSO_PowerUserAccess_0123456789abcdef"}}})
    assert found.line("workload-alpha") == "jane.doe@example.com (SSO PowerUserAccess) in workload-alpha"
    assert found.arn == arn and not found.root


@needs_samples(SAMPLES / "records")
def test_service_linked_roles_and_aws_services_are_the_service() -> None:
    records = SAMPLES / "records"
    autoscaling = who(identity(records / "panther__RunInstances__1.json"))
    assert (autoscaling.person, autoscaling.role, autoscaling.service) == (
        "autoscaling.amazonaws.com", "service-linked role AWSServiceRoleForAutoScaling", True)
    eks = who(identity(records / "panther__RunInstances__4.json"))
    assert eks.person == "eks-nodegroup.amazonaws.com" and eks.service
    backup = who(identity(records / "stelligent__AssumeRole__1.json"))
    assert backup == Who("backup.amazonaws.com", "AWS service", service=True)


@pytest.mark.parametrize("value", [None, "null", [], {}, {"type": 7}, {"type": "AssumedRole"}])
def test_whatever_a_record_holds_it_never_raises(value: Any) -> None:
    assert who(value).person


def test_root_without_a_service_has_no_role_and_is_flagged() -> None:
    found = who({"type": "Root", "arn": "arn:aws:iam::111111111111:root"})
    assert found.line("workload-alpha") == "the root user in workload-alpha" and found.root
