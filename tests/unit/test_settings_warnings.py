"""Settings warnings: a KMS key that validates but may not work (another account's key, a literal region while
other regions are governed) is accepted with a warning, and deploy prints the warnings and still runs the
command."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.settings import Settings, settings_warnings, validate
from tests.support.settings_files import EXAMPLE


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
