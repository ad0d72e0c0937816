"""`orgguard replay` rebuilds a bucket as the call left it, and says what it could not rebuild: the bucket's tags
from CreateBucketConfiguration, the default encryption S3 gave on the event's day, and a KMS key the embedded AWS
does not have. Regions and instances: test_replay_fidelity.py.

Each test replays an event with ``Replayer`` inside the embedded AWS and then reads the replayed member
account. Real samples from ``../shared/cloudtrail-samples`` are used where one shows the case; where none
does, the record is authored from AWS's documented shape, and the test says so.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.replayed import governing, replayed, sample

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]


# --- 1. bucket tags -----------------------------------------------------------------------------------

def tagged_bucket(tags: Any) -> dict[str, Any]:
    """Authored from the real ctwatcher__CreateBucket__1.json: no sample creates a bucket with tags, so
    ``CreateBucketConfiguration.Tags`` is added as botocore's S3 model defines it (a ``TagSet`` list of
    ``Tag`` with ``Key`` and ``Value``) rendered the way CloudTrail renders S3's XML (one ``Tag`` is an
    object, several an array)."""
    event = copy.deepcopy(sample("ctwatcher__CreateBucket__1.json"))
    event["recipientAccountId"] = "666666666666"
    event["userIdentity"]["accountId"] = "666666666666"
    event["requestParameters"]["CreateBucketConfiguration"]["Tags"] = {"Tag": tags}
    return event


def test_bucket_tags_come_from_create_bucket_configuration() -> None:
    event = tagged_bucket([{"Key": "team", "Value": "data"}, {"Key": "orgguard:exempt", "Value": "s3-encryption"}])
    with replayed(event, governing(event["awsRegion"])) as member:
        tagging = member.s3.get_bucket_tagging(Bucket="cloudtrailwatcher-000000000000")["TagSet"]
        record = member.replayed.record
    assert {t["Key"]: t["Value"] for t in tagging} == {"team": "data", "orgguard:exempt": "s3-encryption"}
    assert (record["outcome"], record["actions"]) == ("exempt", [])


def test_one_bucket_tag_is_an_object_not_a_list() -> None:
    event = tagged_bucket({"Key": "team", "Value": "data"})
    with replayed(event, governing(event["awsRegion"])) as member:
        tagging = member.s3.get_bucket_tagging(Bucket="cloudtrailwatcher-000000000000")["TagSet"]
        record = member.replayed.record
    assert tagging == [{"Key": "team", "Value": "data"}]
    assert record["outcome"] == "remediated"


# --- 2. what replay assumes: faithful, or said ----------------------------------------------------------

def test_a_bucket_gets_the_default_encryption_s3_gave_on_the_day() -> None:
    # Real: a 2024 DeleteBucketEncryption resets the bucket to SSE-S3; under an AES256 standard that does
    # not ask for the SSE-C block (the bucket predates April 2026) that is compliant. The same call replayed
    # as of 2022 leaves no configuration, which is not.
    event = sample("panther__DeleteBucketEncryption__1.json")
    aes256 = governing("us-east-1", s3_encryption={"algorithm": "AES256", "blocked_encryption_types": []})
    with replayed(event, aes256) as member:
        bucket = event["requestParameters"]["bucketName"]
        rules = member.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        after_2023 = member.replayed.record
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert after_2023["outcome"] == "compliant"
    assert "SSE-S3" in after_2023["note"] and "tags" in after_2023["note"]  # tags are not in the event
    with replayed({**event, "eventTime": "2022-06-01T00:00:00Z"}, aes256) as member:
        before_2023 = member.replayed.record
    assert before_2023["outcome"] == "remediated"
    assert "before 5 January 2023" in before_2023["note"]


SSE_S3_RULE = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}


@pytest.mark.parametrize(("day", "expected", "said"), [
    ("2022-03-12", None, "before 5 January 2023"),
    ("2024-05-01", SSE_S3_RULE, "until April 2026"),
    ("2026-05-01", {**SSE_S3_RULE, "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}, "since April 2026"),
])
def test_a_created_bucket_keeps_the_default_s3_gave_it_on_its_day(day: str, expected: Any, said: str) -> None:
    # The real ctwatcher CreateBucket (2022), exempt by tag so OrgGuard leaves the seeded bucket as it is, on
    # three days: the embedded AWS gives every new bucket today's default, replay gives it the day's.
    event = tagged_bucket({"Key": "orgguard:exempt", "Value": "s3-encryption"})
    event["eventTime"] = f"{day}T07:03:21Z"
    with replayed(event, governing(event["awsRegion"])) as member:
        try:
            rules = member.s3.get_bucket_encryption(Bucket="cloudtrailwatcher-000000000000")[
                "ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError"
            rules = [None]
        record = member.replayed.record
    assert record["outcome"] == "exempt"
    assert rules == [expected]
    assert said in record["note"]


def test_a_kms_key_the_embedded_aws_does_not_have_is_said() -> None:
    # Authored in the shape of the real panther__PutBucketEncryption__1.json, with a customer key.
    event = copy.deepcopy(sample("panther__PutBucketEncryption__1.json"))
    key = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    event["requestParameters"]["ServerSideEncryptionConfiguration"] = {
        "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
        "Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                 "BucketKeyEnabled": True}}
    with replayed(event, governing("us-east-1")) as member:
        note = member.note
    assert f"KMS key {key} is not created" in note
