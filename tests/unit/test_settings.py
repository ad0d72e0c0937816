"""Settings: the sample file and the defaults validate, a file lacking a required key is refused naming it, the
sandbox defaults fill what a file leaves out, a missing or broken file is reported, and the JSON the hub hands to
the Lambdas validates back to the same settings. Bad values: test_settings_errors.py; the guardrails' own values:
test_settings_policies.py; warnings: test_settings_warnings.py."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest

from handlers.registry import guardrails
from handlers.settings import REQUIRED, Policies, Settings, SettingsError, from_environment, load, validate
from tests.support.settings_files import EXAMPLE, write_settings


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
