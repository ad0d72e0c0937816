"""``orgguard onboard`` on moto: missing instances are added, the path is proven, and each broken piece
fails its own check with a reason. The command line: test_onboard_command.py; the standard's KMS key:
test_onboard_kms.py.

The hub's canary Lambda cannot run on moto (EventBridge does not invoke Lambda targets there), so the
hub bus sends canary events to a queue and the test runs the real ``handlers.canary`` code on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
import pytest

from handlers.contract import TABLE_PARTITION_KEY
from handlers.registry import FORWARD_RULE_NAME, FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from stacksets.canary import Canary
from stacksets.errors import RolloutError
from stacksets.onboard_proof import CANARY, HUB_ASSUMES, INSTANCES, MEMBERSHIP
from stacksets.onboarding import Onboarding
from tests.support.onboarding import failures, onboard, record_create_calls
from tests.support.organization import (
    HOME_REGION,
    OTHER_REGION,
    REGIONS,
    FakeOrganization,
    add_account,
    session_in,
)
from tests.support.rollout import ROLLOUT_MARKS, quick_waiter, roll_out
from tests.support.stackset_hub import FakeHub

pytestmark = ROLLOUT_MARKS


def test_new_account_in_a_target_ou_gets_its_instances_and_its_path_proven(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    newcomer = add_account(organization, "app-4", "Workloads/Prod")  # moto has no AutoDeployment
    calls = record_create_calls(management_session)

    report = onboard(management_session, settings, [newcomer], rolled_out.canary_waiter())

    assert report.ok, report.to_dict()
    (proof,) = report.accounts
    passed = {(c.name, c.region) for c in proof.checks if c.ok}
    assert (INSTANCES, "") in passed
    assert (HUB_ASSUMES, "") in passed
    assert {(CANARY, r) for r in REGIONS} <= passed
    assert {(f"rule {FORWARD_RULE_NAME}", r) for r in REGIONS} <= passed
    # Addressed through the target OU that holds it, filtered to that one account: the roles first, then the
    # rules, home region first.
    assert [(c["StackSetName"], c["Regions"]) for c in calls] == [
        ("orgguard-spoke-global", [HOME_REGION]), ("orgguard-spoke", [HOME_REGION]), ("orgguard-spoke", [OTHER_REGION])]
    for call in calls:
        assert call["DeploymentTargets"] == {
            "OrganizationalUnitIds": [organization.ou("Workloads")],
            "Accounts": [newcomer],
            "AccountFilterType": "INTERSECTION",
        }
    # The hub's own record of each canary, in its table.
    dynamodb = rolled_out.session.client("dynamodb")
    records = dynamodb.scan(TableName=settings.hub.table_name)["Items"]
    canaries = {(i["account"]["S"], i["region"]["S"]) for i in records
                if i[TABLE_PARTITION_KEY]["S"].startswith("canary#")}
    assert canaries == {(newcomer, r) for r in REGIONS}
    for region in REGIONS:
        rules = session_in(newcomer, region).client("events").list_rules()["Rules"]
        assert FORWARD_RULE_NAME in {r["Name"] for r in rules}


def test_account_outside_the_target_ous_is_addressed_through_its_own_ou(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    outsider = organization.account("sandbox-1")
    calls = record_create_calls(management_session)

    report = onboard(management_session, settings, [outsider], rolled_out.canary_waiter())

    assert report.ok, report.to_dict()
    assert calls, "no CreateStackInstances call"
    for call in calls:
        assert call["DeploymentTargets"] == {
            "OrganizationalUnitIds": [organization.ou("Sandbox")],
            "Accounts": [outsider],
            "AccountFilterType": "INTERSECTION",
        }
    assert session_in(outsider).client("iam").get_role(RoleName=REMEDIATION_ROLE_NAME)["Role"]


def test_onboarding_an_account_that_has_its_spoke_creates_nothing(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    calls = record_create_calls(management_session)

    report = onboard(management_session, settings, [organization.account("app-1")], rolled_out.canary_waiter())

    assert report.ok, report.to_dict()
    assert calls == []


def test_broken_role_and_missing_rule_fail_their_own_checks(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    broken, healthy = organization.account("app-1"), organization.account("app-2")
    iam = session_in(broken).client("iam")
    for policy in iam.list_role_policies(RoleName=REMEDIATION_ROLE_NAME)["PolicyNames"]:
        iam.delete_role_policy(RoleName=REMEDIATION_ROLE_NAME, PolicyName=policy)
    iam.delete_role(RoleName=REMEDIATION_ROLE_NAME)
    events = session_in(broken, OTHER_REGION).client("events")
    target_ids = [t["Id"] for t in events.list_targets_by_rule(Rule=FORWARD_RULE_NAME)["Targets"]]
    events.remove_targets(Rule=FORWARD_RULE_NAME, Ids=target_ids)
    events.delete_rule(Name=FORWARD_RULE_NAME)

    report = onboard(management_session, settings, [broken, healthy], rolled_out.canary_waiter())

    assert not report.ok
    failed = failures(report, broken)
    assert set(failed) == {(f"role {REMEDIATION_ROLE_NAME}", HOME_REGION), (f"rule {FORWARD_RULE_NAME}", OTHER_REGION)}
    assert "not found" in failed[(f"role {REMEDIATION_ROLE_NAME}", HOME_REGION)]
    assert "not found" in failed[(f"rule {FORWARD_RULE_NAME}", OTHER_REGION)]
    assert failures(report, healthy) == {}


def test_disabled_rule_fails_with_its_state(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    account = organization.account("app-3")
    session_in(account).client("events").disable_rule(Name=FORWARD_RULE_NAME)

    report = onboard(management_session, settings, [account], rolled_out.canary_waiter())

    assert "DISABLED" in failures(report, account)[(f"rule {FORWARD_RULE_NAME}", HOME_REGION)]


def test_rule_pointed_at_another_role_fails_as_changed(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    account = organization.account("app-2")
    events = session_in(account, OTHER_REGION).client("events")
    (target,) = events.list_targets_by_rule(Rule=FORWARD_RULE_NAME)["Targets"]
    events.put_targets(Rule=FORWARD_RULE_NAME, Targets=[{**target, "RoleArn": f"arn:aws:iam::{account}:role/Other"}])

    report = onboard(management_session, settings, [account], rolled_out.canary_waiter())

    failed = failures(report, account)
    assert set(failed) == {(f"rule {FORWARD_RULE_NAME}", OTHER_REGION)}
    assert "targets were changed" in failed[(f"rule {FORWARD_RULE_NAME}", OTHER_REGION)]
    assert f"role/{FORWARDER_ROLE_NAME}" in failed[(f"rule {FORWARD_RULE_NAME}", OTHER_REGION)]


def test_canary_that_never_reaches_the_hub_fails_per_region(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    account = organization.account("app-1")

    report = onboard(management_session, settings, [account], lambda canaries, timeout: {})

    failed = failures(report, account)
    assert set(failed) == {(CANARY, r) for r in REGIONS} | {(HUB_ASSUMES, "")}
    assert "no record of canary" in failed[(CANARY, HOME_REGION)]


def test_hub_that_cannot_assume_the_role_fails_with_the_hub_reason(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    account = organization.account("app-1")

    def hub_refused(canaries: Sequence[Canary], timeout: float) -> dict[str, dict[str, Any]]:
        return {c.id: {"account": c.account, "region": c.region, "role_ok": False,
                       "role_error": "AccessDenied: not authorized to perform sts:AssumeRole"} for c in canaries}

    report = onboard(management_session, settings, [account], hub_refused)

    failed = failures(report, account)
    assert set(failed) == {(HUB_ASSUMES, "")}
    assert "sts:AssumeRole" in failed[(HUB_ASSUMES, "")]


def test_hub_without_its_table_says_to_deploy_the_hub(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings
) -> None:
    roll_out(management_session, settings)
    # Only the bus: moto's PutEvents fails outright when a rule targets a bus that does not exist.
    session_in(settings.organization.hub_account).client("events").create_event_bus(Name=settings.hub.bus_name)
    account = organization.account("app-1")

    report = Onboarding(management_session, settings, "SELF", make_waiter=quick_waiter).run([account], timeout=0)

    failed = failures(report, account)
    assert {name for name, _ in failed} == {CANARY, HUB_ASSUMES}
    assert "deploy the hub" in failed[(CANARY, HOME_REGION)]


def test_unknown_account_fails_membership_and_nothing_is_created(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    calls = record_create_calls(management_session)

    report = onboard(management_session, settings, ["999999999999"], rolled_out.canary_waiter())

    assert set(failures(report, "999999999999")) == {(MEMBERSHIP, "")}
    assert calls == []


def test_onboarding_before_the_rollout_says_what_to_do(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings
) -> None:
    with pytest.raises(RolloutError, match=r"orgguard stackset"):
        onboard(management_session, settings, [organization.account("app-1")], lambda c, t: {})
