"""The StackSet requests moto ignores (AutoDeployment and its DependsOn, CallAs, OU-based deletes, account
filters), checked with botocore's Stubber; and failed instances, injected on top of moto, retried with
--retry-failed, the home region on its own first."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from handlers.settings import Settings
from stacksets.api import StackSetApi
from stacksets.errors import RolloutError
from stacksets.instance import Instance
from stacksets.rollout import Rollout
from stacksets.rollout_stackset import retry_groups
from stacksets.stackset_requests import auto_deployment
from tests.support.organization import HOME_REGION, OTHER_REGION, FakeOrganization, settings_for
from tests.support.rollout import ROLLOUT_MARKS, quick_waiter

pytestmark = ROLLOUT_MARKS
GLOBAL_ARN = "arn:aws:cloudformation:us-east-1:111111111111:stackset/orgguard-spoke-global:0f6c1e5e"

WORKLOADS = "ou-ab12-11111111"
SANDBOX = "ou-ab12-22222222"
PREFERENCES = {
    "RegionConcurrencyType": "PARALLEL",
    "MaxConcurrentPercentage": 100,
    "FailureTolerancePercentage": 10,
    "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
}


def offline_settings(**rollout: Any) -> Settings:
    from handlers.settings import validate

    return validate({
        "organization": {
            "management_account": "111111111111",
            "hub_account": "222222222222",
            "hub_region": HOME_REGION,
            "regions": [HOME_REGION, OTHER_REGION],
            "target_ous": [WORKLOADS],
        },
        "rollout": rollout,
    })


@pytest.fixture
def stubbed(aws_credentials: None) -> Any:
    """A StackSetApi acting as a delegated administrator, its CloudFormation client stubbed."""
    settings = offline_settings(call_as="DELEGATED_ADMIN")
    api = StackSetApi(boto3.Session(region_name=HOME_REGION), settings, settings.rollout.call_as)
    with Stubber(api.cfn) as stub:
        yield api, stub
        stub.assert_no_pending_responses()


def test_create_asks_for_automatic_deployment_as_delegated_admin(stubbed: Any) -> None:
    api, stub = stubbed
    stub.add_response("create_stack_set", {"StackSetId": "orgguard-spoke:1"}, {
        "StackSetName": "orgguard-spoke",
        "CallAs": "DELEGATED_ADMIN",
        "Description": "the rules",
        "TemplateBody": "Resources: {}",
        "Parameters": [{"ParameterKey": "HubBusName", "ParameterValue": "orgguard"}],
        "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False, "DependsOn": [GLOBAL_ARN]},
        "ManagedExecution": {"Active": True},
    })
    api.create("Resources: {}", {"HubBusName": "orgguard"}, "the rules", auto_deployment([GLOBAL_ARN]))
    stub.assert_no_pending_responses()  # every stubbed request was made


def test_automatic_deployment_changes_without_targets_and_template_changes_without_it(stubbed: Any) -> None:
    """UpdateStackSet takes AutoDeployment only without DeploymentTargets and Regions (botocore's model)."""
    api, stub = stubbed
    definition = {
        "StackSetName": "orgguard-spoke",
        "CallAs": "DELEGATED_ADMIN",
        "TemplateBody": "Resources: {}",
        "Parameters": [],
        "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "PermissionModel": "SERVICE_MANAGED",
        "ManagedExecution": {"Active": True},
        "OperationPreferences": PREFERENCES,
    }
    stub.add_response("update_stack_set", {"OperationId": "op-a"}, {
        **definition,
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False, "DependsOn": [GLOBAL_ARN]},
    })
    stub.add_response("update_stack_set", {"OperationId": "op-b"}, {
        **definition,
        "DeploymentTargets": {"OrganizationalUnitIds": [WORKLOADS]},
        "Regions": [HOME_REGION],
    })
    assert api.update_definition("Resources: {}", {}, auto_deployment([GLOBAL_ARN])) == "op-a"
    assert api.update("Resources: {}", {}, [WORKLOADS], [HOME_REGION]) == "op-b"
    stub.assert_no_pending_responses()  # every stubbed request was made


def test_instances_are_deleted_by_ou_without_retaining_stacks(stubbed: Any) -> None:
    api, stub = stubbed
    stub.add_response("delete_stack_instances", {"OperationId": "op-1"}, {
        "StackSetName": "orgguard-spoke",
        "CallAs": "DELEGATED_ADMIN",
        "DeploymentTargets": {"OrganizationalUnitIds": [WORKLOADS, SANDBOX]},
        "Regions": [OTHER_REGION],
        "RetainStacks": False,
        "OperationPreferences": PREFERENCES,
    })
    assert api.delete_instances([WORKLOADS, SANDBOX], [OTHER_REGION]) == "op-1"
    stub.assert_no_pending_responses()  # every stubbed request was made


def test_one_account_is_named_through_its_ou_with_an_intersection(stubbed: Any) -> None:
    api, stub = stubbed
    stub.add_response("update_stack_instances", {"OperationId": "op-2"}, {
        "StackSetName": "orgguard-spoke",
        "CallAs": "DELEGATED_ADMIN",
        "DeploymentTargets": {
            "OrganizationalUnitIds": [SANDBOX],
            "Accounts": ["333333333333"],
            "AccountFilterType": "INTERSECTION",
        },
        "Regions": [HOME_REGION],
        "OperationPreferences": PREFERENCES,
    })
    assert api.update_instances([SANDBOX], [HOME_REGION], ["333333333333"]) == "op-2"
    stub.assert_no_pending_responses()  # every stubbed request was made


def test_sequential_regions_carry_their_order(aws_credentials: None) -> None:
    settings = offline_settings(region_concurrency="SEQUENTIAL", max_concurrent_percentage=25)
    api = StackSetApi(boto3.Session(region_name=HOME_REGION), settings, "SELF")
    with Stubber(api.cfn) as stub:
        stub.add_response("create_stack_instances", {"OperationId": "op-3"}, {
            "StackSetName": "orgguard-spoke",
            "CallAs": "SELF",
            "DeploymentTargets": {"OrganizationalUnitIds": [WORKLOADS]},
            "Regions": [OTHER_REGION, "eu-central-1"],
            "OperationPreferences": {**PREFERENCES, "RegionConcurrencyType": "SEQUENTIAL",
                                     "MaxConcurrentPercentage": 25,
                                     "RegionOrder": [OTHER_REGION, "eu-central-1"]},
        })
        api.create_instances([WORKLOADS], [OTHER_REGION, "eu-central-1"])
        stub.assert_no_pending_responses()


def test_operation_in_progress_says_to_wait(stubbed: Any) -> None:
    api, stub = stubbed
    stub.add_client_error("create_stack_instances", "OperationInProgressException",
                          "Another Operation on StackSet arn:... is in progress")
    with pytest.raises(RolloutError, match="still running: wait for it to finish"):
        api.create_instances([WORKLOADS], [HOME_REGION])
    stub.assert_no_pending_responses()  # every stubbed request was made


def test_trusted_access_refusal_says_how_to_enable_it(stubbed: Any) -> None:
    api, stub = stubbed
    stub.add_client_error("create_stack_set", "ValidationError",
                          "You must enable organizations access to operate a service managed stack set")
    with pytest.raises(RolloutError, match="activate-organizations-access"):
        api.create("Resources: {}", {}, "the roles")
    stub.assert_no_pending_responses()  # every stubbed request was made


def _fail_one_instance(account: str, region: str, reason: str) -> Any:
    """An after-call hook: moto reports every instance CURRENT; this one becomes a failed create."""

    def hook(parsed: dict[str, Any], **_: Any) -> None:
        for summary in parsed.get("Summaries", []):
            if (summary["Account"], summary["Region"]) == (account, region):
                summary.update(Status="OUTDATED", StatusReason=reason,
                               StackInstanceStatus={"DetailedStatus": "FAILED"})

    return hook


def test_failed_instance_is_reported_then_retried_with_retry_failed(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization)
    rollout = Rollout(management_session, settings, "SELF", make_waiter=quick_waiter)
    failing = organization.account("app-2")
    reason = "ResourceLogicalId:ForwardRule, ResourceStatusReason: Rate exceeded"
    hook = _fail_one_instance(failing, OTHER_REGION, reason)
    management_session.events.register("after-call.cloudformation.ListStackInstances", hook)

    first = rollout.run()

    assert not first.ok
    (failed,) = first.failed_instances
    assert (failed.account, failed.region, failed.reason) == (failing, OTHER_REGION, reason)

    updates: list[dict[str, Any]] = []
    management_session.events.register(
        "provide-client-params.cloudformation.UpdateStackInstances", lambda params, **_: updates.append(params))
    management_session.events.unregister("after-call.cloudformation.ListStackInstances", hook)
    retried = rollout.run(retry_failed=False)
    assert updates == [] and retried.ok  # nothing failed any more: nothing to retry

    management_session.events.register("after-call.cloudformation.ListStackInstances", hook)
    rollout.run(retry_failed=True)
    (update,) = updates
    assert update["DeploymentTargets"] == {
        "OrganizationalUnitIds": [organization.ou("Workloads")],
        "Accounts": [failing],
        "AccountFilterType": "INTERSECTION",
    }
    assert update["Regions"] == [OTHER_REGION]


def _failed(account: str, region: str) -> Instance:
    return Instance(account, region, "OUTDATED", "FAILED", "Rate exceeded", "NOT_CHECKED", WORKLOADS)


def test_retries_never_put_the_home_region_into_one_operation_with_another() -> None:
    accounts = ["333333333333", "444444444444"]
    failed = [_failed(a, r) for a in accounts for r in (OTHER_REGION, HOME_REGION, "eu-central-1")]
    failed.append(_failed("555555555555", "eu-central-1"))

    # The same accounts failed everywhere: one group for the home region, first, and one for the rest.
    assert retry_groups(failed[:-1], HOME_REGION) == [
        ([HOME_REGION], accounts), (["eu-central-1", OTHER_REGION], accounts)]
    assert retry_groups(failed, HOME_REGION) == [
        ([HOME_REGION], accounts), (["eu-central-1"], [*accounts, "555555555555"]), ([OTHER_REGION], accounts)]


def test_retry_of_an_account_failed_in_every_region_runs_the_home_region_first(
    organization: FakeOrganization, management_session: boto3.Session
) -> None:
    settings = settings_for(organization)
    rollout = Rollout(management_session, settings, "SELF", make_waiter=quick_waiter)
    rollout.run()
    failing = organization.account("app-3")
    for region in (HOME_REGION, OTHER_REGION):
        management_session.events.register("after-call.cloudformation.ListStackInstances",
                                           _fail_one_instance(failing, region, "Rate exceeded"))
    updates: list[dict[str, Any]] = []
    management_session.events.register(
        "provide-client-params.cloudformation.UpdateStackInstances", lambda params, **_: updates.append(params))

    rollout.run(retry_failed=True)

    assert [(u["StackSetName"], u["Regions"]) for u in updates] == [
        ("orgguard-spoke-global", [HOME_REGION]), ("orgguard-spoke", [HOME_REGION]),
        ("orgguard-spoke", [OTHER_REGION])]
    assert all(u["DeploymentTargets"]["Accounts"] == [failing] for u in updates)
