"""Settings: the sample file and the defaults validate, every bad key gets one message naming it, and the
JSON the hub hands to the Lambdas validates back to the same settings."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import tomllib
import typing
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest

from handlers.registry import guardrails
from handlers.settings import (
    REQUIRED,
    Policies,
    Settings,
    SettingsError,
    from_environment,
    known_regions,
    load,
    settings_warnings,
    validate,
)
from tests.support.settings_files import write_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "orgguard.example.toml"


def dataclass_keys(cls: Any, prefix: str = "") -> set[str]:
    """Every settings key, dotted, as the TOML file spells it (policy sections by policy id)."""
    keys = set()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if hints[f.name] is Policies:  # one section per guardrail, named by its id
            for entry in guardrails():
                keys |= dataclass_keys(entry.settings_type, f"{prefix}{f.name}.{entry.id}.")
        elif dataclasses.is_dataclass(hints[f.name]):
            keys |= dataclass_keys(hints[f.name], f"{prefix}{f.name}.")
        else:
            keys.add(f"{prefix}{f.name}")
    return keys


def toml_keys(raw: dict[str, Any], prefix: str = "", leaf_tables: tuple[str, ...] = ()) -> set[str]:
    keys = set()
    for name, value in raw.items():
        full = f"{prefix}{name}"
        if isinstance(value, dict) and full not in leaf_tables:
            keys |= toml_keys(value, f"{full}.", leaf_tables)
        else:
            keys.add(full)
    return keys


MAP_KEYS = ("organization.account_names", "policies.ec2-compliance.required_tags",
            "policies.ec2-compliance.admin_security_group.tag", "policies.ec2-compliance.admin_security_group.ids")


def test_example_file_validates_and_holds_every_key() -> None:
    settings = load(str(EXAMPLE))
    raw = tomllib.loads(EXAMPLE.read_text())
    assert validate(raw, "example", with_defaults=False) == settings  # complete without the built-in defaults
    assert toml_keys(raw, leaf_tables=MAP_KEYS) == dataclass_keys(Settings)


def test_example_file_has_the_issue_values() -> None:
    settings = load(str(EXAMPLE))
    org = settings.organization
    assert (org.management_account, org.hub_account, org.hub_region) == ("111111111111", "222222222222", "us-east-1")
    assert org.regions == ("us-east-1", "eu-west-1") and org.target_ous == ("ou-abcd-11111111",)
    assert org.include_management_account is True
    assert settings.notifications.emails == ("cloud-admins@example.com",)
    s3 = settings.policies.s3_encryption
    assert (s3.mode, s3.algorithm, s3.kms_key, s3.bucket_key) == ("enforce", "aws:kms", "", True)
    ec2 = settings.policies.ec2_compliance
    assert ec2.required_tags == {"Owner": "unassigned", "CostCenter": "unknown"}
    assert ec2.admin_security_group.name == "administrators"
    assert (settings.exemptions.accounts, settings.exemptions.tag) == ((), "orgguard:exempt")


def test_every_key_of_the_example_is_commented() -> None:
    lines = EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[A-Za-z_][\w-]*\s*=", line) and "#" not in line:
            above = lines[number - 1].strip() if number else ""
            assert above.startswith("#"), f"line {number + 1} ({line.split('=')[0].strip()}) has no comment"


def test_defaults_validate_and_suit_the_embedded_aws() -> None:
    settings = load(None)
    assert settings.organization.management_account == "123456789012"  # moto's default account
    assert settings.organization.regions
    assert all(settings.policies.mode(p) == "enforce" for p in ("vpc-created", "s3-encryption", "ec2-compliance"))


@pytest.mark.parametrize("source", ["defaults", "example"])
def test_json_round_trip_is_identical(source: str) -> None:
    settings = load(None) if source == "defaults" else load(str(EXAMPLE))
    again = validate(json.loads(settings.to_json()), "json", with_defaults=False)
    assert again == settings
    assert again.to_json() == settings.to_json()


def test_lambda_reads_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(str(EXAMPLE))
    monkeypatch.setenv("ORGGUARD_SETTINGS", settings.to_json())
    assert from_environment() == settings
    monkeypatch.setenv("ORGGUARD_SETTINGS", settings.to_json()[:40])
    with pytest.raises(SettingsError, match="ORGGUARD_SETTINGS is not valid JSON"):
        from_environment()
    monkeypatch.setenv("ORGGUARD_SETTINGS", json.dumps({"organization": {"hub_region": "us-east-1"}}))
    with pytest.raises(SettingsError) as raised:
        from_environment()  # no defaults are filled in for the Lambda: the hub sends the whole thing
    assert any(p.startswith("organization.management_account") for p in raised.value.problems)


# (section override, the key the one message must name)
BAD: list[tuple[dict[str, Any], str]] = [
    ({"organization": {"management_account": 111111111111}}, "organization.management_account"),
    ({"organization": {"management_account": "11111111111"}}, "organization.management_account"),
    ({"organization": {"hub_account": "abcdefabcdef"}}, "organization.hub_account"),
    ({"organization": {"hub_region": "mars-north-1"}}, "organization.hub_region"),
    ({"organization": {"hub_region": ["us-east-1"]}}, "organization.hub_region"),
    ({"organization": {"regions": "us-east-1"}}, "organization.regions"),
    ({"organization": {"regions": []}}, "organization.regions"),
    ({"organization": {"regions": ["us-east-1", "nowhere"]}}, "organization.regions[1]"),
    ({"organization": {"regions": ["us-east-1", "us-east-1"]}}, "organization.regions[1]"),
    ({"organization": {"target_ous": ["ou-bad"]}}, "organization.target_ous[0]"),
    ({"organization": {"include_management_account": "yes"}}, "organization.include_management_account"),
    ({"organization": {"organization_id": "o-x"}}, "organization.organization_id"),
    ({"organization": {"home_region": "ap-south-1"}}, "organization.home_region"),
    ({"organization": {"operator_roles": ["arn:aws:iam::1:role/x"]}}, "organization.operator_roles[0]"),
    ({"organization": {"account_names": {"prod": "x"}}}, "organization.account_names.prod"),
    ({"organization": {"account_names": {"111111111111": 5}}}, "organization.account_names.111111111111"),
    ({"organization": {"hub_acount": "222222222222"}}, "organization.hub_acount"),
    ({"rollout": {"stackset_name": "bad name!"}}, "rollout.stackset_name"),
    ({"rollout": {"global_stackset_name": "orgguard-spoke"}}, "rollout.global_stackset_name"),
    ({"rollout": {"management_global_stack_name": "orgguard-spoke"}}, "rollout.management_global_stack_name"),
    ({"rollout": {"call_as": "ME"}}, "rollout.call_as"),
    ({"rollout": {"region_concurrency": "parallel"}}, "rollout.region_concurrency"),
    ({"rollout": {"max_concurrent_percentage": 0}}, "rollout.max_concurrent_percentage"),
    ({"rollout": {"max_concurrent_percentage": "50"}}, "rollout.max_concurrent_percentage"),
    ({"rollout": {"failure_tolerance_percentage": 101}}, "rollout.failure_tolerance_percentage"),
    ({"rollout": {"member_access_role": ""}}, "rollout.member_access_role"),
    ({"rollout": {"canary_timeout_seconds": True}}, "rollout.canary_timeout_seconds"),
    ({"rollout": {"retries": 3}}, "rollout.retries"),
    ({"hub": {"stack_name": "1-hub"}}, "hub.stack_name"),
    ({"hub": {"bus_name": ""}}, "hub.bus_name"),
    ({"hub": {"topic_name": "a/b"}}, "hub.topic_name"),
    ({"hub": {"audit_retention_days": 0}}, "hub.audit_retention_days"),
    ({"hub": {"log_retention_days": 1.5}}, "hub.log_retention_days"),
    ({"hub": {"reconcile_schedule": "daily"}}, "hub.reconcile_schedule"),
    ({"hub": {"lambda_memory_mb": 64}}, "hub.lambda_memory_mb"),
    ({"hub": {"lambda_timeout_seconds": 901}}, "hub.lambda_timeout_seconds"),
    ({"hub": {"region": "us-east-1"}}, "hub.region"),
    ({"notifications": {"emails": "admins@example.com"}}, "notifications.emails"),
    ({"notifications": {"emails": ["admins at example.com"]}}, "notifications.emails[0]"),
    ({"notifications": {"subject_prefix": "x" * 31}}, "notifications.subject_prefix"),
    ({"notifications": {"subject_prefix": "[Orgs\u00e9]"}}, "notifications.subject_prefix"),
    ({"notifications": {"notify_compliant": "no"}}, "notifications.notify_compliant"),
    ({"notifications": {"email": ["a@example.com"]}}, "notifications.email"),
    ({"notifications": {"storm_limit": 0}}, "notifications.storm_limit"),
    ({"notifications": {"storm_limit": "10"}}, "notifications.storm_limit"),
    ({"notifications": {"storm_window_minutes": 0}}, "notifications.storm_window_minutes"),
    ({"notifications": {"storm_window_minutes": 1441}}, "notifications.storm_window_minutes"),
    ({"policies": {"vpc-created": {"mode": "enforcing"}}}, "policies.vpc-created.mode"),
    ({"policies": {"vpc-created": {"notify": True}}}, "policies.vpc-created.notify"),
    ({"policies": {"s3-encryption": {"mode": "Report"}}}, "policies.s3-encryption.mode"),
    ({"policies": {"s3-encryption": {"algorithm": "DES"}}}, "policies.s3-encryption.algorithm"),
    ({"policies": {"s3-encryption": {"kms_key": "my key"}}}, "policies.s3-encryption.kms_key"),
    ({"policies": {"s3-encryption": {"algorithm": "AES256", "kms_key": "alias/x"}}},
     "policies.s3-encryption.kms_key"),
    ({"policies": {"s3-encryption": {"bucket_key": "true"}}}, "policies.s3-encryption.bucket_key"),
    ({"policies": {"s3-encryption": {"key": "alias/x"}}}, "policies.s3-encryption.key"),
    ({"policies": {"ec2-compliance": {"mode": 1}}}, "policies.ec2-compliance.mode"),
    ({"policies": {"ec2-compliance": {"required_tags": ["Owner"]}}}, "policies.ec2-compliance.required_tags"),
    ({"policies": {"ec2-compliance": {"required_tags": {"Owner": 5}}}},
     "policies.ec2-compliance.required_tags.Owner"),
    ({"policies": {"ec2-compliance": {"required_tags": {"aws:owner": "x"}}}},
     "policies.ec2-compliance.required_tags.aws:owner"),
    ({"policies": {"ec2-compliance": {"required_tags": {"Owner": "x" * 257}}}},
     "policies.ec2-compliance.required_tags.Owner"),
    ({"policies": {"ec2-compliance": {"admin_security_group": {}}}},
     "policies.ec2-compliance.admin_security_group"),
    ({"policies": {"ec2-compliance": {"admin_security_group": {"name": "admins", "id": "sg-1"}}}},
     "policies.ec2-compliance.admin_security_group.id"),
    ({"policies": {"ec2-compliance": {"admin_security_group": {"name": "a", "ids": {"prod": "sg-0123abcd"}}}}},
     "policies.ec2-compliance.admin_security_group.ids.prod"),
    ({"policies": {"ec2-compliance": {"admin_security_group": {"name": "a", "ids": {"111111111111": "sg-x"}}}}},
     "policies.ec2-compliance.admin_security_group.ids.111111111111"),
    ({"policies": {"ec2-compliance": {"max_groups_per_interface": 0}}},
     "policies.ec2-compliance.max_groups_per_interface"),
    ({"policies": {"ec2-compliance": {"tags": {}}}}, "policies.ec2-compliance.tags"),
    ({"policies": {"s3-encryptoin": {"mode": "off"}}}, "policies.s3-encryptoin"),
    ({"exemptions": {"accounts": ["1234"]}}, "exemptions.accounts[0]"),
    ({"exemptions": {"accounts": "111111111111"}}, "exemptions.accounts"),
    ({"exemptions": {"tag": 5}}, "exemptions.tag"),
    ({"exemptions": {"until_tag": "bad\ttag"}}, "exemptions.until_tag"),
    ({"exemptions": {"tag": ""}}, "exemptions.tag"),
    ({"exemptions": {"until_tag": ""}}, "exemptions.until_tag"),
    ({"sandbox": "yes"}, "sandbox"),
    ({"organization": {"hub_region": "eu-westt-1"}}, "organization.hub_region"),
    ({"exemptions": {"resources": []}}, "exemptions.resources"),
    ({"policy": {}}, "(top level).policy"),
]


@pytest.mark.parametrize(("override", "key"), BAD, ids=[f"{k}-{i}" for i, (_, k) in enumerate(BAD)])
def test_each_bad_value_gets_one_message_naming_its_key(override: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError) as raised:
        validate(override, "orgguard.toml")
    [problem] = raised.value.problems
    assert problem.startswith((f"{key} =", f"{key}:")), problem
    assert len(problem) > len(key) + 10, "the message says what is allowed"
    assert "orgguard.toml" in str(raised.value) and problem in str(raised.value)


@pytest.mark.parametrize("section", ["organization", "rollout", "hub", "notifications", "policies", "exemptions"])
def test_a_section_that_is_not_a_table_is_named(section: str) -> None:
    with pytest.raises(SettingsError) as raised:
        validate({section: ["not", "a", "table"]})
    assert any(p.startswith(f"{section} = ") and "must be a table" in p for p in raised.value.problems)


def test_several_problems_are_reported_at_once() -> None:
    chosen = [BAD[0], BAD[18], BAD[29], BAD[36], BAD[44], BAD[53], BAD[62]]
    merged: dict[str, Any] = {}
    for override, _ in chosen:
        merged = _deep_merge(merged, override)

    with pytest.raises(SettingsError) as raised:
        validate(merged)

    problems = raised.value.problems
    assert len(problems) == len(chosen)
    for _, key in chosen:
        assert sum(p.startswith((f"{key} =", f"{key}:")) for p in problems) == 1, key
    assert f"{len(chosen)} problem(s)" in str(raised.value)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        merged[k] = _deep_merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def test_without_defaults_each_missing_required_key_gets_one_message_saying_what_to_put() -> None:
    with pytest.raises(SettingsError) as raised:
        validate({}, "orgguard.toml", with_defaults=False)
    assert raised.value.problems == [f"{key}: missing; set {what}" for key, what in REQUIRED.items()]
    assert set(REQUIRED) == {"organization.management_account", "organization.hub_account",
                             "organization.hub_region", "organization.regions", "organization.target_ous",
                             "notifications.emails"}


@pytest.mark.parametrize("key", list(REQUIRED))
def test_a_file_that_lacks_one_required_key_is_refused_naming_it(key: str) -> None:
    raw = tomllib.loads(EXAMPLE.read_text())
    table, name = key.split(".")
    del raw[table][name]
    with pytest.raises(SettingsError) as raised:
        validate(raw, "orgguard.toml", with_defaults=False)
    [problem] = raised.value.problems
    assert problem.startswith(f"{key}: missing; set ") and f"{name} = " in problem, problem


def test_sandbox_true_fills_what_the_file_leaves_out_from_the_sandbox_defaults() -> None:
    settings = validate({"sandbox": True, "hub": {"bus_name": "mine"}}, "orgguard.toml", with_defaults=False)
    assert settings.sandbox is True and settings.hub.bus_name == "mine"
    assert settings.organization == load(None).organization
    assert load(None).sandbox is True
    with pytest.raises(SettingsError) as raised:
        validate({"sandbox": False, "hub": {"bus_name": "mine"}}, "orgguard.toml", with_defaults=False)
    assert len(raised.value.problems) == len(REQUIRED)


def test_load_without_sandbox_defaults_needs_a_complete_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        load(None, sandbox_defaults=False)
    [problem] = raised.value.problems
    assert "pass --config FILE" in problem and "orgguard.example.toml" in problem
    partial = tmp_path / "orgguard.toml"
    partial.write_text('[organization]\nhub_account = "222222222222"\n')
    with pytest.raises(SettingsError) as raised:
        load(str(partial), sandbox_defaults=False)
    assert [p.split(":")[0] for p in raised.value.problems] == [k for k in REQUIRED if k != "organization.hub_account"]
    assert load(str(partial)).organization.management_account == "123456789012"  # demo, replay: sandbox defaults
    assert load(str(EXAMPLE), sandbox_defaults=False) == load(str(EXAMPLE))


@pytest.mark.parametrize(("override", "key"), [
    ({"organization": {"hub_region": "eu-westt-1"}}, "organization.hub_region"),
    ({"organization": {"regions": ["us-east-1", "eu-westt-1"]}}, "organization.regions[1]"),
    ({"organization": {"regions": ["us-east-1", "eu-westt-1"], "home_region": "eu-westt-1"}},
     "organization.regions[1]"),
    ({"organization": {"home_region": "eu-westt-1"}}, "organization.home_region"),
])
def test_an_unknown_region_is_refused_naming_the_key_and_the_known_regions(override: dict[str, Any],
                                                                          key: str) -> None:
    with pytest.raises(SettingsError) as raised:
        validate(override, "orgguard.toml")
    problems = raised.value.problems
    assert problems[0].startswith(f'{key} = "eu-westt-1": must be a region botocore knows: ')
    assert all(r in problems[0] for r in ("us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"))
    assert all(p.startswith("organization.") and "eu-westt-1" in p for p in problems), problems


def test_the_known_regions_are_every_region_botocore_has_endpoints_for() -> None:
    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    listed = {region for partition in endpoints["partitions"] for region in partition["regions"]}
    assert listed <= set(known_regions())  # commercial, China, GovCloud and ISO
    assert not [r for r in known_regions() if r.endswith("-global")]
    every = validate({"organization": {"regions": list(known_regions()), "hub_region": "cn-northwest-1"}})
    assert every.organization.regions == known_regions()


def test_the_lambda_accepts_a_region_its_older_botocore_may_not_know(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = load(str(EXAMPLE)).to_dict()
    raw["organization"].update(hub_region="xx-future-1", regions=["xx-future-1"])
    with pytest.raises(SettingsError, match="must be a region botocore knows"):
        validate(raw, with_defaults=False)
    monkeypatch.setenv("ORGGUARD_SETTINGS", json.dumps(raw))
    assert from_environment().organization.regions == ("xx-future-1",)  # checked when the hub was deployed
    raw["organization"]["regions"] = ["nowhere"]
    monkeypatch.setenv("ORGGUARD_SETTINGS", json.dumps(raw))
    with pytest.raises(SettingsError, match=r"organization.regions\[0\]"):
        from_environment()


def test_importing_the_settings_loads_no_region_data() -> None:
    code = ("import sys, handlers.settings as s; loaded = s.known_regions.cache_info().misses > 0; s.validate({}); "
            "s.validate({}); print(loaded, s.known_regions.cache_info().misses)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "1"]


def test_the_tests_settings_writer_round_trips_the_example(tmp_path: Path) -> None:
    settings = load(str(EXAMPLE))
    path = write_settings(tmp_path, settings)
    assert tomllib.loads(path.read_text()) == settings.to_dict()
    assert load(str(path), sandbox_defaults=False) == settings


def test_top_level_must_be_a_table() -> None:
    with pytest.raises(SettingsError, match="must be a table"):
        validate(["organization"])


def test_load_reports_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="file not found"):
        load(str(tmp_path / "absent.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text('[organization]\nhub_account = "2222\n')
    with pytest.raises(SettingsError, match="not valid TOML") as raised:
        load(str(broken))
    assert str(broken) in str(raised.value)


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(SettingsError) as raised:
        validate({"hub": {"bus_name": "x" * 500}})
    [problem] = raised.value.problems
    assert len(problem) < 200 and "..." in problem


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


def test_an_alias_arn_with_the_account_placeholder_is_accepted() -> None:
    settings = validate({"policies": {"s3-encryption": {"kms_key": "arn:aws:kms:{region}:{account}:alias/org-s3"}}})
    assert settings_warnings(settings) == []


def test_a_cross_account_key_arn_is_accepted_with_a_warning() -> None:
    key = "arn:aws:kms:{region}:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    settings = validate({"policies": {"s3-encryption": {"kms_key": key}}})
    [warning] = settings_warnings(settings)
    assert warning.startswith("policies.s3-encryption.kms_key") and "111111111111" in warning
    assert "key policy" in warning and "member account" in warning


def test_a_key_arn_with_a_literal_region_warns_when_other_regions_are_governed() -> None:
    key = "arn:aws:kms:eu-west-1:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    two = validate({"organization": {"regions": ["eu-west-1", "us-east-1"]},
                    "policies": {"s3-encryption": {"kms_key": key}}})
    [warning] = settings_warnings(two)
    assert "us-east-1" in warning and "{region}" in warning
    one = validate({"organization": {"regions": ["eu-west-1"], "hub_region": "eu-west-1"},
                    "policies": {"s3-encryption": {"kms_key": key}}})
    assert settings_warnings(one) == []


def test_deploy_prints_the_warnings_and_still_runs_the_command(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    import types

    import deploy

    ran: list[Settings] = []
    command = types.SimpleNamespace(NEEDS_ORGANIZATION=True, COMMON_OPTIONS=("config",),
                                    add_arguments=lambda parser: None,
                                    run=lambda args, settings: ran.append(settings) or 0)
    monkeypatch.setattr(deploy.importlib, "import_module", lambda name: command)
    config = tmp_path / "orgguard.toml"
    config.write_text(EXAMPLE.read_text().replace(
        'kms_key = ""', 'kms_key = "arn:aws:kms:{region}:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"'))

    assert deploy.main(["status", "--config", str(config)]) == 0

    assert len(ran) == 1
    err = capsys.readouterr().err
    assert "warning: policies.s3-encryption.kms_key" in err and "111111111111" in err
