"""``orgguard onboard`` on moto with a KMS key in the S3 standard: the key is checked in each region as the
remediation role sees it, a missing or disabled key fails naming it, a hub too old to check it is a failed check,
and without a key there is no such check.

The hub's canary Lambda cannot run on moto, so the hub bus sends canary events to a queue and the test runs the
real ``handlers.canary`` code on them (``FakeHub``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3

from handlers.settings import Settings
from stacksets.canary import Canary
from stacksets.onboard_proof import KMS_KEY
from tests.support.onboarding import failures, onboard
from tests.support.organization import HOME_REGION, OTHER_REGION, REGIONS, FakeOrganization, session_in, settings_for
from tests.support.rollout import ROLLOUT_MARKS
from tests.support.stackset_hub import FakeHub

pytestmark = ROLLOUT_MARKS


def with_kms_key(organization: FakeOrganization, kms_key: str) -> Settings:
    return settings_for(organization, policies={"s3-encryption": {"kms_key": kms_key}})


def test_the_standards_key_is_described_as_the_remediation_role_in_each_region(
    organization: FakeOrganization, management_session: boto3.Session, rolled_out: FakeHub
) -> None:
    account = organization.account("app-1")
    for region in REGIONS:
        kms = session_in(account, region).client("kms")
        kms.create_alias(AliasName="alias/org-s3", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    settings = with_kms_key(organization, "arn:aws:kms:{region}:{account}:alias/org-s3")
    rolled_out.settings = settings

    report = onboard(management_session, settings, [account], rolled_out.canary_waiter())

    assert report.ok, report.to_dict()
    (proof,) = report.accounts
    passed = {c.region: c.detail for c in proof.checks if c.name == KMS_KEY and c.ok}
    assert set(passed) == set(REGIONS)
    for region in REGIONS:
        assert f"arn:aws:kms:{region}:{account}:alias/org-s3" in passed[region]
        assert "Enabled" in passed[region]


def test_a_missing_or_disabled_key_fails_naming_the_key(
    organization: FakeOrganization, management_session: boto3.Session, rolled_out: FakeHub
) -> None:
    account = organization.account("app-2")
    kms = session_in(account, HOME_REGION).client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/org-s3", TargetKeyId=key_id)
    kms.disable_key(KeyId=key_id)  # and no key at all in the other region
    settings = with_kms_key(organization, "alias/org-s3")
    rolled_out.settings = settings

    report = onboard(management_session, settings, [account], rolled_out.canary_waiter())

    assert not report.ok
    failed = failures(report, account)
    assert set(failed) == {(KMS_KEY, r) for r in REGIONS}
    assert "cannot use alias/org-s3" in failed[(KMS_KEY, HOME_REGION)]
    assert "Disabled" in failed[(KMS_KEY, HOME_REGION)]
    assert "NotFoundException" in failed[(KMS_KEY, OTHER_REGION)]


def test_a_hub_that_did_not_check_the_key_is_a_failed_check(
    organization: FakeOrganization, management_session: boto3.Session, rolled_out: FakeHub
) -> None:
    account = organization.account("app-1")
    settings = with_kms_key(organization, "alias/org-s3")

    def old_hub(canaries: Sequence[Canary], timeout: float) -> dict[str, dict[str, Any]]:
        return {c.id: {"account": c.account, "region": c.region, "role_ok": True, "role_error": ""}
                for c in canaries}

    report = onboard(management_session, settings, [account], old_hub)

    failed = failures(report, account)
    assert set(failed) == {(KMS_KEY, r) for r in REGIONS}
    assert "orgguard hub" in failed[(KMS_KEY, HOME_REGION)]


def test_no_key_check_without_a_key_in_the_standard(
    organization: FakeOrganization, management_session: boto3.Session, settings: Settings, rolled_out: FakeHub
) -> None:
    report = onboard(management_session, settings, [organization.account("app-1")], rolled_out.canary_waiter())

    assert report.ok
    assert not [c for a in report.accounts for c in a.checks if c.name == KMS_KEY]
