"""The onboarding canary on moto: it proves from the hub that the member's role can be assumed, and records
that fact where ``orgguard onboard`` reads it."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from handlers import canary
from handlers.adapters import canary as canary_lambda
from handlers.contract import CANARY_DETAIL_TYPE, CANARY_SOURCE, ENV_AUDIT_TABLE, ENV_SETTINGS
from handlers.sessions import MemberSessions
from tests.support.handlers import Hub, fail_calls, settings_for
from tests.support.members import Member
from tests.support.moto_env import HUB_REGION


def canary_event(member: Member, canary_id: str | None = None) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": CANARY_DETAIL_TYPE, "source": CANARY_SOURCE,
            "account": member.account, "region": member.region, "time": "2026-01-01T00:00:00Z", "resources": [],
            "detail": {"canary_id": canary_id or str(uuid.uuid4()), "account": member.account,
                       "region": member.region}}


def test_canary_records_that_the_role_works(hub: Hub, member: Member) -> None:
    members = MemberSessions(boto3.Session(region_name=HUB_REGION))
    event = canary_event(member)
    canary_id = event["detail"]["canary_id"]

    result = canary.handle_canary(event, members, hub.audit_log())

    assert result == {"outcome": "canary", "canary_id": canary_id, "role_ok": True, "role_error": ""}
    item = hub.item(f"canary#{canary_id}")
    assert item is not None
    assert (item["account"], item["region"], item["role_ok"], item["role_error"]) == (
        member.account, member.region, True, "")
    identity = members.client(member.account, member.region, "sts").get_caller_identity()
    assert identity["Account"] == member.account


def test_canary_always_assumes_afresh(hub: Hub, member: Member) -> None:
    members = MemberSessions(boto3.Session(region_name=HUB_REGION))
    members.session(member.account, member.region)

    for _ in range(2):
        assert canary.handle_canary(canary_event(member), members, hub.audit_log())["role_ok"] is True

    assert members.assume_calls == 3


def test_canary_records_a_denied_role(hub: Hub, member: Member) -> None:
    base = boto3.Session(region_name=HUB_REGION)
    fail_calls(base.events, "sts", "AssumeRole", "AccessDenied", times=10, status=403)
    event = canary_event(member)

    result = canary.handle_canary(event, MemberSessions(base), hub.audit_log())

    assert result["role_ok"] is False and "AccessDenied" in result["role_error"]
    item = hub.item(f"canary#{event['detail']['canary_id']}")
    assert item is not None
    assert item["role_ok"] is False and "AccessDenied" in item["role_error"]
    assert item["account"] == member.account


def test_throttled_canary_is_retried(hub: Hub, member: Member) -> None:
    base = boto3.Session(region_name=HUB_REGION)
    fail_calls(base.events, "sts", "AssumeRole", "Throttling", times=1)
    members = MemberSessions(base)
    event = canary_event(member)

    with pytest.raises(Exception, match="Throttling"):
        canary.handle_canary(event, members, hub.audit_log())
    assert hub.item(f"canary#{event['detail']['canary_id']}") is None
    assert canary.handle_canary(event, members, hub.audit_log())["role_ok"] is True


@pytest.mark.parametrize(("mutate", "outcome"), [
    (lambda e: e.update(source="aws.s3"), "rejected:not-a-canary"),
    (lambda e: e.update(detail="x"), "rejected:not-a-canary"),
    (lambda e: e["detail"].update(canary_id="../../x"), "rejected:bad-canary"),
    (lambda e: e["detail"].update(account="12345"), "rejected:bad-canary"),
    (lambda e: e["detail"].update(region=""), "rejected:bad-canary"),
])
def test_not_a_canary_is_rejected_without_assuming(hub: Hub, member: Member, mutate: Any, outcome: str) -> None:
    members = MemberSessions(boto3.Session(region_name=HUB_REGION))
    event = canary_event(member)
    mutate(event)

    assert canary.handle_canary(event, members, hub.audit_log()) == {"outcome": outcome}
    assert members.assume_calls == 0
    assert hub.keys() == []


def test_canary_lambda_runs_from_its_environment(hub: Hub, member: Member, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SETTINGS, settings_for(member).to_json())
    monkeypatch.setenv(ENV_AUDIT_TABLE, hub.table_name)
    canary_lambda.RUNTIME.reset()  # a cold function
    event = canary_event(member)

    assert canary_lambda.handler(event, None)["role_ok"] is True
    item = hub.item(f"canary#{event['detail']['canary_id']}")
    assert item is not None and item["role_ok"] is True


def test_canary_describes_the_standards_key_as_the_remediation_role(hub: Hub, member: Member,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    kms = member.session.client("kms", region_name=member.region)
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/org-s3", TargetKeyId=key_arn)
    settings = settings_for(member, {"s3-encryption": {"kms_key": "arn:aws:kms:{region}:{account}:alias/org-s3"}})
    monkeypatch.setenv(ENV_SETTINGS, settings.to_json())
    monkeypatch.setenv(ENV_AUDIT_TABLE, hub.table_name)
    canary_lambda.RUNTIME.reset()  # a cold function
    event = canary_event(member)

    result = canary_lambda.handler(event, None)

    wanted = f"arn:aws:kms:{member.region}:{member.account}:alias/org-s3"
    assert (result["kms_key"], result["kms_ok"]) == (wanted, True)
    assert key_arn in result["kms_detail"]
    item = hub.item(f"canary#{event['detail']['canary_id']}")
    assert item is not None and (item["kms_key"], item["kms_ok"]) == (wanted, True)


def test_a_key_refused_to_the_account_is_reported_with_the_reason(hub: Hub, member: Member) -> None:
    members = MemberSessions(boto3.Session(region_name=HUB_REGION))
    kms = members.client(member.account, member.region, "kms")
    fail_calls(kms.meta.events, "kms", "DescribeKey", "AccessDeniedException", times=10, status=400)

    ok, detail = canary.check_key(members, member.account, member.region, "alias/org-s3")

    assert ok is False and "AccessDeniedException" in detail


def test_no_key_check_without_a_key_or_with_the_policy_off(hub: Hub, member: Member) -> None:
    members = MemberSessions(boto3.Session(region_name=HUB_REGION))
    for policy in ({}, {"kms_key": "alias/org-s3", "mode": "off"}):
        standard = settings_for(member, {"s3-encryption": policy}).policies.s3_encryption
        result = canary.handle_canary(canary_event(member), members, hub.audit_log(), standard)
        assert result["role_ok"] is True and "kms_key" not in result, policy
