"""The S3 encryption standard (pure): what is compliant, and what configuration brings a bucket to it."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.policies.s3_encryption import (
    Encryption,
    compliant,
    desired_configuration,
    parse_configuration,
)
from handlers.settings import S3Encryption

ACCOUNT, REGION = "333333333333", "eu-west-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALIAS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/org-s3"

NONE = Encryption()
SSE_S3 = Encryption("AES256")
KMS_MANAGED = Encryption("aws:kms", "", True)
KMS_MANAGED_NO_BUCKET_KEY = Encryption("aws:kms", "", False)
KMS_ALIAS = Encryption("aws:kms", "alias/org-s3", True)
KMS_ALIAS_ARN = Encryption("aws:kms", ALIAS_ARN, True)
KMS_OTHER_KEY = Encryption("aws:kms", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/someone-elses", True)
KMS_KEY_ARN = Encryption("aws:kms", KEY_ARN, True)
DSSE = Encryption("aws:kms:dsse", "", False)

KMS = S3Encryption()
KMS_NO_BUCKET_KEY = S3Encryption(bucket_key=False)
KMS_WITH_ALIAS = S3Encryption(kms_key="alias/org-s3")
KMS_WITH_TEMPLATE = S3Encryption(kms_key="arn:aws:kms:{region}:{account}:alias/org-s3")
KMS_WITH_KEY_ID = S3Encryption(kms_key="1234abcd-12ab-34cd-56ef-1234567890ab")
FLOOR = S3Encryption(algorithm="AES256")


@pytest.mark.parametrize(("current", "standard", "expected"), [
    (NONE, KMS, False), (NONE, FLOOR, False),
    (SSE_S3, KMS, False), (SSE_S3, FLOOR, True),
    (KMS_MANAGED, KMS, True), (KMS_MANAGED, FLOOR, True),
    (KMS_MANAGED_NO_BUCKET_KEY, KMS, False), (KMS_MANAGED_NO_BUCKET_KEY, KMS_NO_BUCKET_KEY, True),
    (KMS_MANAGED_NO_BUCKET_KEY, FLOOR, True),
    (KMS_MANAGED, KMS_WITH_ALIAS, False),  # the standard names a key; the AWS managed one is not it
    (KMS_ALIAS, KMS_WITH_ALIAS, True), (KMS_ALIAS_ARN, KMS_WITH_ALIAS, True),
    (KMS_ALIAS, KMS_WITH_TEMPLATE, True), (KMS_ALIAS_ARN, KMS_WITH_TEMPLATE, True),
    (KMS_OTHER_KEY, KMS_WITH_ALIAS, False), (KMS_OTHER_KEY, KMS_WITH_TEMPLATE, False),
    (KMS_KEY_ARN, KMS_WITH_KEY_ID, True), (KMS_ALIAS, KMS_WITH_KEY_ID, False),
    (KMS_OTHER_KEY, KMS, True),  # no key in the standard: any KMS key with a bucket key meets it
    (DSSE, KMS, True), (DSSE, FLOOR, True),  # dual-layer is stronger; bucket keys do not apply to it
])
def test_compliance_matrix(current: Encryption, standard: S3Encryption, expected: bool) -> None:
    assert compliant(current, standard, ACCOUNT, REGION) is expected


def test_template_is_filled_with_the_bucket_account_and_region() -> None:
    other_account = Encryption("aws:kms", "arn:aws:kms:eu-west-1:444444444444:alias/org-s3", True)
    assert compliant(KMS_ALIAS_ARN, KMS_WITH_TEMPLATE, ACCOUNT, REGION)
    assert not compliant(other_account, KMS_WITH_TEMPLATE, ACCOUNT, REGION)
    assert not compliant(KMS_ALIAS_ARN, KMS_WITH_TEMPLATE, ACCOUNT, "us-east-1")


@pytest.mark.parametrize(("standard", "rule"), [
    (KMS, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}),
    (KMS_NO_BUCKET_KEY, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                         "BucketKeyEnabled": False}),
    (KMS_WITH_ALIAS, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                             "KMSMasterKeyID": "alias/org-s3"},
                      "BucketKeyEnabled": True}),
    (KMS_WITH_TEMPLATE, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                "KMSMasterKeyID": ALIAS_ARN},
                         "BucketKeyEnabled": True}),
    (FLOOR, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}),
])
def test_desired_configuration(standard: S3Encryption, rule: dict[str, Any]) -> None:
    configuration = desired_configuration(standard, ACCOUNT, REGION)
    assert configuration == {"Rules": [rule]}
    # What OrgGuard puts always meets the standard it was derived from.
    target = parse_configuration({"ServerSideEncryptionConfiguration": configuration})
    assert compliant(target, standard, ACCOUNT, REGION)


def test_parse_configuration_shapes() -> None:
    assert parse_configuration(None) == NONE
    assert parse_configuration({}) == NONE
    assert parse_configuration({"ServerSideEncryptionConfiguration": {"Rules": []}}) == NONE
    assert parse_configuration({"ServerSideEncryptionConfiguration": {"Rules": [
        {"BucketKeyEnabled": True},
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN},
         "BucketKeyEnabled": True}]}}) == KMS_KEY_ARN
    assert parse_configuration({"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}) == SSE_S3


def test_descriptions_read_well() -> None:
    assert NONE.describe() == "no default encryption configuration"
    assert SSE_S3.describe() == "SSE-S3 (AES256)"
    assert KMS_MANAGED.describe() == "SSE-KMS with the AWS managed key aws/s3, bucket key on"
    assert KMS_ALIAS.describe() == "SSE-KMS with key alias/org-s3, bucket key on"
    assert KMS_MANAGED_NO_BUCKET_KEY.describe().endswith("bucket key off")


@pytest.mark.parametrize("standard", [KMS_WITH_ALIAS, KMS_WITH_KEY_ID], ids=["alias", "key-id"])
def test_a_key_of_another_account_never_matches_an_alias_or_id(standard: S3Encryption) -> None:
    wanted = standard.kms_key
    foreign = f"arn:aws:kms:{REGION}:444444444444:{wanted if wanted.startswith('alias/') else 'key/' + wanted}"
    own = foreign.replace("444444444444", ACCOUNT)
    assert compliant(Encryption("aws:kms", own, True), standard, ACCOUNT, REGION)
    assert not compliant(Encryption("aws:kms", foreign, True), standard, ACCOUNT, REGION)
