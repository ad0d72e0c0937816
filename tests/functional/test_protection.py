"""``orgguard stackset --protect`` and ``destroy`` on moto: the spoke's service control policy is created,
kept current and attached to exactly the target OUs, and removed before anything it protects.

moto stores and attaches Organizations policies but does not enforce them; what the policy denies is tested
on the document (``tests/security/test_scp.py``) and in the IAM-enforcing sandbox.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

import commands.destroy
import deploy
from spoke.scp import POLICY_NAME, protection_policy
from stacksets.status import collect
from tests.support.organization import FakeOrganization, settings_for
from tests.support.rollout import ROLLOUT_MARKS, roll_out, settings_file

pytestmark = ROLLOUT_MARKS



def policy(session: boto3.Session) -> dict[str, Any] | None:
    org = session.client("organizations")
    found = [p for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if p["Name"] == POLICY_NAME]
    return found[0] if found else None


def targets(session: boto3.Session, policy_id: str) -> set[str]:
    return {t["TargetId"] for t in session.client("organizations").list_targets_for_policy(
        PolicyId=policy_id)["Targets"]}


def scp_enabled(session: boto3.Session) -> bool:
    (root,) = session.client("organizations").list_roots()["Roots"]
    return {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"} in root.get("PolicyTypes", [])


def test_protect_enables_scps_creates_the_policy_and_attaches_it_to_the_target_ous(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization, ("Workloads", "Sandbox"))
    assert not scp_enabled(management_session)

    report = roll_out(management_session, settings, protect=True)

    assert report.ok and report.protection is not None
    assert report.protection.enabled_on_root == organization.root
    assert scp_enabled(management_session)
    found = policy(management_session)
    assert found is not None and report.protection.action == "created"
    org = management_session.client("organizations")
    described = org.describe_policy(PolicyId=found["Id"])["Policy"]
    assert described["PolicySummary"]["Type"] == "SERVICE_CONTROL_POLICY"
    assert json.loads(described["Content"]) == protection_policy(settings)
    assert targets(management_session, found["Id"]) == {organization.ou("Workloads"), organization.ou("Sandbox")}
    assert any("not protected" in note and "management account" in note for note in report.notes)

    again = roll_out(management_session, settings, protect=True)
    assert again.protection is not None
    assert (again.protection.action, again.protection.attached, again.protection.detached) == ("unchanged", [], [])
    assert again.protection.enabled_on_root == ""


def test_a_policy_edited_by_hand_is_put_back_and_the_attachments_follow_the_target_ous(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    roll_out(management_session, settings_for(organization, ("Workloads", "Sandbox")), protect=True)
    found = policy(management_session)
    assert found is not None
    org = management_session.client("organizations")
    loosened = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket",
                                                        "Resource": "*"}]}
    org.update_policy(PolicyId=found["Id"], Content=json.dumps(loosened))
    settings = settings_for(organization, ("Workloads",))

    without = roll_out(management_session, settings)
    assert without.protection is None
    assert any("differs from the one these settings render" in note for note in without.notes)
    assert json.loads(org.describe_policy(PolicyId=found["Id"])["Policy"]["Content"]) == loosened

    report = roll_out(management_session, settings, protect=True)

    assert report.protection is not None and report.protection.action == "updated"
    assert report.protection.detached == [organization.ou("Sandbox")]
    assert json.loads(org.describe_policy(PolicyId=found["Id"])["Policy"]["Content"]) == protection_policy(settings)
    assert targets(management_session, found["Id"]) == {organization.ou("Workloads")}


def test_status_says_when_the_spoke_is_not_protected(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization)
    roll_out(management_session, settings)
    assert any("not protected by a service control policy" in note
               for note in collect(management_session, settings, "SELF").notes)

    roll_out(management_session, settings, protect=True)
    assert not any(POLICY_NAME in note for note in collect(management_session, settings, "SELF").notes)


@pytest.mark.usefixtures("stackset_deletes_by_ou")
def test_destroy_removes_the_policy_before_any_stack_instance(
    organization: FakeOrganization, management_session: boto3.Session, tmp_path: Any, capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for(organization)
    roll_out(management_session, settings, protect=True)
    found = policy(management_session)
    assert found is not None
    order: list[str] = []
    for operation in ("organizations.DetachPolicy", "organizations.DeletePolicy",
                      "cloudformation.DeleteStackInstances"):
        management_session.events.register(f"before-call.{operation}",
                                           lambda model, **_: order.append(model.name))
    monkeypatch.setattr(commands.destroy, "aws_session", lambda args, s: management_session)
    config = settings_file(tmp_path, organization)  # include_management_account = false

    assert deploy.main(["destroy", "--config", str(config), "--dry-run"]) == 0
    assert f"the service control policy {POLICY_NAME} (attached to {organization.ou('Workloads')}), first" in (
        capsys.readouterr().out)
    assert order == [] and policy(management_session) is not None

    assert deploy.main(["destroy", "--config", str(config), "--yes"]) == 0

    assert order[:2] == ["DetachPolicy", "DeletePolicy"]
    assert order[2:] and set(order[2:]) == {"DeleteStackInstances"}
    assert policy(management_session) is None
    assert f"service control policy {POLICY_NAME}: deleted" in capsys.readouterr().out
