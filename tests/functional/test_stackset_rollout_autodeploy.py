"""``orgguard stackset`` on moto puts the StackSets' automatic deployment back as it should be: switched back on
when switched off by hand, and the rules' dependency on the global StackSet restored after it was recreated."""

from __future__ import annotations

from typing import Any

import boto3

from tests.support.organization import FakeOrganization, settings_for
from tests.support.rollout import ROLLOUT_MARKS, roll_out
from tests.support.stackset_calls import GLOBAL_STACKSET, REGIONAL_STACKSET, record, stackset_arn

pytestmark = ROLLOUT_MARKS


def test_automatic_deployment_switched_off_by_hand_is_switched_back_on(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization)
    roll_out(management_session, settings)
    global_arn = stackset_arn(management_session, GLOBAL_STACKSET)

    def as_if(auto: dict[str, dict[str, Any]]) -> Any:  # moto does not keep AutoDeployment
        def hook(parsed: dict[str, Any], **_: Any) -> None:
            parsed["StackSet"]["AutoDeployment"] = auto[parsed["StackSet"]["StackSetName"]]
        return hook

    deployed = {GLOBAL_STACKSET: {"Enabled": True, "RetainStacksOnAccountRemoval": False, "DependsOn": []},
                REGIONAL_STACKSET: {"Enabled": True, "RetainStacksOnAccountRemoval": False,
                                    "DependsOn": [global_arn]}}
    for changed, expected in ((GLOBAL_STACKSET, ["updated", "unchanged"]),
                              (REGIONAL_STACKSET, ["unchanged", "updated"])):
        by_hand = {**deployed, changed: {"Enabled": False, "DependsOn": []}}
        hook = as_if(by_hand)
        management_session.events.register("after-call.cloudformation.DescribeStackSet", hook)
        updates = record(management_session, "UpdateStackSet")
        assert [s.action for s in roll_out(management_session, settings).stacksets] == expected
        (update,) = updates
        assert update["StackSetName"] == changed
        assert "DeploymentTargets" not in update and "Regions" not in update
        assert update["AutoDeployment"]["Enabled"] is True
        management_session.events.unregister("after-call.cloudformation.DescribeStackSet", hook)
        management_session.events.unregister("provide-client-params.cloudformation.UpdateStackSet")

    hook = as_if(deployed)
    management_session.events.register("after-call.cloudformation.DescribeStackSet", hook)
    assert [s.action for s in roll_out(management_session, settings).stacksets] == ["unchanged", "unchanged"]


def test_rules_lost_their_dependency_on_a_recreated_global_stackset_get_it_back(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization)
    roll_out(management_session, settings)

    def old_arn(parsed: dict[str, Any], **_: Any) -> None:
        if parsed["StackSet"]["StackSetName"] == REGIONAL_STACKSET:
            parsed["StackSet"]["AutoDeployment"] = {
                "Enabled": True, "RetainStacksOnAccountRemoval": False,
                "DependsOn": ["arn:aws:cloudformation:us-east-1:111111111111:stackset/orgguard-spoke-global:gone"]}

    management_session.events.register("after-call.cloudformation.DescribeStackSet", old_arn)
    updates = record(management_session, "UpdateStackSet")
    roll_out(management_session, settings)

    (update,) = updates
    assert update["StackSetName"] == REGIONAL_STACKSET
    assert update["AutoDeployment"]["DependsOn"] == [stackset_arn(management_session, GLOBAL_STACKSET)]
