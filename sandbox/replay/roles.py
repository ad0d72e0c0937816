"""The roles a replayed event needs, exactly as the templates declare them: the hub's handler role and the spoke.

With IAM enforced, replay's hub acts as the hub Lambdas do (``OrgGuardHubHandler``, assumed by Lambda) and reaches
the member through its ``OrgGuardRemediation``. Both come from the templates OrgGuard deploys: the handler role
and its policies from the synthesized hub template (its references resolved to the names replay's hub uses), the
member's roles from the rendered global spoke, created by CloudFormation in the member account. Nothing is copied
by hand, so an action missing from a template is refused in replay as it would be on AWS.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from handlers.contract import HUB_HANDLER_ROLE_NAME
from handlers.settings import Settings
from sandbox.world.hub_synthesis import synthesize_hub
from sandbox.world.template import TemplateResolver
from spoke.render import render_spoke_global

HANDLER_ROLE = "HandlerRole"  # hub.stack.LOGICAL_IDS["handler_role"]
ORGANIZATION_ID_PARAMETER = "OrganizationId"
SPOKE_STACK = "orgguard-replay-spoke-global"
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]


class RoleSetupError(RuntimeError):
    """A template's roles could not be created in replay's embedded AWS."""


def predicted_physical_ids(template: dict[str, Any], account: str, region: str) -> dict[str, str]:
    """The physical id CloudFormation gives each named resource (the hub names all those its policies name)."""
    ids: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        kind = resource.get("Type", "")
        if kind == "AWS::SNS::Topic" and isinstance(properties.get("TopicName"), str):
            ids[logical_id] = f"arn:aws:sns:{region}:{account}:{properties['TopicName']}"
        elif kind == "AWS::SQS::Queue" and isinstance(properties.get("QueueName"), str):
            ids[logical_id] = f"https://sqs.{region}.amazonaws.com/{account}/{properties['QueueName']}"
        else:
            for name in ("TableName", "LogGroupName", "FunctionName", "RoleName", "Name"):
                if isinstance(properties.get(name), str):
                    ids[logical_id] = str(properties[name])
                    break
    return ids


def create_handler_role(hub_admin: boto3.Session, settings: Settings, organization_id: str) -> str:
    """``OrgGuardHubHandler`` with the trust and the policies of the synthesized hub template; returns its ARN."""
    org = settings.organization
    template, _ = synthesize_hub(settings)
    resolver = TemplateResolver(template, org.hub_account, org.hub_region,
                                physical_ids=predicted_physical_ids(template, org.hub_account, org.hub_region),
                                parameters={ORGANIZATION_ID_PARAMETER: organization_id})
    role = resolver.properties(HANDLER_ROLE)
    iam = hub_admin.client("iam")
    iam.create_role(RoleName=str(role.get("RoleName", HUB_HANDLER_ROLE_NAME)),
                    AssumeRolePolicyDocument=json.dumps(resolver.resolve(role["AssumeRolePolicyDocument"])))
    for policy in role.get("Policies", []):
        iam.put_role_policy(RoleName=HUB_HANDLER_ROLE_NAME, PolicyName=str(policy["PolicyName"]),
                            PolicyDocument=json.dumps(resolver.resolve(policy["PolicyDocument"])))
    for _, resource in resolver.of_type("AWS::IAM::Policy"):
        properties = resource.get("Properties", {})
        if {"Ref": HANDLER_ROLE} in properties.get("Roles", []):
            iam.put_role_policy(RoleName=HUB_HANDLER_ROLE_NAME, PolicyName=str(properties["PolicyName"]),
                                PolicyDocument=json.dumps(resolver.resolve(properties["PolicyDocument"])))
    return f"arn:aws:iam::{org.hub_account}:role/{HUB_HANDLER_ROLE_NAME}"


def create_spoke_roles(member_admin: boto3.Session, settings: Settings, timeout_seconds: float = 60.0) -> None:
    """The global spoke (OrgGuardForwarder, OrgGuardRemediation) in the member's home region, by CloudFormation."""
    region = settings.organization.spoke_home_region
    cfn = member_admin.client("cloudformation", region_name=region)
    cfn.create_stack(StackName=SPOKE_STACK, TemplateBody=render_spoke_global(settings), Capabilities=CAPABILITIES)
    deadline = time.monotonic() + timeout_seconds
    while True:
        stack = cfn.describe_stacks(StackName=SPOKE_STACK)["Stacks"][0]
        if stack["StackStatus"] == "CREATE_COMPLETE":
            return
        if not stack["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            raise RoleSetupError(f"the spoke's roles could not be created: {stack['StackStatus']} "
                                 f"{stack.get('StackStatusReason', '')}".rstrip())
        time.sleep(0.1)
