"""``deploy.py status`` on moto: every account of the organization, with or without a spoke, and the hub."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from org_world import (
    REGIONS,
    FakeHub,
    FakeOrganization,
    build_hub,
    quick_waiter,
    settings_for,
)

from handlers.contract import TABLE_PARTITION_KEY
from handlers.settings import Settings
from stacksets.rollout import Rollout
from stacksets.status import NO_SPOKE, collect
from tests.settings_files import write_settings

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..SQS..QueuePolicy")


@pytest.fixture
def settings(organization: FakeOrganization) -> Settings:
    return settings_for(organization, organization={"include_management_account": True})


@pytest.fixture
def hub(organization: FakeOrganization, management_session: boto3.Session, settings: Settings) -> FakeHub:
    Rollout(management_session, settings, "SELF", make_waiter=quick_waiter).run()
    return build_hub(settings)


def audit(hub: FakeHub, key: str, account: str, time: str, outcome: str) -> None:
    hub.session.client("dynamodb").put_item(TableName=hub.settings.hub.table_name, Item={
        TABLE_PARTITION_KEY: {"S": key}, "account": {"S": account}, "time": {"S": time},
        "policy": {"S": "s3-encryption"}, "outcome": {"S": outcome},
    })


def test_every_account_is_listed_with_its_spoke_last_event_and_the_hub_queues(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, hub: FakeHub
) -> None:
    app1 = organization.account("app-1")
    audit(hub, "event-old", app1, "2026-01-01T10:00:00Z", "compliant")
    audit(hub, "event-new", app1, "2026-03-01T10:00:00Z", "remediated")
    sqs = hub.session.client("sqs")
    for n in range(3):
        sqs.send_message(QueueUrl=hub.dlq_url, MessageBody=f"failed delivery {n}")

    report = collect(management_session, settings, "SELF")

    by_id = {a.account: a for a in report.accounts}
    assert set(by_id) == {organization.management, *organization.accounts.values()}
    for account in organization.accounts_in("Workloads"):
        assert by_id[account].spoke == "stackset"
        assert by_id[account].in_target_ous
        assert {(r.region, r.status) for r in by_id[account].regions} == {(r, "CURRENT") for r in REGIONS}
    for name in ("hub", "sandbox-1"):
        outside = by_id[organization.account(name)]
        assert outside.spoke == NO_SPOKE
        assert outside.regions == []
        assert not outside.in_target_ous
    assert by_id[organization.management].spoke == "management stack"
    assert by_id[organization.account("app-2")].path == "Root/Workloads/Prod"
    assert by_id[app1].last_event == {"time": "2026-03-01T10:00:00Z", "policy": "s3-encryption",
                                      "outcome": "remediated"}
    assert by_id[organization.account("app-2")].last_event is None
    assert report.hub_deployed is True
    queues = {q.name: q for q in report.queues}
    assert queues["orgguard-hub-dlq"].messages == 3
    assert queues["orgguard-hub-dlq"].dead_letter


def test_nothing_deployed_lists_every_account_without_a_spoke(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings
) -> None:
    report = collect(management_session, settings, "SELF")

    assert {a.account for a in report.accounts} == {organization.management, *organization.accounts.values()}
    assert {a.spoke for a in report.accounts} == {NO_SPOKE}
    assert report.stackset_exists is False
    assert report.hub_deployed is False
    assert any("hub not deployed" in note for note in report.notes)
    assert any("does not exist" in note and "deploy.py stackset" in note for note in report.notes)


def test_json_document_from_the_command(
    organization: FakeOrganization, hub: FakeHub, tmp_path: Any, capsys: Any
) -> None:
    import deploy

    config = write_settings(tmp_path, settings_for(organization))  # include_management_account = false

    code = deploy.main(["status", "--config", str(config), "--json"])

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    spokes = {a["account"]: a["spoke"] for a in document["accounts"]}
    assert spokes[organization.account("sandbox-1")] == NO_SPOKE
    assert spokes[organization.account("app-3")] == "stackset"
    assert spokes[organization.management] == NO_SPOKE  # include_management_account = false
    assert document["hub"]["deployed"] is True


def test_table_output_names_accounts_without_a_spoke(
    organization: FakeOrganization, hub: FakeHub, tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch,
    management_session: boto3.Session,
) -> None:
    import commands.status
    import deploy

    monkeypatch.setattr(commands.status, "aws_session", lambda args, settings: management_session)
    config = write_settings(tmp_path, settings_for(organization))

    assert deploy.main(["status", "--config", str(config)]) == 0

    lines = capsys.readouterr().out.splitlines()
    sandbox = [line for line in lines if line.startswith(organization.account("sandbox-1"))]
    assert len(sandbox) == 1 and NO_SPOKE in sandbox[0]
    app1 = [line for line in lines if line.startswith(organization.account("app-1"))]
    assert {region for region in REGIONS if any(region in line for line in app1)} == set(REGIONS)
    assert any("orgguard-hub-dlq" in line for line in lines)
