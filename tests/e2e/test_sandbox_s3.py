"""The embedded AWS's S3 default encryption part (``sandbox/aws/s3_defaults.py``), on its own.

S3 gives every new general purpose bucket SSE-S3 and, since April 2026, blocks SSE-C on it; DeleteBucketEncryption
resets the rule; GetBucketEncryption never answers ServerSideEncryptionConfigurationNotFoundError. With the switch
off the embedded AWS is moto as it was: buckets without any configuration. Every check reads the bucket back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.aws.s3_defaults import default_rule, set_default_encryption
from sandbox.aws.server import EmbeddedAws, embedded_aws
from sandbox.aws.strictness import Strictness

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

NOT_FOUND = "ServerSideEncryptionConfigurationNotFoundError"
TODAY = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False,
         "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}
KMS = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
OTHER_ACCOUNT = "210987654321"


@pytest.fixture
def aws() -> Iterator[EmbeddedAws]:
    with embedded_aws() as running:
        yield running


def create(session: boto3.Session, bucket: str) -> Any:
    s3 = session.client("s3")
    region = s3.meta.region_name
    s3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else
                                        {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    return s3


def rule(s3: Any, bucket: str) -> dict[str, Any] | None:
    """The bucket's one rule, or None when S3 says it has no configuration."""
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as error:
        if error.response["Error"]["Code"] == NOT_FOUND:
            return None
        raise
    (only,) = rules
    return dict(only)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_a_new_bucket_has_sse_s3_and_blocks_sse_c(aws: EmbeddedAws, region: str) -> None:
    s3 = create(aws.session(region), f"new-{region}")
    assert rule(s3, f"new-{region}") == TODAY


def test_a_bucket_of_another_account_gets_it_too(aws: EmbeddedAws) -> None:
    s3 = create(aws.root_session(OTHER_ACCOUNT, "eu-west-1"), "theirs-west")
    assert rule(s3, "theirs-west") == TODAY


def test_new_buckets_in_bahrain_and_the_uae_still_allow_sse_c(aws: EmbeddedAws) -> None:
    for region in ("me-south-1", "me-central-1"):
        s3 = create(aws.session(region), f"new-{region}")
        assert rule(s3, f"new-{region}") == {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                              "BucketKeyEnabled": False}


def test_delete_bucket_encryption_resets_to_s3s_default_and_never_leaves_none(aws: EmbeddedAws) -> None:
    s3 = create(aws.session(), "reset-me")
    s3.put_bucket_encryption(Bucket="reset-me", ServerSideEncryptionConfiguration={"Rules": [KMS]})
    assert rule(s3, "reset-me") == KMS
    s3.delete_bucket_encryption(Bucket="reset-me")
    assert rule(s3, "reset-me") == TODAY
    s3.delete_bucket_encryption(Bucket="reset-me")
    assert rule(s3, "reset-me") == TODAY


def test_a_repeated_create_bucket_in_us_east_1_changes_nothing(aws: EmbeddedAws) -> None:
    s3 = create(aws.session(), "created-twice")
    s3.put_bucket_encryption(Bucket="created-twice", ServerSideEncryptionConfiguration={"Rules": [KMS]})
    s3.create_bucket(Bucket="created-twice")  # us-east-1 answers 200 to the owner and keeps the bucket as it is
    assert rule(s3, "created-twice") == KMS


def test_a_refused_create_bucket_leaves_the_owners_bucket_alone(aws: EmbeddedAws) -> None:
    owner = create(aws.session("eu-west-1"), "taken-name")
    owner.put_bucket_encryption(Bucket="taken-name", ServerSideEncryptionConfiguration={"Rules": [KMS]})
    with pytest.raises(ClientError):
        create(aws.root_session(OTHER_ACCOUNT, "eu-west-1"), "taken-name")
    assert rule(owner, "taken-name") == KMS


@pytest.mark.parametrize("strictness", [Strictness(s3_default_encryption=False), Strictness.lenient()],
                         ids=["switch-off", "lenient"])
def test_with_the_switch_off_buckets_have_no_configuration_as_before_2023(strictness: Strictness) -> None:
    with embedded_aws(strictness=strictness) as aws:
        assert aws.parts.s3_defaults is None
        s3 = create(aws.session(), "old-account")
        assert rule(s3, "old-account") is None
        s3.put_bucket_encryption(Bucket="old-account", ServerSideEncryptionConfiguration={"Rules": [KMS]})
        s3.delete_bucket_encryption(Bucket="old-account")
        assert rule(s3, "old-account") is None


def test_a_bucket_can_be_given_the_default_of_another_day(aws: EmbeddedAws) -> None:
    s3 = create(aws.session("eu-west-1"), "dated")
    set_default_encryption("dated", date(2022, 12, 31))
    assert rule(s3, "dated") is None
    set_default_encryption("dated", date(2024, 5, 1))
    assert rule(s3, "dated") == {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                 "BucketKeyEnabled": False}
    set_default_encryption("dated", date(2026, 5, 1))
    assert rule(s3, "dated") == TODAY
    with pytest.raises(LookupError):
        set_default_encryption("no-such-bucket")


def test_the_default_by_day_and_region() -> None:
    assert default_rule("us-east-1", date(2023, 1, 4)) is None
    assert "BlockedEncryptionTypes" not in (default_rule("us-east-1", date(2023, 1, 5)) or {})
    assert "BlockedEncryptionTypes" not in (default_rule("us-east-1", date(2026, 4, 5)) or {})
    assert default_rule("us-east-1", date(2026, 4, 6)) == TODAY == default_rule("eu-west-1")
    assert "BlockedEncryptionTypes" not in (default_rule("me-central-1") or {})
