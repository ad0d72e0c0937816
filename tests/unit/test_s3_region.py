"""The bucket's region from HeadBucket: the header on a 200, on a 403 (S3 sends it whether or not the caller
may read the bucket), gone on a 404, and an error naming the problem otherwise."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from handlers.guardrails.s3_encryption.reads import read_region

BUCKET = "team-data"


def stubbed() -> tuple[object, Stubber]:
    s3 = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x").client("s3", region_name="us-east-1")
    return s3, Stubber(s3)


def test_region_from_a_successful_head_bucket() -> None:
    s3, stub = stubbed()
    stub.add_response("head_bucket", {"BucketRegion": "eu-west-1"}, {"Bucket": BUCKET})
    with stub:
        assert read_region(s3, BUCKET) == "eu-west-1"


def test_region_from_the_header_of_a_refused_head_bucket() -> None:
    s3, stub = stubbed()
    stub.add_client_error("head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": BUCKET},
                          response_meta={"HTTPHeaders": {"x-amz-bucket-region": "ap-southeast-2"}})
    with stub:
        assert read_region(s3, BUCKET) == "ap-southeast-2"


def test_a_missing_bucket_has_no_region() -> None:
    s3, stub = stubbed()
    stub.add_client_error("head_bucket", "404", "Not Found", 404, expected_params={"Bucket": BUCKET})
    with stub:
        assert read_region(s3, BUCKET) is None


def test_a_refusal_without_the_header_is_raised() -> None:
    s3, stub = stubbed()
    stub.add_client_error("head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": BUCKET})
    with stub, pytest.raises(ClientError, match="403"):
        read_region(s3, BUCKET)


def test_a_success_without_a_region_is_an_error_naming_the_bucket() -> None:
    s3, stub = stubbed()
    stub.add_response("head_bucket", {}, {"Bucket": BUCKET})
    with stub, pytest.raises(RuntimeError, match=f"HeadBucket on {BUCKET} returned no x-amz-bucket-region"):
        read_region(s3, BUCKET)
