"""Fixtures for functional tests on moto: a real multi-account organization, reached through STS.

``build_organization`` creates an organization with nested OUs and member accounts (inside
``mock_aws``) and returns their ids; ``session_in`` gives a session in any account by assuming a role
there, the way the code under test does. ``MOTO_ACCOUNT_ID`` is never used: moto maps assumed-role
credentials to the account of the role, which is what makes the account boundaries real.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from handlers.settings import Settings, validate

HOME_REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
REGIONS = (HOME_REGION, OTHER_REGION)
ACCESS_ROLE = "OrganizationAccountAccessRole"
STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
_LOADER = botocore.loaders.create_loader()

# OU path -> account names ("" is the root). Workloads holds a nested OU; Security holds the hub.
STANDARD_LAYOUT: dict[str, list[str]] = {
    "Security": ["hub"],
    "Workloads": ["app-1"],
    "Workloads/Prod": ["app-2", "app-3"],
    "Sandbox": ["sandbox-1"],
}


@dataclass
class FakeOrganization:
    management: str
    root: str
    ous: dict[str, str] = field(default_factory=dict)  # path -> OU id
    accounts: dict[str, str] = field(default_factory=dict)  # name -> account id
    parents: dict[str, str] = field(default_factory=dict)  # account id -> parent id

    def account(self, name: str) -> str:
        return self.accounts[name]

    def ou(self, path: str) -> str:
        return self.root if path == "" else self.ous[path]

    def accounts_in(self, *paths: str) -> list[str]:
        """Accounts in the OUs at ``paths`` and in the OUs nested below them."""
        inside = {
            unit
            for path, unit in self.ous.items()
            if any(path == p or path.startswith(p + "/") for p in paths)
        }
        return sorted(a for a, parent in self.parents.items() if parent in inside)


def session_in(
    account: str, region: str = HOME_REGION, role: str = ACCESS_ROLE, source: boto3.Session | None = None
) -> boto3.Session:
    """A session in ``account`` through ``role``, assumed from ``source`` (default: the caller's)."""
    source = source or shared_session(region)
    credentials = source.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="functional-test"
    )["Credentials"]
    return shared_session(region, credentials)


def shared_session(region: str = HOME_REGION, credentials: dict[str, Any] | None = None) -> boto3.Session:
    """A session (the environment's credentials, or ``credentials``) that parses each service model once
    per test run instead of once per session."""
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    if credentials:
        core.set_credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    return boto3.Session(botocore_session=core, region_name=region)


def build_organization(
    layout: Mapping[str, Sequence[str]] = STANDARD_LAYOUT,
    *,
    trusted_access: bool = True,
    region: str = HOME_REGION,
) -> FakeOrganization:
    """Create the organization (caller = management account), its OUs (parents before children, from the
    paths) and accounts. Call inside ``mock_aws``."""
    org_client = boto3.client("organizations", region_name=region)
    org_client.create_organization(FeatureSet="ALL")
    described = org_client.describe_organization()["Organization"]
    org = FakeOrganization(
        management=described["MasterAccountId"], root=org_client.list_roots()["Roots"][0]["Id"]
    )
    org.parents[org.management] = org.root
    for path in sorted(p for p in layout if p):
        parent_path, _, name = path.rpartition("/")
        unit = org_client.create_organizational_unit(ParentId=org.ou(parent_path), Name=name)
        org.ous[path] = unit["OrganizationalUnit"]["Id"]
    for path, names in layout.items():
        for name in names:
            add_account(org, name, path)
    if trusted_access:
        org_client.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    return org


def add_account(org: FakeOrganization, name: str, path: str = "") -> str:
    """Create a member account (it starts under the root) and move it to the OU at ``path``."""
    org_client = boto3.client("organizations", region_name=HOME_REGION)
    status = org_client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    account = status["AccountId"]
    org.accounts[name] = account
    org.parents[account] = org.root
    if path:
        move_account(org, account, path)
    return account


def move_account(org: FakeOrganization, account: str, path: str) -> None:
    boto3.client("organizations", region_name=HOME_REGION).move_account(
        AccountId=account, SourceParentId=org.parents[account], DestinationParentId=org.ou(path)
    )
    org.parents[account] = org.ou(path)


def settings_for(
    org: FakeOrganization, target_paths: Sequence[str] = ("Workloads",), **sections: Any
) -> Settings:
    """Validated settings for this organization; ``sections`` override tables (``hub={"bus_name": "x"}``)."""
    raw: dict[str, Any] = {
        "organization": {
            "management_account": org.management,
            "hub_account": org.accounts["hub"],
            "hub_region": HOME_REGION,
            "regions": list(REGIONS),
            "target_ous": [org.ou(p) for p in target_paths],
            "include_management_account": False,
            "account_names": {account: name for name, account in org.accounts.items()},
        },
        "notifications": {"emails": ["cloud-admins@example.com"]},
    }
    for key, value in sections.items():
        merged = copy.deepcopy(raw.get(key, {}))
        merged.update(value)
        raw[key] = merged
    return validate(raw, "functional test settings")


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials of the management account; nothing from the developer's environment leaks in."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "MOTO_ACCOUNT_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", HOME_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture
def mocked_aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import moto_targets

    from sandbox.moto_s3 import returns_blocked_encryption_types

    returns_blocked_encryption_types()
    moto_targets.install(monkeypatch)  # ListStackSetAutoDeploymentTargets, which moto lacks
    with mock_aws():
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
