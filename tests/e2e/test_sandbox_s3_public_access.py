"""The embedded AWS's S3 Block Public Access part (``sandbox/aws/s3_public_access.py``), on its own.

S3 turns on all four flags of every new bucket (since April 2023) and refuses a public bucket policy while
BlockPublicPolicy is on; moto does neither. With the switch off the embedded AWS is moto as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from botocore.exceptions import ClientError

from handlers.guardrails.s3_public_access.access_block import FLAGS
from sandbox.aws.s3_public_access import set_default_public_access
from sandbox.aws.server import EmbeddedAws, embedded_aws
from sandbox.aws.strictness import Strictness
from tests.support.members import public_access_flags

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

ALL_ON = dict.fromkeys(FLAGS, True)


@pytest.fixture
def aws() -> Iterator[EmbeddedAws]:
    with embedded_aws() as running:
        yield running


def public(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_a_new_bucket_blocks_public_access_and_refuses_a_public_policy(aws: EmbeddedAws, region: str) -> None:
    s3 = aws.session(region).client("s3")
    bucket = f"bpa-{region}"
    s3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else
                                       {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    assert public_access_flags(s3, bucket) == ALL_ON
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_policy(Bucket=bucket, Policy=public(bucket))
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)  # nothing was stored
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=public(bucket))  # no block: S3 takes it
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={**ALL_ON, "BlockPublicPolicy": False})
    assert public_access_flags(s3, bucket) == {**ALL_ON, "BlockPublicPolicy": False}


def test_replay_gives_a_bucket_the_flags_of_its_day(aws: EmbeddedAws) -> None:
    s3 = aws.session().client("s3")
    s3.create_bucket(Bucket="old-bucket")
    assert set_default_public_access("old-bucket", date(2022, 6, 1)) is False
    assert public_access_flags(s3, "old-bucket") is None
    assert set_default_public_access("old-bucket", date(2024, 6, 1)) is True
    assert public_access_flags(s3, "old-bucket") == ALL_ON


@pytest.mark.parametrize("strictness", [Strictness(s3_default_public_access=False), Strictness.lenient()],
                         ids=["switch-off", "lenient"])
def test_with_the_switch_off_buckets_have_no_configuration(strictness: Strictness) -> None:
    with embedded_aws(strictness=strictness) as aws:
        assert aws.parts.s3_public_access is None
        s3 = aws.session().client("s3")
        s3.create_bucket(Bucket="moto-as-is")
        assert public_access_flags(s3, "moto-as-is") is None
