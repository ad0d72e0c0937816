"""The handler tests' accounts on moto: a hub and a member of its organization, reached across a real account
boundary, and the engine's runtime as the Lambda builds it.

The hub is moto's default account: it holds the audit table, the alerts topic and a queue subscribed to the
topic that captures every e-mail. The member is an account of the hub's organization; the test sets up its
state through a role it assumes there, the engine reaches it only through ``handlers.sessions.MemberSessions``
(AssumeRole on OrgGuardRemediation), and the test reads the member's state back the same way.

``tests/functional/conftest.py`` offers the fixtures (``aws``, ``hub``, ``member``) to the handler tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from handlers.audit import AuditLog, event_key
from handlers.engine import Processed, Runtime, process
from handlers.notify import Notifier, Renderer
from handlers.registry import POLICIES_BY_ID, REMEDIATION_ROLE_NAME
from handlers.sessions import MemberSessions
from handlers.settings import Settings, validate

from .hub import Mail, MailBox, audit_keys, create_hub_resources
from .members import Member
from .moto_env import ACCESS_ROLE, HUB_ACCOUNT, HUB_REGION, MEMBER_REGION, TABLE_NAME, assume, client_error, moto

MEMBER_NAME = "workloads-prod"

# --- accounts ------------------------------------------------------------------------------------


@pytest.fixture(name="aws")
def aws_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """moto, with the caller's AWS environment set aside so nothing can reach a real account."""
    with moto(monkeypatch, tmp_path):
        yield


@dataclass
class Hub:
    session: boto3.Session
    dynamodb: Any
    sns: Any
    sqs: Any
    topic_arn: str
    queue_url: str
    table_name: str = TABLE_NAME
    _mailbox: MailBox | None = field(default=None, repr=False)

    def mail(self) -> list[Mail]:
        """Every notification published so far (the queue is drained into a list kept across calls)."""
        if self._mailbox is None:
            self._mailbox = MailBox(self.sqs, self.queue_url)
        return self._mailbox.mail()

    def audit_log(self) -> AuditLog:
        return AuditLog(self.dynamodb, self.table_name)

    def item(self, key: str) -> dict[str, Any] | None:
        return self.audit_log().get(key)

    def event_item(self, event_id: str) -> dict[str, Any]:
        item = self.item(event_key(event_id))
        assert item is not None, f"no audit item for event {event_id}"
        return item

    def keys(self) -> list[str]:
        return audit_keys(self.dynamodb, self.table_name)


@pytest.fixture(name="hub")
def hub_fixture(aws: None) -> Hub:
    session = boto3.Session(region_name=HUB_REGION)
    assert session.client("sts").get_caller_identity()["Account"] == HUB_ACCOUNT
    topic_arn, queue_url = create_hub_resources(session)
    session.client("organizations").create_organization(FeatureSet="ALL")
    return Hub(session, session.client("dynamodb"), session.client("sns"), session.client("sqs"), topic_arn, queue_url)


@pytest.fixture(name="member")
def member_fixture(hub: Hub) -> Member:
    status = hub.session.client("organizations").create_account(
        Email="workloads@example.com", AccountName=MEMBER_NAME)["CreateAccountStatus"]
    account = status["AccountId"]
    session = assume(hub.session, account, ACCESS_ROLE, MEMBER_REGION)
    assert session.client("sts").get_caller_identity()["Account"] == account
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT}:role/OrgGuardHubHandler"}}]}
    session.client("iam").create_role(RoleName=REMEDIATION_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    return Member(account, MEMBER_REGION, MEMBER_NAME, session)


@pytest.fixture
def hq(hub: Hub) -> Hub:
    """The ``hub`` fixture under the name the reconcile and sweep tests give the hub account."""
    return hub


@pytest.fixture
def spoke(member: Member) -> Member:
    """The ``member`` fixture under the name the reconcile and sweep tests give the member account."""
    return member


# --- settings and runtime ------------------------------------------------------------------------


def settings_for(member: Member, policies: dict[str, dict[str, Any]] | None = None,
                 **sections: dict[str, Any]) -> Settings:
    raw: dict[str, Any] = {
        "organization": {"management_account": HUB_ACCOUNT, "hub_account": HUB_ACCOUNT, "hub_region": HUB_REGION,
                         "regions": [HUB_REGION, member.region]},
        "policies": policies or {},
        **sections,
    }
    return validate(raw, "test settings")


def runtime(hub: Hub, settings: Settings, base: boto3.Session | None = None,
            renderer: Renderer | None = None) -> Runtime:
    """The engine's runtime as the Lambda builds it: hub clients, and member access only by AssumeRole."""
    orgs = hub.session.client("organizations")

    def account_name(account: str) -> str:
        return str(orgs.describe_account(AccountId=account)["Account"]["Name"])

    return Runtime(
        settings=settings,
        members=MemberSessions(base or boto3.Session(region_name=HUB_REGION)),
        audit=hub.audit_log(),
        notifier=Notifier(hub.sns, hub.topic_arn, renderer or Renderer(user_dir="")),
        account_name_lookup=account_name,
    )


def run(payload: Any, policy_id: str, rt: Runtime) -> Processed:
    return process(payload, POLICIES_BY_ID[policy_id], rt)


def engine_client(rt: Runtime, member: Member, service: str) -> Any:
    """The very client the engine will use in the member account (MemberSessions caches it)."""
    return rt.members.client(member.account, member.region, service)


# --- botocore hooks ------------------------------------------------------------------------------


def record_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """Parameters of every ``operation`` call the client gets a success response for, from now on."""
    calls: list[dict[str, Any]] = []
    service = client.meta.service_model.service_name

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["recorded_params"] = copy.deepcopy(params)

    def succeeded(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code < 300:
            calls.append(context["recorded_params"])

    client.meta.events.register(f"before-parameter-build.{service}.{operation}", remember)
    client.meta.events.register(f"after-call.{service}.{operation}", succeeded)
    return calls


def fail_calls(events: Any, service: str, operation: str, code: str, times: int = 1,
               status: int = 400) -> Callable[[], int]:
    """Make the first ``times`` calls raise ``code`` as if botocore had given up retrying; returns a counter."""
    attempts = {"n": 0}

    def hook(**_: Any) -> None:
        attempts["n"] += 1
        if attempts["n"] <= times:
            raise client_error(code, operation, status)

    events.register(f"before-call.{service}.{operation}", hook)
    return lambda: attempts["n"]
