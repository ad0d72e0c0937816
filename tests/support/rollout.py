"""The StackSet tests' world on moto (rollout, onboarding, protection, migration, destroy, status, redrive): the
fixtures (``tests/functional/conftest.py`` offers them), moto's missing StackSet behaviour, a hub, and the
rollout's settings file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from handlers.settings import Settings

from . import moto_targets
from .moto_env import clean_environment, moto
from .organization import HOME_REGION, FakeOrganization, build_organization, session_in, settings_for, shared_session
from .settings_files import write_settings

# moto's CloudFormation warns of the spoke template's resources it cannot parse; every StackSet test module
# sets ``pytestmark = ROLLOUT_MARKS``.
ROLLOUT_MARKS = [pytest.mark.filterwarnings("ignore:Tried to parse AWS..SQS..QueuePolicy"),
                 pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudWatch..Alarm")]


def roll_out(session: boto3.Session, settings: Settings, call_as: str = "SELF", **options: Any) -> Any:
    """One rollout of the spoke, as ``orgguard stackset`` runs it, waiting without sleeping."""
    from stacksets.rollout import Rollout

    return Rollout(session, settings, call_as, make_waiter=quick_waiter).run(**options)


def settings_file(directory: Path, org: FakeOrganization, target_paths: Sequence[str] = ("Workloads",), /,
                  **sections: Any) -> Path:
    """The one settings file (TOML) a StackSet command reads for this organization: ``settings_for``'s settings
    (``sections`` override tables, ``organization={"include_management_account": True}``) written out."""
    return write_settings(directory, settings_for(org, target_paths, **sections))


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials of the management account; nothing from the developer's environment leaks in."""
    clean_environment(monkeypatch, tmp_path, HOME_REGION)


@pytest.fixture
def mocked_aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    moto_targets.install(monkeypatch)  # ListStackSetAutoDeploymentTargets, which moto lacks
    with moto(monkeypatch, tmp_path):
        yield


@pytest.fixture
def organization(mocked_aws: None) -> FakeOrganization:
    """The standard layout: Security(hub), Workloads(app-1) > Prod(app-2, app-3), Sandbox(sandbox-1)."""
    return build_organization()


@pytest.fixture
def management_session(mocked_aws: None) -> boto3.Session:
    return shared_session(HOME_REGION)


@pytest.fixture
def stackset_stub(management_session: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """Every ``StackSetApi`` gets this one CloudFormation client, stubbed with botocore's Stubber: the test lists
    the exact StackSet requests and their answers, in order; the organization, the accounts and the hub stay moto's."""
    import stacksets.api

    cfn = management_session.client("cloudformation")
    real = stacksets.api.client
    monkeypatch.setattr(stacksets.api, "client", lambda session, service, region=None: cfn
                        if service == "cloudformation" else real(session, service, region))
    with Stubber(cfn) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def stackset_updates_redeploy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's UpdateStackSet reach the deployed stacks, as CloudFormation does.

    moto 5.2.5 stores the new template on the StackSet but neither updates the instances' stacks nor
    uses it for instances created later (``StackInstances.template`` keeps the first one); and its stack
    update only follows ``Ref``, not ``${Param}`` inside ``Fn::Sub``. This stands in for CloudFormation's
    side by replacing each instance's stack with one built from the new template and parameters; the
    code under test makes the same calls as on AWS.
    """
    from moto.cloudformation.models import StackInstance, StackSet

    original = StackSet.update

    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        before = (self.template, dict(self.parameters))
        operation = original(self, *args, **kwargs)
        if (self.template, dict(self.parameters)) != before:
            self.instances.template = self.template
            self.instances.parameters = self.parameters
            replaced = []
            for old in self.instances.stack_instances:
                old.stack.delete()
                replaced.append(
                    StackInstance(
                        account_id=old.account_id,
                        region_name=old.region_name,
                        stackset_id=old.stackset_id,
                        stack_name=old.stack_name,
                        name=old.name,
                        template=self.template,
                        parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
                        permission_model=old.permission_model,
                    )
                )
            self.instances.stack_instances[:] = replaced
        return operation

    monkeypatch.setattr(StackSet, "update", update)


@pytest.fixture
def stackset_deletes_by_ou(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's DeleteStackInstances honour ``DeploymentTargets``, as CloudFormation does.

    moto 5.2.5 only reads the top-level ``Accounts`` (self-managed StackSets); a service-managed StackSet
    can only be addressed through OUs, so every delete would be a no-op. This resolves the OUs (nested
    ones included) to their accounts and deletes those instances; the code under test makes the same
    call as on AWS.
    """
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult
    from moto.organizations.models import organizations_backends

    original = CloudFormationResponse.delete_stack_instances

    def delete_stack_instances(self: Any) -> Any:
        targets = self._get_params().get("DeploymentTargets") or {}
        units = set(targets.get("OrganizationalUnitIds", []))
        if not units or self._get_param("Accounts"):
            return original(self)
        org = organizations_backends[self.current_account][self.partition]
        while True:
            nested = {ou.id for ou in org.ou if getattr(ou, "parent_id", None) in units} - units
            if not nested:
                break
            units |= nested
        accounts = [a.id for a in org.accounts if a.parent_id in units]
        name, regions = self._get_param("StackSetName"), self._get_param("Regions", [])
        stackset = self.cloudformation_backend.delete_stack_instances(name, accounts, regions)
        return ActionResult({"OperationId": stackset.operations[-1]["OperationId"]})

    monkeypatch.setattr(CloudFormationResponse, "delete_stack_instances", delete_stack_instances)


@dataclass
class FakeHub:
    """The parts of the hub that rollout, onboarding, status and redrive touch, built in the hub account:
    the bus, a rule sending canary events to an inbox queue (moto cannot invoke the canary Lambda), the
    audit table with its by-account index, the alerts topic, and a stack named like the hub's that creates
    two dead-letter queues (a rule target's ``-dlq`` and a Lambda's ``-failures``) and lists them as
    ``DlqUrl...`` outputs, as the hub stack does."""

    session: boto3.Session
    settings: Settings
    inbox_url: str
    dlq_url: str
    failures_url: str

    def respond_to_canaries(self) -> int:
        """Run the real hub canary handler on every canary event that reached the hub bus."""
        from handlers.audit import AuditLog
        from handlers.canary import handle_canary
        from handlers.sessions import MemberSessions

        sqs = self.session.client("sqs")
        audit = AuditLog(self.session.client("dynamodb"), self.settings.hub.table_name)
        members = MemberSessions(self.session)
        handled = 0
        while True:
            messages = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return handled
            for message in messages:
                handle_canary(json.loads(message["Body"]), members, audit, self.settings.policies.s3_encryption)
                sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1

    def canary_waiter(self) -> Any:
        """A ``CanaryWaiter`` that lets the hub answer first, then reads the table like onboarding does."""
        from stacksets.canary import HubTableWaiter

        table_waiter = HubTableWaiter(
            self.session.client("dynamodb"),
            self.settings.hub.table_name,
            poll_seconds=0,
            sleep=lambda _: None,
        )

        def wait(canaries: Any, timeout: float) -> dict[str, dict[str, Any]]:
            self.respond_to_canaries()
            return table_waiter(canaries, 0)

        return wait


def build_hub(settings: Settings) -> FakeHub:
    from handlers.contract import (
        CANARY_SOURCE,
        TABLE_ACCOUNT_INDEX,
        TABLE_ACCOUNT_INDEX_PARTITION,
        TABLE_ACCOUNT_INDEX_SORT,
        TABLE_PARTITION_KEY,
    )

    org = settings.organization
    session = session_in(org.hub_account, org.hub_region)
    events, sqs = session.client("events"), session.client("sqs")
    events.create_event_bus(Name=settings.hub.bus_name)
    inbox_url = sqs.create_queue(QueueName="canary-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="canary",
        EventBusName=settings.hub.bus_name,
        EventPattern=json.dumps({"source": [CANARY_SOURCE]}),
    )
    events.put_targets(
        Rule="canary", EventBusName=settings.hub.bus_name, Targets=[{"Id": "inbox", "Arn": inbox_arn}]
    )
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(StackName=settings.hub.stack_name, TemplateBody=json.dumps(HUB_QUEUES_TEMPLATE))
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cloudformation.describe_stacks(StackName=settings.hub.stack_name)["Stacks"][0]["Outputs"]}
    session.client("sns").create_topic(Name=settings.hub.topic_name)
    session.client("dynamodb").create_table(
        TableName=settings.hub.table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": TABLE_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": TABLE_ACCOUNT_INDEX_PARTITION, "AttributeType": "S"},
            {"AttributeName": TABLE_ACCOUNT_INDEX_SORT, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": TABLE_PARTITION_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": TABLE_ACCOUNT_INDEX,
                "KeySchema": [
                    {"AttributeName": TABLE_ACCOUNT_INDEX_PARTITION, "KeyType": "HASH"},
                    {"AttributeName": TABLE_ACCOUNT_INDEX_SORT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return FakeHub(session, settings, inbox_url, outputs["DlqUrlHubRule"], outputs["DlqUrlHubRuleFailures"])


HUB_QUEUES_TEMPLATE = {
    "Resources": {
        "DlqHubRule": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orgguard-hub-dlq"}},
        "DlqHubRuleFailures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orgguard-hub-failures"}},
        "NotADeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orgguard-hub-scratch"}},
    },
    "Outputs": {
        "DlqUrlHubRule": {"Value": {"Ref": "DlqHubRule"}},
        "DlqUrlHubRuleFailures": {"Value": {"Ref": "DlqHubRuleFailures"}},
        "ScratchQueueUrl": {"Value": {"Ref": "NotADeadLetterQueue"}},
    },
}


def put_spoke_alarms(accounts: Sequence[str], regions: Sequence[str], settings: Settings) -> None:
    """Create the spoke's dead-letter alarm where moto's CloudFormation skipped it, from the rendered template."""
    from handlers.contract import FORWARD_DLQ_NAME
    from spoke.lint import parse_template
    from spoke.render import render_spoke

    (alarm,) = [r["Properties"] for r in parse_template(render_spoke(settings))["Resources"].values()
                if r["Type"] == "AWS::CloudWatch::Alarm"]
    properties = {**alarm, "Dimensions": [{"Name": "QueueName", "Value": FORWARD_DLQ_NAME}]}
    for account in accounts:
        for region in regions:
            session_in(account, region).client("cloudwatch").put_metric_alarm(**properties)


def quick_waiter(api: Any) -> Any:
    """A StackSet operation ``Waiter`` that never sleeps and writes its progress nowhere visible."""
    import io

    from stacksets.operations import Waiter

    return Waiter(api, stream=io.StringIO(), poll_seconds=0, sleep=lambda _: None)
