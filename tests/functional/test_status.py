"""``orgguard status`` on moto: every account of the organization, with or without a spoke, the spokes'
dead-letter queues and tampering read inside the member accounts, and the hub's queues from its stack."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from handlers.contract import (
    CANARY_RULE_NAME,
    FORWARD_DLQ_ALARM_NAME,
    FORWARD_DLQ_NAME,
    TABLE_PARTITION_KEY,
)
from handlers.registry import FORWARD_RULE_NAME, FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from stacksets.status import NO_SPOKE, collect
from tests.support.organization import HOME_REGION, OTHER_REGION, REGIONS, FakeOrganization, session_in, settings_for
from tests.support.rollout import (
    ROLLOUT_MARKS,
    FakeHub,
    build_hub,
    put_spoke_alarms,
    roll_out,
    settings_file,
)

pytestmark = ROLLOUT_MARKS


@pytest.fixture
def settings(organization: FakeOrganization) -> Settings:
    return settings_for(organization, organization={"include_management_account": True})


@pytest.fixture
def hub(organization: FakeOrganization, management_session: boto3.Session, settings: Settings) -> FakeHub:
    roll_out(management_session, settings)
    # moto's CloudFormation skips AWS::CloudWatch::Alarm; CloudFormation would have created it.
    put_spoke_alarms([*organization.accounts_in("Workloads"), organization.management], REGIONS, settings)
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
    sqs.send_message(QueueUrl=hub.failures_url, MessageBody="a Lambda's on-failure record")

    report = collect(management_session, settings, "SELF")

    by_id = {a.account: a for a in report.accounts}
    assert set(by_id) == {organization.management, *organization.accounts.values()}
    for account in organization.accounts_in("Workloads"):
        assert by_id[account].spoke == "stackset"
        assert by_id[account].in_target_ous
        assert {(r.region, r.status) for r in by_id[account].regions} == {(r, "CURRENT") for r in REGIONS}
        roles = by_id[account].roles
        assert roles is not None and (roles.region, roles.status) == (HOME_REGION, "CURRENT")
    for name in ("hub", "sandbox-1"):
        outside = by_id[organization.account(name)]
        assert outside.spoke == NO_SPOKE
        assert outside.regions == [] and outside.roles is None
        assert not outside.in_target_ous
    assert by_id[organization.management].spoke == "management stack"
    assert by_id[organization.account("app-2")].path == "Root/Workloads/Prod"
    assert by_id[app1].last_event == {"time": "2026-03-01T10:00:00Z", "policy": "s3-encryption",
                                      "outcome": "remediated"}
    assert by_id[organization.account("app-2")].last_event is None
    assert report.hub_deployed is True
    # The hub's queues are the ones its stack lists as DlqUrl... outputs, "-failures" queues included.
    queues = {q.name: q for q in report.queues}
    assert set(queues) == {"orgguard-hub-dlq", "orgguard-hub-failures"}
    assert (queues["orgguard-hub-dlq"].messages, queues["orgguard-hub-dlq"].dead_letter) == (3, True)
    assert (queues["orgguard-hub-failures"].messages, queues["orgguard-hub-failures"].dead_letter) == (1, True)
    assert report.tampering == []


def test_spoke_dead_letter_queues_are_read_in_each_member_account_and_region(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, hub: FakeHub
) -> None:
    account = organization.account("app-2")
    member_sqs = session_in(account, OTHER_REGION).client("sqs")
    url = member_sqs.get_queue_url(QueueName=FORWARD_DLQ_NAME)["QueueUrl"]
    for n in range(2):
        member_sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"detail": {"n": n}}))

    report = collect(management_session, settings, "SELF")

    depths = {(a.account, r.region): (r.dlq_messages, r.alarm) for a in report.accounts for r in a.regions
              if r.dlq_messages is not None}
    spoked = [*organization.accounts_in("Workloads"), organization.management]
    assert set(depths) == {(a, r) for a in spoked for r in REGIONS}
    assert depths[(account, OTHER_REGION)][0] == 2
    assert all(messages == 0 for pair, (messages, _) in depths.items() if pair != (account, OTHER_REGION))
    assert {alarm for _, alarm in depths.values()} <= {"OK", "ALARM", "INSUFFICIENT_DATA"}
    assert any(f"{account}/{OTHER_REGION}: 2" in note and "orgguard redrive" in note for note in report.notes)


def test_tampering_inside_member_accounts_is_flagged_per_account_and_region(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, hub: FakeHub
) -> None:
    disabled, retargeted, trusting, roleless, alarmless = (
        organization.account(n) for n in ("app-1", "app-2", "app-3", "app-1", "app-2"))
    session_in(disabled, OTHER_REGION).client("events").disable_rule(Name=FORWARD_RULE_NAME)
    events = session_in(retargeted, HOME_REGION).client("events")
    (target,) = events.list_targets_by_rule(Rule=CANARY_RULE_NAME)["Targets"]
    events.put_targets(Rule=CANARY_RULE_NAME, Targets=[
        {**target, "RoleArn": f"arn:aws:iam::{retargeted}:role/SomethingElse"}])
    iam = session_in(trusting).client("iam")
    trust = iam.get_role(RoleName=REMEDIATION_ROLE_NAME)["Role"]["AssumeRolePolicyDocument"]
    trust["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                               "Action": "sts:AssumeRole"})
    iam.update_assume_role_policy(RoleName=REMEDIATION_ROLE_NAME, PolicyDocument=json.dumps(trust))
    iam = session_in(roleless).client("iam")
    for policy in iam.list_role_policies(RoleName=FORWARDER_ROLE_NAME)["PolicyNames"]:
        iam.delete_role_policy(RoleName=FORWARDER_ROLE_NAME, PolicyName=policy)
    iam.delete_role(RoleName=FORWARDER_ROLE_NAME)
    session_in(alarmless, OTHER_REGION).client("cloudwatch").delete_alarms(AlarmNames=[FORWARD_DLQ_ALARM_NAME])

    report = collect(management_session, settings, "SELF")

    found = {(t.account, t.region, t.what): t.detail for t in report.tampering}
    assert set(found) == {
        (disabled, OTHER_REGION, f"rule {FORWARD_RULE_NAME}"),
        (retargeted, HOME_REGION, f"rule {CANARY_RULE_NAME}"),
        (trusting, "", f"role {REMEDIATION_ROLE_NAME}"),
        (roleless, "", f"role {FORWARDER_ROLE_NAME}"),
        (alarmless, OTHER_REGION, f"alarm {FORWARD_DLQ_ALARM_NAME}"),
    }
    assert "DISABLED" in found[(disabled, OTHER_REGION, f"rule {FORWARD_RULE_NAME}")]
    assert "SomethingElse" in found[(retargeted, HOME_REGION, f"rule {CANARY_RULE_NAME}")]
    assert "999999999999" in found[(trusting, "", f"role {REMEDIATION_ROLE_NAME}")]
    assert "not found" in found[(roleless, "", f"role {FORWARDER_ROLE_NAME}")]


def test_the_command_exits_non_zero_on_tampering(
    organization: FakeOrganization, management_session: boto3.Session, hub: FakeHub, tmp_path: Any, capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import commands.status
    import deploy

    monkeypatch.setattr(commands.status, "aws_session", lambda args, settings: management_session)
    config = str(settings_file(tmp_path, organization))
    assert deploy.main(["status", "--config", config]) == 0
    capsys.readouterr()
    account = organization.account("app-3")
    session_in(account).client("events").disable_rule(Name=FORWARD_RULE_NAME)

    assert deploy.main(["status", "--config", config]) == 1

    captured = capsys.readouterr()
    assert f"tampering found in 1 account(s): {account}" in captured.err
    flagged = [line for line in captured.out.splitlines() if line.startswith(account) and "DISABLED" in line]
    assert len(flagged) == 1 and HOME_REGION in flagged[0]


def test_nothing_deployed_lists_every_account_without_a_spoke(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings
) -> None:
    report = collect(management_session, settings, "SELF")

    assert {a.account for a in report.accounts} == {organization.management, *organization.accounts.values()}
    assert {a.spoke for a in report.accounts} == {NO_SPOKE}
    assert report.stackset_exists is False and report.global_stackset_exists is False
    assert report.hub_deployed is False
    assert any("hub not deployed" in note for note in report.notes)
    assert any("orgguard-spoke-global does not exist" in note for note in report.notes)
    assert any("does not exist" in note and "orgguard stackset" in note for note in report.notes)
    assert any("not protected by a service control policy" in note for note in report.notes)


def test_json_document_from_the_command(
    organization: FakeOrganization, hub: FakeHub, tmp_path: Any, capsys: Any
) -> None:
    import deploy

    config = settings_file(tmp_path, organization)  # include_management_account = false

    code = deploy.main(["status", "--config", str(config), "--json"])

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    spokes = {a["account"]: a["spoke"] for a in document["accounts"]}
    assert spokes[organization.account("sandbox-1")] == NO_SPOKE
    assert spokes[organization.account("app-3")] == "stackset"
    assert spokes[organization.management] == NO_SPOKE  # include_management_account = false
    assert document["hub"]["deployed"] is True
    assert document["tampering"] == []


def test_table_output_names_accounts_without_a_spoke(
    organization: FakeOrganization, hub: FakeHub, tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch,
    management_session: boto3.Session,
) -> None:
    import commands.status
    import deploy

    monkeypatch.setattr(commands.status, "aws_session", lambda args, settings: management_session)
    config = settings_file(tmp_path, organization, organization={"include_management_account": True})

    assert deploy.main(["status", "--config", str(config)]) == 0

    lines = capsys.readouterr().out.splitlines()
    sandbox = [line for line in lines if line.startswith(organization.account("sandbox-1"))]
    assert len(sandbox) == 1 and NO_SPOKE in sandbox[0]
    app1 = [line for line in lines if line.startswith(organization.account("app-1"))]
    assert {region for region in REGIONS if any(region in line for line in app1)} == set(REGIONS)
    assert any("orgguard-hub-dlq" in line for line in lines)
    assert any("orgguard-hub-failures" in line and "dead-letter" in line for line in lines)
