"""The service control policy that keeps a member account from switching its spoke off.

A member account's administrator can otherwise delete ``OrgGuardRemediation``, edit its trust, disable
``orgguard-forward``, point it elsewhere, or delete or purge the spoke's dead-letter queue. This policy
denies every change to those resources, whose names come from the registry and the contract, to every
principal of the accounts it is attached to except the StackSets execution role: service-managed StackSets
create a role named ``stacksets-exec-*`` in each target account and make every stack change through it
("Configure a custom execution role template for StackSets", AWS CloudFormation User Guide), so the spoke
can still be deployed, updated and removed. A custom execution role template would change that name.

Reads (and the redrive's ReceiveMessage/DeleteMessage) stay allowed. SCPs do not apply to the management
account, so its plain spoke stacks are not protected by this. ``orgguard stackset --protect`` attaches the
policy to the target OUs (``stacksets.protection``).
"""

from __future__ import annotations

import json
from typing import Any

from handlers.contract import CANARY_RULE_NAME, FORWARD_DLQ_ALARM_NAME, FORWARD_DLQ_NAME
from handlers.registry import FORWARD_RULE_NAME, FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from spoke.render import partition_for_region

POLICY_NAME = "OrgGuardSpokeProtection"
POLICY_DESCRIPTION = "OrgGuard: only the StackSets execution role may change the OrgGuard spoke's roles, rules, queues"
STACKSETS_EXECUTION_ROLE = "stacksets-exec-*"
MAX_CHARACTERS = 5120  # the size limit of a service control policy (AWS Organizations quotas)

ROLE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",  # a role made first under the name would trust its maker and block the spoke (name taken)
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
RULE_ACTIONS = (
    "events:DeleteRule",
    "events:DisableRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
)
QUEUE_ACTIONS = (
    "sqs:AddPermission",
    "sqs:CreateQueue",  # same reason as iam:CreateRole
    "sqs:DeleteQueue",
    "sqs:PurgeQueue",
    "sqs:RemovePermission",
    "sqs:SendMessage",  # only EventBridge (a service principal, which SCPs do not restrict) writes to it
    "sqs:SetQueueAttributes",
    "sqs:StartMessageMoveTask",
)
ALARM_ACTIONS = (
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DisableAlarmActions",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:SetAlarmState",
)
# Changes to those resources the policy leaves allowed, each with the reason (tests hold every write action
# of IAM's service authorization reference on these resource types to one list or the other).
NOT_DENIED: dict[str, str] = {
    "iam:PassRole": "passing OrgGuardForwarder only lets a rule put events on the hub bus, which every principal "
                    "of the organization may do directly (bus policy aws:PrincipalOrgID); no service may assume "
                    "OrgGuardRemediation (its trust names the hub account only)",
    "iam:CreateServiceLinkedRole": "service-linked roles have names AWS chooses (AWSServiceRoleFor...)",
    "iam:DeleteServiceLinkedRole": "service-linked roles have names AWS chooses (AWSServiceRoleFor...)",
    "iam:TagRole": "no policy of OrgGuard reads role tags",
    "iam:UntagRole": "no policy of OrgGuard reads role tags",
    "events:EnableRule": "enabling the rules is what the spoke wants",
    "events:TagResource": "no policy of OrgGuard reads rule tags",
    "events:UntagResource": "no policy of OrgGuard reads rule tags",
    "sqs:ReceiveMessage": "read; `orgguard redrive` receives through the member access role",
    "sqs:ChangeMessageVisibility": "`orgguard redrive` needs it through the member access role",
    "sqs:DeleteMessage": "`orgguard redrive` deletes replayed messages through the member access role, which is "
                         "also the account administrator's: an administrator can still drain the queue",
    "sqs:CancelMessageMoveTask": "no one but the execution role can start a move task",
    "sqs:TagQueue": "no policy of OrgGuard reads queue tags",
    "sqs:UntagQueue": "no policy of OrgGuard reads queue tags",
    "cloudwatch:EnableAlarmActions": "enabling alarm actions is harmless (the alarm has none)",
    "cloudwatch:PutCompositeAlarm": "a composite alarm cannot take the alarm's name while the alarm exists",
    "cloudwatch:TagResource": "no policy of OrgGuard reads alarm tags",
    "cloudwatch:UntagResource": "no policy of OrgGuard reads alarm tags",
}


class ScpTooLargeError(ValueError):
    """The generated policy would exceed the service control policy size limit."""


def protection_policy(settings: Settings) -> dict[str, Any]:
    """The policy document, in the partition of the organization (that of the hub region)."""
    p = partition_for_region(settings.organization.hub_region)
    not_stacksets = {"ArnNotLike": {"aws:PrincipalArn": f"arn:{p}:iam::*:role/{STACKSETS_EXECUTION_ROLE}"}}

    def deny(sid: str, actions: tuple[str, ...], resources: list[str]) -> dict[str, Any]:
        return {"Sid": sid, "Effect": "Deny", "Action": sorted(actions), "Resource": resources,
                "Condition": not_stacksets}

    return {
        "Version": "2012-10-17",
        "Statement": [
            deny("OrgGuardRoles", ROLE_ACTIONS,
                 [f"arn:{p}:iam::*:role/{name}" for name in (FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME)]),
            deny("OrgGuardRules", RULE_ACTIONS,
                 [f"arn:{p}:events:*:*:rule/{name}" for name in (FORWARD_RULE_NAME, CANARY_RULE_NAME)]),
            deny("OrgGuardQueues", QUEUE_ACTIONS, [f"arn:{p}:sqs:*:*:{FORWARD_DLQ_NAME}"]),
            deny("OrgGuardAlarms", ALARM_ACTIONS, [f"arn:{p}:cloudwatch:*:*:alarm:{FORWARD_DLQ_ALARM_NAME}"]),
        ],
    }


def protection_policy_text(settings: Settings) -> str:
    """The policy as Organizations stores it: compact JSON (white space counts against the size limit)."""
    text = json.dumps(protection_policy(settings), separators=(",", ":"))
    if len(text) > MAX_CHARACTERS:
        raise ScpTooLargeError(f"the OrgGuard service control policy has {len(text)} characters, more than the "
                               f"{MAX_CHARACTERS} a service control policy may have")
    return text
