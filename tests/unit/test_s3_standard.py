"""The S3 encryption standard (pure): what is compliant, and what configuration brings a bucket to it."""

from __future__ import annotations

import itertools
from typing import Any

import botocore.session
import pytest

from handlers.guardrails.s3_encryption.settings import BLOCKABLE_ENCRYPTION_TYPES, S3Encryption
from handlers.guardrails.s3_encryption.standard import (
    Encryption,
    compliant,
    desired_configuration,
    parse_configuration,
    tag_standard,
)

ACCOUNT, REGION = "333333333333", "eu-west-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALIAS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/org-s3"
SSEC = ("SSE-C",)  # what every general-purpose bucket created since April 2026 blocks

NONE = Encryption()
SSE_S3 = Encryption("AES256", blocked=SSEC)
KMS_MANAGED = Encryption("aws:kms", "", True, SSEC)
KMS_MANAGED_NO_BUCKET_KEY = Encryption("aws:kms", "", False, SSEC)
KMS_ALIAS = Encryption("aws:kms", "alias/org-s3", True, SSEC)
KMS_ALIAS_ARN = Encryption("aws:kms", ALIAS_ARN, True, SSEC)
KMS_OTHER_KEY = Encryption("aws:kms", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/someone-elses", True, SSEC)
KMS_KEY_ARN = Encryption("aws:kms", KEY_ARN, True, SSEC)
DSSE = Encryption("aws:kms:dsse", "", False, SSEC)
DSSE_OWN_KEY = Encryption("aws:kms:dsse", KEY_ARN, False, SSEC)
SSE_S3_ALLOWING_SSE_C = Encryption("AES256")
OWN_KEY_NO_BUCKET_KEY = Encryption("aws:kms", KEY_ARN, False, SSEC)
OWN_KEY_ALLOWING_SSE_C = Encryption("aws:kms", KEY_ARN, True)

KMS = S3Encryption()
KMS_NO_BUCKET_KEY = S3Encryption(bucket_key=False)
KMS_WITH_ALIAS = S3Encryption(kms_key="alias/org-s3")
KMS_WITH_TEMPLATE = S3Encryption(kms_key="arn:aws:kms:{region}:{account}:alias/org-s3")
KMS_WITH_KEY_ID = S3Encryption(kms_key="1234abcd-12ab-34cd-56ef-1234567890ab")
FLOOR = S3Encryption(algorithm="AES256")
KMS_ALLOWING_SSE_C = S3Encryption(blocked_encryption_types=())
FLOOR_ALLOWING_SSE_C = S3Encryption(algorithm="AES256", blocked_encryption_types=())

CURRENTS = [NONE, SSE_S3, KMS_MANAGED, KMS_MANAGED_NO_BUCKET_KEY, KMS_ALIAS, KMS_ALIAS_ARN, KMS_OTHER_KEY,
            KMS_KEY_ARN, DSSE, DSSE_OWN_KEY, SSE_S3_ALLOWING_SSE_C, OWN_KEY_NO_BUCKET_KEY, OWN_KEY_ALLOWING_SSE_C]
STANDARDS = [KMS, KMS_NO_BUCKET_KEY, KMS_WITH_ALIAS, KMS_WITH_TEMPLATE, KMS_WITH_KEY_ID, FLOOR,
             KMS_ALLOWING_SSE_C, FLOOR_ALLOWING_SSE_C]


def rule_of(configuration: dict[str, Any]) -> dict[str, Any]:
    [rule] = configuration["Rules"]
    return dict(rule)


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
    other_account = Encryption("aws:kms", "arn:aws:kms:eu-west-1:444444444444:alias/org-s3", True, SSEC)
    assert compliant(KMS_ALIAS_ARN, KMS_WITH_TEMPLATE, ACCOUNT, REGION)
    assert not compliant(other_account, KMS_WITH_TEMPLATE, ACCOUNT, REGION)
    assert not compliant(KMS_ALIAS_ARN, KMS_WITH_TEMPLATE, ACCOUNT, "us-east-1")


BLOCK_SSE_C = {"EncryptionType": ["SSE-C"]}


@pytest.mark.parametrize(("standard", "rule"), [
    (KMS, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True,
           "BlockedEncryptionTypes": BLOCK_SSE_C}),
    (KMS_NO_BUCKET_KEY, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                         "BucketKeyEnabled": False, "BlockedEncryptionTypes": BLOCK_SSE_C}),
    (KMS_WITH_ALIAS, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                             "KMSMasterKeyID": "alias/org-s3"},
                      "BucketKeyEnabled": True, "BlockedEncryptionTypes": BLOCK_SSE_C}),
    (KMS_WITH_TEMPLATE, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                "KMSMasterKeyID": ALIAS_ARN},
                         "BucketKeyEnabled": True, "BlockedEncryptionTypes": BLOCK_SSE_C}),
    (FLOOR, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BlockedEncryptionTypes": BLOCK_SSE_C}),
    # PutBucketEncryption replaces the whole rule: "block nothing" is said, not left out.
    (FLOOR_ALLOWING_SSE_C, {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                            "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}),
])
def test_desired_configuration_for_a_bucket_without_one(standard: S3Encryption, rule: dict[str, Any]) -> None:
    configuration = desired_configuration(standard, ACCOUNT, REGION, NONE)
    assert configuration == {"Rules": [rule]}
    assert desired_configuration(standard, ACCOUNT, REGION) == configuration


@pytest.mark.parametrize(("current", "standard"), list(itertools.product(CURRENTS, STANDARDS)))
def test_what_orgguard_puts_meets_the_standard_and_keeps_the_owners_choices(current: Encryption,
                                                                             standard: S3Encryption) -> None:
    configuration = desired_configuration(standard, ACCOUNT, REGION, current)
    rule = rule_of(configuration)
    target = parse_configuration({"ServerSideEncryptionConfiguration": configuration})
    assert compliant(target, standard, ACCOUNT, REGION)
    assert "BlockedEncryptionTypes" in rule  # always sent back: the rule is replaced whole
    assert set(current.blocked) <= set(target.blocked)  # blocked types are only ever added
    if current.algorithm in ("aws:kms", "aws:kms:dsse") and not standard.kms_key:
        assert target.kms_key == current.kms_key  # the owner's key (or aws/s3) stays
    if current.algorithm == "aws:kms:dsse" and standard.algorithm == "aws:kms":
        assert target.algorithm == "aws:kms:dsse"
    if current.algorithm == "aws:kms" and current.bucket_key:
        assert target.bucket_key
    if compliant(current, standard, ACCOUNT, REGION):
        assert (target.algorithm, target.kms_key, target.bucket_key) == \
            (current.algorithm, current.kms_key, current.bucket_key)


def test_own_customer_key_is_kept_and_only_the_bucket_key_turned_on() -> None:
    """Switching to aws/s3 would break cross-account readers and replication: its policy cannot be shared."""
    assert not compliant(OWN_KEY_NO_BUCKET_KEY, KMS, ACCOUNT, REGION)
    assert rule_of(desired_configuration(KMS, ACCOUNT, REGION, OWN_KEY_NO_BUCKET_KEY)) == {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN},
        "BucketKeyEnabled": True, "BlockedEncryptionTypes": BLOCK_SSE_C}


def test_a_key_the_standard_names_replaces_the_owners_and_dsse_stays_dual_layer() -> None:
    other = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/99999999-12ab-34cd-56ef-1234567890ab"
    own_key = Encryption("aws:kms", other, False, SSEC)
    dsse_other = Encryption("aws:kms:dsse", other, False, SSEC)
    assert rule_of(desired_configuration(KMS_WITH_KEY_ID, ACCOUNT, REGION, own_key))[
        "ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_WITH_KEY_ID.kms_key}
    assert rule_of(desired_configuration(KMS_WITH_KEY_ID, ACCOUNT, REGION, dsse_other)) == {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse",
                                               "KMSMasterKeyID": KMS_WITH_KEY_ID.kms_key},
        "BlockedEncryptionTypes": BLOCK_SSE_C}


def test_only_the_blocked_types_change_when_only_they_are_missing() -> None:
    assert rule_of(desired_configuration(KMS, ACCOUNT, REGION, OWN_KEY_ALLOWING_SSE_C)) == {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN},
        "BucketKeyEnabled": True, "BlockedEncryptionTypes": BLOCK_SSE_C}
    # A KMS bucket meets the AES256 floor: it keeps its whole default.
    assert rule_of(desired_configuration(FLOOR, ACCOUNT, REGION, OWN_KEY_ALLOWING_SSE_C)) == {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN},
        "BucketKeyEnabled": True, "BlockedEncryptionTypes": BLOCK_SSE_C}


def test_blockable_types_are_the_s3_models_enum_without_none() -> None:
    model = botocore.session.get_session().get_service_model("s3")
    blocked = model.shape_for("ServerSideEncryptionRule").members["BlockedEncryptionTypes"]
    enum = blocked.members["EncryptionType"].member.enum
    assert set(BLOCKABLE_ENCRYPTION_TYPES) == set(enum) - {"NONE"}


def test_the_standard_tag_may_lower_the_standard_to_aes256_only() -> None:
    standard, note = tag_standard({"orgguard:s3-encryption": "AES256"}, KMS_WITH_TEMPLATE)
    assert (standard.algorithm, standard.kms_key, standard.blocked_encryption_types) == ("AES256", "", SSEC)
    assert "orgguard:s3-encryption=AES256" in note
    assert compliant(SSE_S3, standard, ACCOUNT, REGION)
    assert not compliant(SSE_S3_ALLOWING_SSE_C, standard, ACCOUNT, REGION)  # blocked types still apply
    for value in ("aes256", "aws:kms", "none", ""):
        kept, note = tag_standard({"orgguard:s3-encryption": value}, KMS)
        assert kept == KMS and "ignored" in note, value
    assert tag_standard({"Team": "data"}, KMS) == (KMS, "")
    off = S3Encryption(standard_tag="")
    assert tag_standard({"orgguard:s3-encryption": "AES256"}, off) == (off, "")


def test_parse_configuration_shapes() -> None:
    assert parse_configuration(None) == NONE
    assert parse_configuration({}) == NONE
    assert parse_configuration({"ServerSideEncryptionConfiguration": {"Rules": []}}) == NONE
    assert parse_configuration({"ServerSideEncryptionConfiguration": {"Rules": [
        {"BucketKeyEnabled": True},
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN},
         "BucketKeyEnabled": True, "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]}}) == KMS_KEY_ARN
    assert parse_configuration({"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
         "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]}}) == SSE_S3
    for blocked in ({"EncryptionType": ["NONE"]}, {}, None):
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BlockedEncryptionTypes": blocked}
        assert parse_configuration({"ServerSideEncryptionConfiguration": {"Rules": [rule]}}) == \
            SSE_S3_ALLOWING_SSE_C


def test_descriptions_read_well() -> None:
    assert NONE.describe() == "no default encryption configuration"
    assert SSE_S3.describe() == "SSE-S3 (AES256), SSE-C uploads blocked"
    assert SSE_S3_ALLOWING_SSE_C.describe() == "SSE-S3 (AES256), SSE-C uploads allowed"
    assert KMS_MANAGED.describe() == "SSE-KMS with the AWS managed key aws/s3, bucket key on, SSE-C uploads blocked"
    assert KMS_ALIAS.describe() == "SSE-KMS with key alias/org-s3, bucket key on, SSE-C uploads blocked"
    assert KMS_MANAGED_NO_BUCKET_KEY.describe() == \
        "SSE-KMS with the AWS managed key aws/s3, bucket key off, SSE-C uploads blocked"
    assert DSSE_OWN_KEY.describe() == f"DSSE-KMS with key {KEY_ARN}, SSE-C uploads blocked"
    assert KMS_KEY_ARN.to_dict() == {"algorithm": "aws:kms", "kms_key": KEY_ARN, "bucket_key": True,
                                     "blocked_encryption_types": ["SSE-C"]}


@pytest.mark.parametrize("standard", [KMS_WITH_ALIAS, KMS_WITH_KEY_ID], ids=["alias", "key-id"])
def test_a_key_of_another_account_never_matches_an_alias_or_id(standard: S3Encryption) -> None:
    wanted = standard.kms_key
    foreign = f"arn:aws:kms:{REGION}:444444444444:{wanted if wanted.startswith('alias/') else 'key/' + wanted}"
    own = foreign.replace("444444444444", ACCOUNT)
    assert compliant(Encryption("aws:kms", own, True, SSEC), standard, ACCOUNT, REGION)
    assert not compliant(Encryption("aws:kms", foreign, True, SSEC), standard, ACCOUNT, REGION)
