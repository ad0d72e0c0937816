"""The hub's shared resources: the organization id parameter, the bus and its policy, the alerts topic and
the audit table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnParameter, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from handlers import contract
from handlers.registry import REMEDIATION_ROLE_NAME
from hub.logical_id import set_logical_id
from hub.names import LOGICAL_IDS, NAME_PREFIX, ORGANIZATION_ID_PARAMETER, ORGANIZATION_ID_PATTERN

if TYPE_CHECKING:
    from hub.stack import OrgGuardHubStack


def organization_id_parameter(hub: OrgGuardHubStack) -> CfnParameter:
    default = hub.settings.organization.organization_id
    parameter = CfnParameter(
        hub, ORGANIZATION_ID_PARAMETER,
        type="String",
        allowed_pattern=ORGANIZATION_ID_PATTERN,
        constraint_description="an AWS Organizations id such as o-a1b2c3d4e5",
        description="The organization whose accounts may put events on the hub bus and whose "
                    f"{REMEDIATION_ROLE_NAME} roles the hub Lambdas may assume",
        default=default or None,  # without one, the deploy must pass it (`orgguard hub` does)
    )
    parameter.override_logical_id(ORGANIZATION_ID_PARAMETER)
    return parameter


def bus(hub: OrgGuardHubStack) -> tuple[events.CfnEventBus, events.IEventBus]:
    event_bus = events.CfnEventBus(hub, LOGICAL_IDS["bus"], name=hub.settings.hub.bus_name)
    event_bus.override_logical_id(LOGICAL_IDS["bus"])
    policy = events.CfnEventBusPolicy(
        hub, LOGICAL_IDS["bus_policy"],
        event_bus_name=event_bus.attr_name,
        statement_id="OrgGuardPutEventsFromOrganization",
        statement={
            "Effect": "Allow",
            "Principal": "*",
            "Action": "events:PutEvents",
            "Resource": event_bus.attr_arn,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": hub.organization_id.value_as_string}},
        },
    )
    policy.override_logical_id(LOGICAL_IDS["bus_policy"])
    # Rules name the bus through GetAtt Name rather than Ref (moto's CloudFormation crashes on a Ref
    # to an event bus; both resolve to the name on AWS).
    bus_ref = events.EventBus.from_event_bus_attributes(
        hub, "HubBusReference", event_bus_arn=event_bus.attr_arn, event_bus_name=event_bus.attr_name,
        event_bus_policy="")
    return event_bus, bus_ref


def topic(hub: OrgGuardHubStack) -> sns.Topic:
    alerts = sns.Topic(hub, LOGICAL_IDS["topic"], topic_name=hub.settings.hub.topic_name,
                       display_name="OrgGuard", enforce_ssl=True)
    set_logical_id(alerts, LOGICAL_IDS["topic"])
    # A topic policy replaces SNS's default one, so the DLQ alarms need their own statement.
    alerts.add_to_resource_policy(iam.PolicyStatement(
        sid="AllowOrgGuardAlarms",
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions=["sns:Publish"],
        resources=[alerts.topic_arn],
        conditions={
            "StringEquals": {"aws:SourceAccount": hub.account},
            "ArnLike": {"aws:SourceArn": f"arn:{hub.partition}:cloudwatch:{hub.region}:{hub.account}"
                                         f":alarm:{NAME_PREFIX}*"},
        },
    ))
    for email in hub.settings.notifications.emails:
        alerts.add_subscription(subscriptions.EmailSubscription(email))
    return alerts


def table(hub: OrgGuardHubStack) -> dynamodb.Table:
    audit = dynamodb.Table(
        hub, LOGICAL_IDS["table"],
        table_name=hub.settings.hub.table_name,
        partition_key=dynamodb.Attribute(name=contract.TABLE_PARTITION_KEY,
                                         type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        time_to_live_attribute=contract.TABLE_TTL_ATTRIBUTE,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True),
        # The audit record outlives the stack: `destroy --hub` leaves it for the auditors.
        removal_policy=RemovalPolicy.RETAIN,
    )
    audit.add_global_secondary_index(
        index_name=contract.TABLE_ACCOUNT_INDEX,
        partition_key=dynamodb.Attribute(name=contract.TABLE_ACCOUNT_INDEX_PARTITION,
                                         type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=contract.TABLE_ACCOUNT_INDEX_SORT,
                                    type=dynamodb.AttributeType.STRING),
        projection_type=dynamodb.ProjectionType.ALL,
    )
    set_logical_id(audit, LOGICAL_IDS["table"])
    return audit
