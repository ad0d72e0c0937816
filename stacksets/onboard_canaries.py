"""What the hub recorded for each canary ``orgguard onboard`` sent, turned into checks: the canary arrived
from the right account and region, the hub assumed ``OrgGuardRemediation`` there, and that role could describe
the S3 standard's KMS key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.contract import CANARY_RULE_NAME
from handlers.registry import REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from stacksets.canary import Canary
from stacksets.checks import Check
from stacksets.onboard_proof import CANARY, HUB_ASSUMES, KMS_KEY, AccountProof


def key_check(settings: Settings, canary: Canary, item: dict[str, Any]) -> Check | None:
    """What the hub's canary found when it described the standard's key as OrgGuardRemediation."""
    standard = settings.policies.s3_encryption
    if standard.mode == "off" or standard.algorithm != "aws:kms" or not standard.kms_key or not item.get("role_ok"):
        return None
    key = standard.key_for(canary.account, canary.region)
    if "kms_ok" not in item:
        return Check(KMS_KEY, canary.region, False,
                     f"{key} was not checked: the hub's canary Lambda predates the check; update the hub "
                     "(`orgguard hub`) and run this again")
    if item["kms_ok"]:
        return Check(KMS_KEY, canary.region, True, f"{REMEDIATION_ROLE_NAME} can describe {key}: "
                                                  f"{item.get('kms_detail', '')}")
    return Check(KMS_KEY, canary.region, False,
                 f"{REMEDIATION_ROLE_NAME} cannot use {key}: {item.get('kms_detail') or 'no reason recorded'}. "
                 "S3 does not check a key when it is set, so buckets switched to it would refuse uploads: "
                 "create the key (or alias) in this account and region, let the account use it in its key "
                 "policy, or change policies.s3-encryption.kms_key")


def record_canaries(settings: Settings, canaries: Sequence[Canary], arrived: dict[str, dict[str, Any]],
                    error: str, proofs: dict[str, AccountProof], timeout: float) -> dict[str, list[dict[str, Any]]]:
    """One check per canary sent (and its key check); returns the hub's records of those that arrived
    as sent, per account. ``error`` explains every missing canary when waiting for them failed."""
    by_account: dict[str, list[dict[str, Any]]] = {}
    for canary in canaries:
        item = arrived.get(canary.id)
        checks = proofs[canary.account].checks
        if item is None:
            why = error or (
                f"no record of canary {canary.id} in the hub's table {settings.hub.table_name} "
                f"after {timeout:.0f}s: check the rule {CANARY_RULE_NAME} here, the hub's canary "
                "rule and its dead-letter queues (`orgguard status`)"
            )
            checks.append(Check(CANARY, canary.region, False, why))
            continue
        seen = (item.get("account"), item.get("region"))
        if seen != (canary.account, canary.region):
            checks.append(
                Check(
                    CANARY,
                    canary.region,
                    False,
                    f"the hub recorded canary {canary.id} as {seen[0]}/{seen[1]}",
                )
            )
            continue
        checks.append(Check(CANARY, canary.region, True, f"recorded by the hub at {item.get('time', '?')}"))
        by_account.setdefault(canary.account, []).append(item)
        found_key = key_check(settings, canary, item)
        if found_key is not None:
            checks.append(found_key)
    return by_account


def hub_assumes_checks(accounts: Sequence[str], by_account: dict[str, list[dict[str, Any]]],
                       proofs: dict[str, AccountProof]) -> None:
    """Per account, whether the hub could assume its remediation role while handling its canaries."""
    for account in accounts:
        items = by_account.get(account, [])
        checks = proofs[account].checks
        if not items:
            checks.append(Check(HUB_ASSUMES, "", False, "not checked: no canary from this account reached the hub"))
            continue
        refused = [i for i in items if not i.get("role_ok")]
        if refused:
            checks.append(
                Check(
                    HUB_ASSUMES,
                    "",
                    False,
                    f"the hub could not assume {REMEDIATION_ROLE_NAME}: "
                    f"{refused[0].get('role_error') or 'no reason recorded'}",
                )
            )
        else:
            checks.append(Check(HUB_ASSUMES, "", True, "the hub assumed it while handling the canary"))
