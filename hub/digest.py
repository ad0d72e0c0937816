"""The hub's storm digests (handlers.digest): a schedule, and a role that can only read and mark the audit
table's items and publish to the topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam

from hub.functions import environment, function
from hub.logical_id import set_logical_id
from hub.names import DIGEST, LOGICAL_IDS
from hub.route import Route
from hub.rules import rule

if TYPE_CHECKING:
    from hub.stack import OrgGuardHubStack

# The storm digests go out within this long after their window ends.
DIGEST_SCHEDULE = "rate(5 minutes)"
# What the digest does with the audit table: read the due and window items and the folded events' records,
# and mark the windows' digests. Nothing else.
DIGEST_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem")


def digest(hub: OrgGuardHubStack) -> iam.Role:
    role = iam.Role(hub, LOGICAL_IDS["digest_role"], assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description="OrgGuard storm digests: reads folded outcomes, publishes one digest per window")
    set_logical_id(role, LOGICAL_IDS["digest_role"])
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="DigestAuditTable", actions=list(DIGEST_TABLE_ACTIONS), resources=[hub.table.table_arn]))
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="PublishDigests", actions=["sns:Publish"], resources=[hub.topic.topic_arn]))
    handler, failures = function(hub, DIGEST, "handlers.digest.handler", environment(hub), role=role)
    digest_rule, dlq = rule(hub, DIGEST, handler, schedule=DIGEST_SCHEDULE, on_hub_bus=False)
    hub.routes[DIGEST] = Route(DIGEST, handler, failures, digest_rule, dlq)
    return role
