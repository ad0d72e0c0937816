"""Settings: every bad value gets one message naming its key and saying what is allowed, several problems are
reported at once, and a region must be one botocore knows (the Lambda, with an older botocore, trusts the hub)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest

from handlers.settings import SettingsError, from_environment, known_regions, load, validate
from tests.support.settings_files import EXAMPLE

REPO = Path(__file__).resolve().parents[2]


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


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(SettingsError) as raised:
        validate({"hub": {"bus_name": "x" * 500}})
    [problem] = raised.value.problems
    assert len(problem) < 200 and "..." in problem
