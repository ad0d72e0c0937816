"""The hub stack (DESIGN §7): bus, one rule and Lambda per registry policy, alerts, audit table, reconcile.

Everything policy-shaped comes from ``handlers.registry`` and every name the handlers read comes from
``handlers.contract``, so the stack cannot drift from the code it runs. Resources other tools look up in the
synthesized template (the sandbox, ``deploy.py status``) get stable logical ids, listed in ``LOGICAL_IDS``
and built by the ``*_id`` helpers below; outputs have stable names too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import (
    CfnOutput,
    CfnParameter,
    CfnResource,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from handlers import contract
from handlers.guardrails.base import Guardrail
from handlers.registry import REMEDIATION_ROLE_NAME, guardrails, hub_rule_pattern
from handlers.settings import Settings

NAME_PREFIX = "orgguard-"
ORGANIZATION_ID_PARAMETER = "OrganizationId"
ORGANIZATION_ID_PATTERN = "^o-[a-z0-9]{10,32}$"

CANARY = "canary"
RECONCILE_START = "reconcile-start"
RECONCILE_WORKER = "reconcile-worker"
DIGEST = "digest"
# The storm digests (handlers.digest) go out within this long after their window ends.
DIGEST_SCHEDULE = "rate(5 minutes)"
# What the digest does with the audit table: read the due and window items and the folded events' records,
# and mark the windows' digests (handlers.digest). Nothing else.
DIGEST_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem")

# The rule targets invoke Lambda asynchronously, so EventBridge only retries while it cannot hand the event
# over (throttling, a function being updated); keep trying as long as EventBridge allows (both maxima)
# before giving up to the DLQ. Non-retryable failures (a deleted function, missing permission) skip the
# retries and go straight to the DLQ, whose alarm tells the admins.
TARGET_MAX_EVENT_AGE = Duration.hours(24)
TARGET_RETRY_ATTEMPTS = 185
# Lambda's own retries of a failed invocation before the on-failure destination (the maximum, 2).
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(6)
DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time to fix the cause and redrive
ALARM_PERIOD = Duration.minutes(5)
# One reconcile worker sweeps one account and region: give it Lambda's full 15 minutes; the start Lambda
# pages through the organization's accounts, which takes long only for very large organizations.
RECONCILE_TIMEOUT = Duration.minutes(15)
RECONCILE_MAX_RECEIVE_COUNT = 3
# AWS recommends a visibility timeout of six times the consuming function's timeout.
RECONCILE_VISIBILITY_TIMEOUT = Duration.minutes(15 * 6)
# Lambda allows 4 KB of environment in total; leave room for the table name, topic ARN and queue URL.
MAX_SETTINGS_JSON_BYTES = 3072

# What the handlers do with the audit table (handlers.audit; the reconcile worker writes in batches).
AUDIT_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:Query",
)

# Stable logical ids of the resources other tools look up in the template.
LOGICAL_IDS = {
    "bus": "HubBus",
    "bus_policy": "HubBusPolicy",
    "topic": "AlertsTopic",
    "table": "AuditTable",
    "handler_role": "HandlerRole",
    "reconcile_start_role": "ReconcileStartRole",
    "reconcile_queue": "ReconcileQueue",
    "reconcile_worker_event_source": "ReconcileWorkerEventSource",
    "digest_role": "DigestRole",
}


def pascal(name: str) -> str:
    """``vpc-created`` -> ``VpcCreated``: the per-policy part of logical ids and output names."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-") if part)


def function_id(name: str) -> str:
    return f"Function{pascal(name)}"


def rule_id(name: str) -> str:
    return f"Rule{pascal(name)}"


def dlq_id(name: str) -> str:
    """The rule target's dead-letter queue (the event never reached the Lambda)."""
    return f"Dlq{pascal(name)}"


def failures_id(name: str) -> str:
    """The Lambda's on-failure destination (the Lambda ran and failed after its retries)."""
    return f"Dlq{pascal(name)}Failures"


def dlq_output(queue_logical_id: str) -> str:
    """Every queue that holds lost work has an output ``DlqUrl...`` (``deploy.py status`` lists them)."""
    return "DlqUrl" + queue_logical_id.removeprefix("Dlq")


def function_name(name: str) -> str:
    return NAME_PREFIX + name


def rule_name(name: str) -> str:
    return NAME_PREFIX + name


def _logical_id(construct: Construct, logical_id: str) -> CfnResource:
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to name {logical_id}")
    child.override_logical_id(logical_id)
    return child


@dataclass(frozen=True)
class Route:
    """One name's Lambda with what feeds it and where its failures go."""

    name: str
    function: lambda_.Function
    failures: sqs.Queue | None
    rule: events.Rule | None
    dlq: sqs.Queue | None


class OrgGuardHubStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, asset_dir: Path,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id,
                         description="OrgGuard hub: organization bus, guardrail Lambdas, alerts and audit",
                         **kwargs)
        self.settings = settings
        self._check_settings_size()
        self.code = lambda_.Code.from_asset(str(asset_dir))
        self.dead_letter_queues: dict[str, sqs.Queue] = {}  # logical id -> queue
        self.routes: dict[str, Route] = {}

        self.organization_id = self._organization_id_parameter()
        self.bus, self.bus_ref = self._bus()
        self.topic = self._topic()
        self.table = self._table()
        self.handler_role = self._handler_role()

        for policy in guardrails():
            self._policy_route(policy)
        self._canary_route()
        self.reconcile_start_role, self.reconcile_queue = self._reconcile()
        self.digest_role = self._digest()
        self._outputs()

    # -- settings ---------------------------------------------------------------------------------------

    def _check_settings_size(self) -> None:
        size = len(self.settings.to_json().encode())
        if size > MAX_SETTINGS_JSON_BYTES:
            raise ValueError(
                f"the settings are {size} bytes as JSON; the Lambdas receive them in their environment, "
                f"which allows about {MAX_SETTINGS_JSON_BYTES} bytes for them: shorten "
                "organization.account_names or other long lists")

    def _environment(self, policy_id: str | None = None, **extra: str) -> dict[str, str]:
        environment = {
            contract.ENV_SETTINGS: self.settings.to_json(),
            contract.ENV_AUDIT_TABLE: self.table.table_name,
            contract.ENV_TOPIC_ARN: self.topic.topic_arn,
        }
        if policy_id is not None:
            environment[contract.ENV_POLICY] = policy_id
        environment.update(extra)
        return environment

    # -- bus, topic, table --------------------------------------------------------------------------------

    def _organization_id_parameter(self) -> CfnParameter:
        default = self.settings.organization.organization_id
        parameter = CfnParameter(
            self, ORGANIZATION_ID_PARAMETER,
            type="String",
            allowed_pattern=ORGANIZATION_ID_PATTERN,
            constraint_description="an AWS Organizations id such as o-a1b2c3d4e5",
            description="The organization whose accounts may put events on the hub bus and whose "
                        f"{REMEDIATION_ROLE_NAME} roles the hub Lambdas may assume",
            default=default or None,  # without one, the deploy must pass it (`deploy.py hub` does)
        )
        parameter.override_logical_id(ORGANIZATION_ID_PARAMETER)
        return parameter

    def _bus(self) -> tuple[events.CfnEventBus, events.IEventBus]:
        bus = events.CfnEventBus(self, LOGICAL_IDS["bus"], name=self.settings.hub.bus_name)
        bus.override_logical_id(LOGICAL_IDS["bus"])
        policy = events.CfnEventBusPolicy(
            self, LOGICAL_IDS["bus_policy"],
            event_bus_name=bus.attr_name,
            statement_id="OrgGuardPutEventsFromOrganization",
            statement={
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": bus.attr_arn,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": self.organization_id.value_as_string}},
            },
        )
        policy.override_logical_id(LOGICAL_IDS["bus_policy"])
        # Rules name the bus through GetAtt Name rather than Ref (moto's CloudFormation crashes on a Ref
        # to an event bus; both resolve to the name on AWS).
        bus_ref = events.EventBus.from_event_bus_attributes(
            self, "HubBusReference", event_bus_arn=bus.attr_arn, event_bus_name=bus.attr_name,
            event_bus_policy="")
        return bus, bus_ref

    def _topic(self) -> sns.Topic:
        topic = sns.Topic(self, LOGICAL_IDS["topic"], topic_name=self.settings.hub.topic_name,
                          display_name="OrgGuard", enforce_ssl=True)
        _logical_id(topic, LOGICAL_IDS["topic"])
        # A topic policy replaces SNS's default one, so the DLQ alarms need their own statement.
        topic.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowOrgGuardAlarms",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": self.account},
                "ArnLike": {"aws:SourceArn": f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}"
                                             f":alarm:{NAME_PREFIX}*"},
            },
        ))
        for email in self.settings.notifications.emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _table(self) -> dynamodb.Table:
        table = dynamodb.Table(
            self, LOGICAL_IDS["table"],
            table_name=self.settings.hub.table_name,
            partition_key=dynamodb.Attribute(name=contract.TABLE_PARTITION_KEY,
                                             type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=contract.TABLE_TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            # The audit record outlives the stack: `destroy --hub` leaves it for the auditors.
            removal_policy=RemovalPolicy.RETAIN,
        )
        table.add_global_secondary_index(
            index_name=contract.TABLE_ACCOUNT_INDEX,
            partition_key=dynamodb.Attribute(name=contract.TABLE_ACCOUNT_INDEX_PARTITION,
                                             type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=contract.TABLE_ACCOUNT_INDEX_SORT,
                                        type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        _logical_id(table, LOGICAL_IDS["table"])
        return table

    # -- roles ----------------------------------------------------------------------------------------------

    def remediation_role_arn_pattern(self) -> str:
        """``OrgGuardRemediation`` in any account: member accounts are unknown when the hub is synthesized."""
        return f"arn:{self.partition}:iam::*:role/{REMEDIATION_ROLE_NAME}"

    def _handler_role(self) -> iam.Role:
        role = iam.Role(
            self, LOGICAL_IDS["handler_role"],
            role_name=contract.HUB_HANDLER_ROLE_NAME,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="OrgGuard hub Lambdas: the one principal member accounts' OrgGuardRemediation trusts",
        )
        _logical_id(role, LOGICAL_IDS["handler_role"])
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="AssumeRemediationRoleInsideOrganization",
            actions=["sts:AssumeRole"],
            resources=[self.remediation_role_arn_pattern()],
            conditions={"StringEquals": {"aws:ResourceOrgID": self.organization_id.value_as_string}},
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="AuditTable",
            actions=list(AUDIT_TABLE_ACTIONS),
            resources=[self.table.table_arn, self.account_index_arn()],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="PublishAlerts", actions=["sns:Publish"], resources=[self.topic.topic_arn]))
        # Account names in notifications (a courtesy: the handlers carry on without them). Organizations
        # answers only a delegated administrator, see _reconcile_start_role.
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="DescribeMemberAccounts", actions=["organizations:DescribeAccount"],
            resources=[self.member_account_arns()]))
        return role

    def account_index_arn(self) -> str:
        return f"{self.table.table_arn}/index/{contract.TABLE_ACCOUNT_INDEX}"

    def _organizations_arn(self, kind: str, suffix: str) -> str:
        management = self.settings.organization.management_account
        return (f"arn:{self.partition}:organizations::{management}:{kind}/"
                f"{self.organization_id.value_as_string}/{suffix}")

    def member_account_arns(self) -> str:
        """Every account of this organization (account ids are not known at synth time)."""
        return self._organizations_arn("account", "*")

    def organizations_read_resources(self) -> dict[str, list[str]]:
        """Organizations read calls of the reconcile start, each on the narrowest resources it supports."""
        parents = [self._organizations_arn("root", "r-*"), self._organizations_arn("ou", "ou-*")]
        return {
            # ListAccounts has no resource-level permissions.
            "organizations:ListAccounts": ["*"],
            "organizations:ListAccountsForParent": parents,
            "organizations:ListChildren": parents,
            "organizations:DescribeAccount": [self.member_account_arns()],
        }

    def _reconcile_start_role(self, queue: sqs.Queue) -> iam.Role:
        role = iam.Role(
            self, LOGICAL_IDS["reconcile_start_role"],
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="OrgGuard scheduled reconcile: lists the organization's accounts and queues the work",
        )
        _logical_id(role, LOGICAL_IDS["reconcile_start_role"])
        # Organizations answers these calls only in the management account or a delegated administrator:
        # the hub account must be registered as a delegated administrator (for example of a service such
        # as CloudFormation StackSets) for the scheduled reconcile to list the organization's accounts.
        for action, resources in self.organizations_read_resources().items():
            role.add_to_principal_policy(iam.PolicyStatement(
                sid=action.split(":")[1], actions=[action], resources=resources))
        queue.grant_send_messages(role)
        return role

    # -- Lambdas and their routes -------------------------------------------------------------------------

    def _queue(self, logical_id: str, queue_name: str, *, alarmed: bool = True,
               **kwargs: Any) -> sqs.Queue:
        queue = sqs.Queue(
            self, logical_id,
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            **kwargs,
        )
        _logical_id(queue, logical_id)
        if alarmed:
            self.dead_letter_queues[logical_id] = queue
            alarm = cloudwatch.Alarm(
                self, f"Alarm{logical_id}",
                alarm_name=f"{queue_name}-not-empty",
                alarm_description=f"OrgGuard: messages are waiting in {queue_name}; something was not "
                                  "handled. Fix the cause, then `python deploy.py redrive`.",
                metric=queue.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD,
                                                                           statistic="Maximum"),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        return queue

    def _function(self, name: str, handler: str, environment: dict[str, str], *, role: iam.Role,
                  timeout: Duration | None = None, asynchronous: bool = True) -> tuple[lambda_.Function,
                                                                                       sqs.Queue | None]:
        log_group = logs.LogGroup(
            self, f"LogGroup{pascal(name)}",
            log_group_name=f"/aws/lambda/{function_name(name)}",
            removal_policy=RemovalPolicy.DESTROY,
        )
        _logical_id(log_group, f"LogGroup{pascal(name)}").add_property_override(
            "RetentionInDays", log_retention_days(self.settings.hub.log_retention_days))
        failures = None
        if asynchronous:
            failures = self._queue(failures_id(name), f"{function_name(name)}-failures",
                                   retention_period=DLQ_RETENTION)
        function = lambda_.Function(
            self, function_id(name),
            function_name=function_name(name),
            handler=handler,
            runtime=lambda_.Runtime.PYTHON_3_12,
            code=self.code,
            role=role,
            environment=environment,
            memory_size=self.settings.hub.lambda_memory_mb,
            timeout=timeout or Duration.seconds(self.settings.hub.lambda_timeout_seconds),
            log_group=log_group,
            # Structured logs at INFO: Lambda's default application level would drop the handlers' INFO lines.
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            on_failure=destinations.SqsDestination(failures) if failures is not None else None,
            retry_attempts=ASYNC_RETRY_ATTEMPTS if failures is not None else None,
            max_event_age=ASYNC_MAX_EVENT_AGE if failures is not None else None,
        )
        _logical_id(function, function_id(name))
        log_group.grant_write(role)
        return function, failures

    def _rule(self, name: str, function: lambda_.Function, *, pattern: dict[str, Any] | None = None,
              schedule: str | None = None, on_hub_bus: bool = True) -> tuple[events.Rule, sqs.Queue]:
        dlq = self._queue(dlq_id(name), f"{function_name(name)}-dlq", retention_period=DLQ_RETENTION)
        rule = events.Rule(
            self, rule_id(name),
            rule_name=rule_name(name),
            description=f"OrgGuard: {name}",
            event_bus=self.bus_ref if on_hub_bus else None,
            event_pattern=_event_pattern(pattern) if pattern is not None else None,
            schedule=events.Schedule.expression(schedule) if schedule else None,
        )
        rule.add_target(targets.LambdaFunction(
            function, dead_letter_queue=dlq, max_event_age=TARGET_MAX_EVENT_AGE,
            retry_attempts=TARGET_RETRY_ATTEMPTS))
        _logical_id(rule, rule_id(name))
        return rule, dlq

    def _policy_route(self, policy: Guardrail) -> None:
        function, failures = self._function(policy.id, policy.lambda_handler, self._environment(policy.id),
                                            role=self.handler_role)
        rule, dlq = self._rule(policy.id, function, pattern=hub_rule_pattern(policy))
        self.routes[policy.id] = Route(policy.id, function, failures, rule, dlq)

    def _canary_route(self) -> None:
        function, failures = self._function(CANARY, "handlers.canary.handler", self._environment(),
                                            role=self.handler_role)
        rule, dlq = self._rule(CANARY, function, pattern={"source": [contract.CANARY_SOURCE]})
        self.routes[CANARY] = Route(CANARY, function, failures, rule, dlq)

    def _reconcile(self) -> tuple[iam.Role, sqs.Queue]:
        worker_dlq = self._queue(dlq_id(RECONCILE_WORKER), f"{function_name(RECONCILE_WORKER)}-dlq",
                                 retention_period=DLQ_RETENTION)
        queue = self._queue(
            LOGICAL_IDS["reconcile_queue"], f"{NAME_PREFIX}reconcile", alarmed=False,
            visibility_timeout=RECONCILE_VISIBILITY_TIMEOUT,
            retention_period=Duration.days(1),
            dead_letter_queue=sqs.DeadLetterQueue(queue=worker_dlq,
                                                  max_receive_count=RECONCILE_MAX_RECEIVE_COUNT),
        )
        start_role = self._reconcile_start_role(queue)

        # The worker queues a continuation of an account-region it could not finish in its time.
        worker, _ = self._function(RECONCILE_WORKER, "handlers.reconcile.worker_handler",
                                   self._environment(**{contract.ENV_RECONCILE_QUEUE_URL: queue.queue_url}),
                                   role=self.handler_role, timeout=RECONCILE_TIMEOUT, asynchronous=False)
        queue.grant_send_messages(self.handler_role)
        # A bounded number of workers at once, so a large organization's fan-out cannot use up the account's
        # Lambda concurrency the guardrails need.
        source = event_sources.SqsEventSource(queue, batch_size=1,
                                              max_concurrency=self.settings.hub.reconcile_max_concurrency)
        worker.add_event_source(source)
        mapping = next(c for c in worker.node.children if isinstance(c, lambda_.EventSourceMapping))
        _logical_id(mapping, LOGICAL_IDS["reconcile_worker_event_source"])
        self.routes[RECONCILE_WORKER] = Route(RECONCILE_WORKER, worker, None, None, worker_dlq)

        start, start_failures = self._function(
            RECONCILE_START, "handlers.reconcile.start_handler",
            self._environment(**{contract.ENV_RECONCILE_QUEUE_URL: queue.queue_url}),
            role=start_role, timeout=RECONCILE_TIMEOUT)
        rule = dlq = None
        if self.settings.hub.reconcile_schedule:
            rule, dlq = self._rule(RECONCILE_START, start, schedule=self.settings.hub.reconcile_schedule,
                                   on_hub_bus=False)
        self.routes[RECONCILE_START] = Route(RECONCILE_START, start, start_failures, rule, dlq)
        return start_role, queue

    def _digest(self) -> iam.Role:
        """The storm digests (handlers.digest): a schedule, and a role that can only read and mark the audit
        table's items and publish to the topic."""
        role = iam.Role(self, LOGICAL_IDS["digest_role"], assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description="OrgGuard storm digests: reads folded outcomes, publishes one digest per window")
        _logical_id(role, LOGICAL_IDS["digest_role"])
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="DigestAuditTable", actions=list(DIGEST_TABLE_ACTIONS), resources=[self.table.table_arn]))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="PublishDigests", actions=["sns:Publish"], resources=[self.topic.topic_arn]))
        function, failures = self._function(DIGEST, "handlers.digest.handler", self._environment(), role=role)
        rule, dlq = self._rule(DIGEST, function, schedule=DIGEST_SCHEDULE, on_hub_bus=False)
        self.routes[DIGEST] = Route(DIGEST, function, failures, rule, dlq)
        return role

    # -- outputs --------------------------------------------------------------------------------------------

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


# The retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_CHOICES = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                         2557, 2922, 3288, 3653)


def log_retention_days(days: int) -> int:
    """The shortest retention CloudWatch Logs accepts that keeps logs at least ``days`` days."""
    return next((d for d in LOG_RETENTION_CHOICES if d >= days), LOG_RETENTION_CHOICES[-1])


_PATTERN_FIELDS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}


def _event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    unknown = sorted(set(pattern) - set(_PATTERN_FIELDS))
    if unknown:
        raise ValueError(f"event pattern has fields the hub cannot express: {', '.join(unknown)}")
    return events.EventPattern(**{_PATTERN_FIELDS[k]: v for k, v in pattern.items()})
