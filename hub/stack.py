"""The hub stack (DESIGN §7): bus, one rule and Lambda per registry policy, alerts, audit table, reconcile.

Everything policy-shaped comes from ``handlers.registry`` and every name the handlers read comes from
``handlers.contract``, so the stack cannot drift from the code it runs. The stack composes its parts, built
in this order (construct order is template order): ``core_resources`` (parameter, bus, topic, table),
``permissions`` (roles), ``functions`` and ``rules`` (one route per policy, the canary), ``reconcile``; names
and logical ids come from ``names``; the outputs are built here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from handlers import contract
from handlers.guardrails.base import Guardrail
from handlers.registry import REMEDIATION_ROLE_NAME, guardrails, hub_rule_pattern
from handlers.settings import Settings
from hub import core_resources, permissions
from hub.digest import digest
from hub.functions import check_settings_size, environment, function
from hub.names import CANARY, dlq_output
from hub.reconcile import reconcile
from hub.route import Route
from hub.rules import rule


class OrgGuardHubStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, asset_dir: Path,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id,
                         description="OrgGuard hub: organization bus, guardrail Lambdas, alerts and audit",
                         **kwargs)
        self.settings = settings
        check_settings_size(settings)
        self.code = lambda_.Code.from_asset(str(asset_dir))
        self.dead_letter_queues: dict[str, sqs.Queue] = {}  # logical id -> queue
        self.routes: dict[str, Route] = {}

        self.organization_id = core_resources.organization_id_parameter(self)
        self.bus, self.bus_ref = core_resources.bus(self)
        self.topic = core_resources.topic(self)
        self.table = core_resources.table(self)
        self.handler_role = permissions.handler_role(self)

        for policy in guardrails():
            self._policy_route(policy)
        self._canary_route()
        self.reconcile_start_role, self.reconcile_queue = reconcile(self)
        self.digest_role = digest(self)
        self._outputs()

    def _policy_route(self, policy: Guardrail) -> None:
        handler, failures = function(self, policy.id, policy.lambda_handler, environment(self, policy.id),
                                     role=self.handler_role)
        policy_rule, dlq = rule(self, policy.id, handler, pattern=hub_rule_pattern(policy))
        self.routes[policy.id] = Route(policy.id, handler, failures, policy_rule, dlq)

    def _canary_route(self) -> None:
        handler, failures = function(self, CANARY, "handlers.adapters.canary.handler", environment(self),
                                     role=self.handler_role)
        canary_rule, dlq = rule(self, CANARY, handler, pattern={"source": [contract.CANARY_SOURCE]})
        self.routes[CANARY] = Route(CANARY, handler, failures, canary_rule, dlq)

    def _outputs(self) -> None:
        CfnOutput(self, "BusArn", value=self.bus.attr_arn, description="the hub bus spokes forward to")
        CfnOutput(self, "BusName", value=self.bus.attr_name)
        CfnOutput(self, "TopicArn", value=self.topic.topic_arn, description="alerts and notifications")
        CfnOutput(self, "TableName", value=self.table.table_name, description="audit and idempotency table")
        CfnOutput(self, "HandlerRoleArn", value=self.handler_role.role_arn,
                  description=f"the role every member's {REMEDIATION_ROLE_NAME} trusts")
        CfnOutput(self, "CanaryFunctionName", value=self.routes[CANARY].function.function_name)
        CfnOutput(self, "ReconcileQueueUrl", value=self.reconcile_queue.queue_url)
        for logical_id, queue in self.dead_letter_queues.items():
            CfnOutput(self, dlq_output(logical_id), value=queue.queue_url,
                      description=f"dead letters: {logical_id}")
