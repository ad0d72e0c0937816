"""Settings of the guardrails: the S3 standard's KMS key forms and placeholders, its bad values refused with the
fix, the blocked encryption types; the EC2 admin group's ids, one VPC in one region each; and the newer integer
settings' defaults and ranges."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.settings import Settings, SettingsError, validate


def test_kms_key_forms_and_placeholders() -> None:
    for key in ("alias/org-s3", "arn:aws:kms:{region}:{account}:alias/org-s3",
                "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "1234abcd-12ab-34cd-56ef-1234567890ab"):
        settings = validate({"policies": {"s3-encryption": {"kms_key": key}}})
        assert settings.policies.s3_encryption.kms_key == key
    s3 = validate({"policies": {"s3-encryption": {"kms_key": "arn:aws:kms:{region}:{account}:alias/k"}}})
    assert s3.policies.s3_encryption.key_for("333333333333", "eu-west-1") == \
        "arn:aws:kms:eu-west-1:333333333333:alias/k"


@pytest.mark.parametrize("key", ["111111111111", "111111111111/vpc-0abc1234", "111111111111/eu-west-1",
                                 "111111111111/eu-west-1/vpc-0abc1234/extra", "eu-west-1/vpc-0abc1234"])
def test_an_admin_group_id_applies_to_one_vpc_in_one_region(key: str) -> None:
    with pytest.raises(SettingsError) as raised:
        validate({"policies": {"ec2-compliance": {"admin_security_group": {"name": "admins",
                                                                          "ids": {key: "sg-0123abcd"}}}}})
    [problem] = raised.value.problems
    assert problem.startswith(f"policies.ec2-compliance.admin_security_group.ids.{key} =")
    assert "a security group belongs to one VPC in one region" in problem
    assert "'ACCOUNT/REGION/vpc-...'" in problem and "111111111111/eu-west-1/vpc-0abc1234" in problem


def test_an_admin_group_id_is_found_only_for_its_account_region_and_vpc() -> None:
    key = "111111111111/eu-west-1/vpc-0abc1234"
    settings = validate({"policies": {"ec2-compliance": {"admin_security_group": {"ids": {key: "sg-0123abcd"}}}}})
    spec = settings.policies.ec2_compliance.admin_security_group
    assert spec.explicit("111111111111", "eu-west-1", "vpc-0abc1234") == "sg-0123abcd"
    assert spec.explicit("111111111111", "us-east-1", "vpc-0abc1234") is None
    assert spec.explicit("222222222222", "eu-west-1", "vpc-0abc1234") is None
    assert spec.explicit("111111111111", "eu-west-1", "vpc-0def5678") is None


@pytest.mark.parametrize(("section", "name", "default", "low", "high"), [
    ("hub", "reconcile_max_concurrency", 5, 2, 1000),
    ("policies.ec2-compliance", "fresh_instance_window_seconds", 300, 0, 3600),
])
def test_new_integer_settings_have_their_default_and_range(section: str, name: str, default: int, low: int,
                                                           high: int) -> None:
    def with_value(value: Any) -> dict[str, Any]:
        raw: dict[str, Any] = {name: value}
        for part in reversed(section.split(".")):
            raw = {part: raw}
        return raw

    def read(settings: Settings) -> int:
        if section == "hub":
            return int(getattr(settings.hub, name))
        return int(getattr(settings.policies.ec2_compliance, name))

    assert read(validate({})) == default
    assert read(validate(with_value(low))) == low and read(validate(with_value(high))) == high
    for bad in (low - 1, high + 1, "5"):
        with pytest.raises(SettingsError) as raised:
            validate(with_value(bad))
        [problem] = raised.value.problems
        assert problem.startswith(f"{section}.{name} =") and f"from {low} to {high}" in problem


S3_BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"kms_key": "arn:aws:kms:eu-west-1:111111111111:alias/org-s3"}, "kms_key", "'alias/org-s3'"),
    ({"kms_key": "arn:aws:kms:{region}:111111111111:alias/org-s3"}, "kms_key", "{account}"),
    ({"blocked_encryption_types": ["NONE"]}, "blocked_encryption_types", "write []"),
    ({"blocked_encryption_types": ["SSE-KMS"]}, "blocked_encryption_types[0]", "'SSE-C'"),
    ({"blocked_encryption_types": "SSE-C"}, "blocked_encryption_types", "must be a list"),
    ({"blocked_encryption_types": ["SSE-C", "SSE-C"]}, "blocked_encryption_types[1]", "twice"),
    ({"standard_tag": "bad\ttag"}, "standard_tag", "tag key"),
]


@pytest.mark.parametrize(("policy", "key", "says"), S3_BAD, ids=[f"{k}-{i}" for i, (_, k, _) in enumerate(S3_BAD)])
def test_bad_s3_standard_values_are_refused_with_the_fix(policy: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(SettingsError) as raised:
        validate({"policies": {"s3-encryption": policy}})
    [problem] = raised.value.problems
    assert problem.startswith(f"policies.s3-encryption.{key} ="), problem
    assert says in problem, problem


def test_blocked_encryption_types_default_to_sse_c_and_may_be_empty() -> None:
    assert validate({}).policies.s3_encryption.blocked_encryption_types == ("SSE-C",)
    allowing = validate({"policies": {"s3-encryption": {"blocked_encryption_types": []}}})
    assert allowing.policies.s3_encryption.blocked_encryption_types == ()
    assert validate(json.loads(allowing.to_json()), with_defaults=False) == allowing
    assert validate({"policies": {"s3-encryption": {"standard_tag": ""}}}).policies.s3_encryption.standard_tag == ""
