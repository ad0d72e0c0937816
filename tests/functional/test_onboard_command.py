"""``orgguard onboard`` as a command on moto: it exits non-zero naming the failed check, and a dry run (text
or one JSON document) says which instances it would create and creates none.

The hub's canary Lambda cannot run on moto, so the hub bus sends canary events to a queue and the test runs the
real ``handlers.canary`` code on them (``FakeHub``).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from handlers.registry import FORWARD_RULE_NAME
from handlers.settings import Settings
from stacksets.onboarding import Onboarding
from tests.support.onboarding import record_create_calls
from tests.support.organization import HOME_REGION, OTHER_REGION, FakeOrganization, session_in
from tests.support.rollout import ROLLOUT_MARKS
from tests.support.settings_files import write_settings
from tests.support.stackset_hub import FakeHub

pytestmark = ROLLOUT_MARKS


def test_command_exits_non_zero_and_names_the_failure(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub,
    tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import deploy

    account = organization.account("app-2")
    session_in(account, OTHER_REGION).client("events").disable_rule(Name=FORWARD_RULE_NAME)
    monkeypatch.setattr(Onboarding, "_default_waiter", lambda self: rolled_out.canary_waiter())
    config = write_settings(tmp_path, settings)

    code = deploy.main(["onboard", account, "--config", str(config), "--timeout", "0"])

    captured = capsys.readouterr()
    assert code == 1
    expected = f"{account}: rule {FORWARD_RULE_NAME} in {OTHER_REGION}: rule {FORWARD_RULE_NAME} is DISABLED"
    assert expected in captured.err
    assert "[ ok ] spoke instances" in captured.out


def test_dry_run_says_which_instances_it_would_create_and_creates_none(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub,
    tmp_path: Any,
    capsys: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import commands.onboard
    import deploy

    monkeypatch.setattr(commands.onboard, "aws_session", lambda args, s: management_session)
    calls = record_create_calls(management_session)
    outsider = organization.account("sandbox-1")
    config = write_settings(tmp_path, settings)

    assert deploy.main(["onboard", outsider, "--config", str(config), "--dry-run"]) == 0

    assert (f"{outsider}: would create instances of orgguard-spoke-global in {HOME_REGION}; "
            f"orgguard-spoke in {HOME_REGION}, {OTHER_REGION}") in capsys.readouterr().out
    assert calls == []


def test_a_json_dry_run_is_one_document(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub,
    tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import commands.onboard
    import deploy

    monkeypatch.setattr(commands.onboard, "aws_session", lambda args, s: management_session)
    outsider = organization.account("sandbox-1")
    config = write_settings(tmp_path, settings)

    assert deploy.main(["onboard", outsider, "--config", str(config), "--dry-run", "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document == {"dry_run": True, "accounts": {outsider: {"create": {
        "orgguard-spoke-global": [HOME_REGION], "orgguard-spoke": [HOME_REGION, OTHER_REGION]}}}}
