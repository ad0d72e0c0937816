"""handlers.batch.sweep on moto, what is swept and what is not: a report-mode policy never writes, an off policy
and an exempt account are not swept, an account whose role cannot be assumed is reported once, a failing listing
fails the target (retryable when transient), and the governed accounts follow the target OUs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from handlers.batch.sweep import sweep_target
from handlers.modes import report_only
from handlers.organization import governed_accounts
from handlers.sessions import MemberSessions, NotOnboarded
from tests.support.handlers import Hub, settings_for
from tests.support.members import Member, instance_tags, make_bucket, make_network
from tests.support.moto_env import HUB_REGION, client_error
from tests.support.sweep import TODAY, by_resource, clients_for, launch


def test_report_mode_policy_never_writes_even_with_fix(hq: Hub, spoke: Member) -> None:
    network = make_network(spoke)
    instance_id = launch(spoke, network)[0]
    plain = make_bucket(spoke, "plain-data")
    settings = settings_for(spoke, {"ec2-compliance": {"mode": "report"}})

    result = sweep_target(clients_for(), settings, spoke.account, spoke.region, fix=True, today=TODAY)

    found = by_resource(result)
    assert found[instance_id].outcome == "reported" and not found[instance_id].actions
    assert instance_tags(spoke, instance_id) == {}
    assert found[plain].outcome == "remediated"


def test_off_policy_and_exempt_account_are_not_swept(hq: Hub, spoke: Member) -> None:
    make_bucket(spoke, "plain-data")
    off = settings_for(spoke, {"s3-encryption": {"mode": "off"}})
    exempt = settings_for(spoke, exemptions={"accounts": [spoke.account]})
    clients = clients_for()

    result_off = sweep_target(clients, off, spoke.account, spoke.region, ["s3-encryption"], fix=True)
    result_exempt = sweep_target(clients, exempt, spoke.account, spoke.region, fix=True)

    assert result_off.findings == [] and "s3-encryption is off" in result_off.notes
    assert result_exempt.status == "exempt" and result_exempt.findings == []
    assert clients.calls == Counter()


def test_an_account_whose_role_cannot_be_assumed_is_reported_once(hq: Hub, spoke: Member) -> None:
    class Refusing(MemberSessions):
        attempts = 0

        def _assume(self, account: str, region: str) -> Any:
            Refusing.attempts += 1
            raise NotOnboarded(account, region, "AccessDenied: not trusted")

    clients = Refusing(boto3.Session(region_name=HUB_REGION), anchor_region=HUB_REGION)
    results = [sweep_target(clients, settings_for(spoke), spoke.account, region, fix=True)
               for region in (spoke.region, HUB_REGION)]

    assert [r.status for r in results] == ["not-onboarded", "not-onboarded"]
    assert all("AccessDenied" in r.error for r in results) and all(r.finished for r in results)
    assert Refusing.attempts == 1


def test_a_failing_listing_fails_the_target_and_is_retryable_when_transient(hq: Hub, spoke: Member) -> None:
    make_bucket(spoke, "plain-data")
    clients = clients_for()
    s3 = clients.client(spoke.account, spoke.region, "s3")

    def throttled(**_: Any) -> None:
        raise client_error("SlowDown", "ListBuckets", 503)

    s3.meta.events.register("before-call.s3.ListBuckets", throttled)
    result = sweep_target(clients, settings_for(spoke), spoke.account, spoke.region, fix=True)

    assert result.status == "failed:SlowDown" and result.retryable and not result.finished
    assert "s3-encryption" in result.error or "s3-public-access" in result.error  # both S3 guardrails list buckets


def test_report_only_turns_enforce_into_report_and_keeps_off(spoke: Member) -> None:
    settings = settings_for(spoke, {"vpc-created": {"mode": "off"}})
    modes = report_only(settings).policies
    assert (modes.vpc_created.mode, modes.s3_encryption.mode, modes.ec2_compliance.mode) == (
        "off", "report", "report")
    assert report_only(settings).policies.s3_encryption.algorithm == settings.policies.s3_encryption.algorithm


# --- the organization -----------------------------------------------------------------------------


def test_governed_accounts_follow_target_ous_status_and_the_management_switch(hq: Hub) -> None:
    org = hq.session.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    prod = org.create_organizational_unit(ParentId=workloads, Name="Prod")["OrganizationalUnit"]["Id"]
    ids = {}
    for name, parent in (("app", workloads), ("prod", prod), ("outside", root)):
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        account = status["AccountId"]
        if parent != root:
            org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
        ids[name] = account
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    app = Member(ids["app"], HUB_REGION, "app", hq.session)

    everything = governed_accounts(org, settings_for(app, organization={
        "management_account": management, "hub_account": management, "hub_region": HUB_REGION,
        "regions": [HUB_REGION], "include_management_account": False}))
    targeted = governed_accounts(org, settings_for(app, organization={
        "management_account": management, "hub_account": management, "hub_region": HUB_REGION,
        "regions": [HUB_REGION], "target_ous": [workloads], "include_management_account": True}))

    assert sorted(a.id for a in everything) == sorted(ids.values())
    assert sorted(a.id for a in targeted) == sorted([ids["app"], ids["prod"], management])
    assert {a.id: a.name for a in targeted}[ids["prod"]] == "prod"
