"""The hub's IAM: the handler role every member trusts, the reconcile start role, and the ARNs they name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

from handlers import contract
from handlers.registry import REMEDIATION_ROLE_NAME
from hub.logical_id import set_logical_id
from hub.names import LOGICAL_IDS

if TYPE_CHECKING:
    from hub.stack import OrgGuardHubStack

# What the handlers do with the audit table (handlers.audit; the reconcile worker writes in batches).
AUDIT_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:Query",
)


def remediation_role_arn_pattern(hub: OrgGuardHubStack) -> str:
    """``OrgGuardRemediation`` in any account: member accounts are unknown when the hub is synthesized."""
    return f"arn:{hub.partition}:iam::*:role/{REMEDIATION_ROLE_NAME}"


def account_index_arn(hub: OrgGuardHubStack) -> str:
    return f"{hub.table.table_arn}/index/{contract.TABLE_ACCOUNT_INDEX}"


def _organizations_arn(hub: OrgGuardHubStack, kind: str, suffix: str) -> str:
    management = hub.settings.organization.management_account
    return (f"arn:{hub.partition}:organizations::{management}:{kind}/"
            f"{hub.organization_id.value_as_string}/{suffix}")


def member_account_arns(hub: OrgGuardHubStack) -> str:
    """Every account of this organization (account ids are not known at synth time)."""
    return _organizations_arn(hub, "account", "*")


def organizations_read_resources(hub: OrgGuardHubStack) -> dict[str, list[str]]:
    """Organizations read calls of the reconcile start, each on the narrowest resources it supports."""
    parents = [_organizations_arn(hub, "root", "r-*"), _organizations_arn(hub, "ou", "ou-*")]
    return {
        # ListAccounts has no resource-level permissions.
        "organizations:ListAccounts": ["*"],
        "organizations:ListAccountsForParent": parents,
        "organizations:ListOrganizationalUnitsForParent": parents,
        "organizations:DescribeAccount": [member_account_arns(hub)],
    }


def handler_role(hub: OrgGuardHubStack) -> iam.Role:
    role = iam.Role(
        hub, LOGICAL_IDS["handler_role"],
        role_name=contract.HUB_HANDLER_ROLE_NAME,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description="OrgGuard hub Lambdas: the one principal member accounts' OrgGuardRemediation trusts",
    )
    set_logical_id(role, LOGICAL_IDS["handler_role"])
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="AssumeRemediationRoleInsideOrganization",
        actions=["sts:AssumeRole"],
        resources=[remediation_role_arn_pattern(hub)],
        conditions={"StringEquals": {"aws:ResourceOrgID": hub.organization_id.value_as_string}},
    ))
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="AuditTable",
        actions=list(AUDIT_TABLE_ACTIONS),
        resources=[hub.table.table_arn, account_index_arn(hub)],
    ))
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="PublishAlerts", actions=["sns:Publish"], resources=[hub.topic.topic_arn]))
    # Account names in notifications (a courtesy: the handlers carry on without them). Organizations
    # answers only a delegated administrator, see reconcile_start_role.
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="DescribeMemberAccounts", actions=["organizations:DescribeAccount"],
        resources=[member_account_arns(hub)]))
    return role


def reconcile_start_role(hub: OrgGuardHubStack, queue: sqs.Queue) -> iam.Role:
    role = iam.Role(
        hub, LOGICAL_IDS["reconcile_start_role"],
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description="OrgGuard scheduled reconcile: lists the organization's accounts and queues the work",
    )
    set_logical_id(role, LOGICAL_IDS["reconcile_start_role"])
    # Organizations answers these calls only in the management account or a delegated administrator:
    # the hub account must be registered as a delegated administrator (for example of a service such
    # as CloudFormation StackSets) for the scheduled reconcile to list the organization's accounts.
    for action, resources in organizations_read_resources(hub).items():
        role.add_to_principal_policy(iam.PolicyStatement(
            sid=action.split(":")[1], actions=[action], resources=resources))
    queue.grant_send_messages(role)
    return role
