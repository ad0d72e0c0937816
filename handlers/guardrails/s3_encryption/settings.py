"""The ``[policies.s3-encryption]`` section: the organization's standard for S3 default encryption."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.settings_checks import ACCOUNT_RE, MODES, REGION_RE, TAG_KEY_RE, Checker, as_list, show

ALGORITHMS = ("aws:kms", "AES256")
# The values of botocore's S3 ``EncryptionType`` enum that block something ("NONE" blocks nothing: an empty list
# says that here). Only SSE-C can be blocked today.
BLOCKABLE_ENCRYPTION_TYPES = ("SSE-C",)
KMS_KEY_RE = re.compile(
    r"^(arn:aws[a-z-]*:kms:[a-z0-9{}-]+:[0-9{}a-z]+:(key|alias)/[\w/{}:.-]+|alias/[\w/{}:.-]+|"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
KMS_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[^:]+):(?P<account>[^:]+):(?P<kind>key|alias)/.+$")


@dataclass(frozen=True)
class S3Encryption:
    mode: str = "enforce"
    algorithm: str = "aws:kms"
    kms_key: str = ""
    bucket_key: bool = True
    # Upload encryption types the bucket must refuse; AWS's default for new general-purpose buckets since
    # April 2026. Empty: the standard allows SSE-C uploads (a bucket that blocks them still meets it).
    blocked_encryption_types: tuple[str, ...] = ("SSE-C",)
    # A bucket tagged with this key and the value "AES256" is held to the AES256 floor (ELB access-log buckets
    # cannot use SSE-KMS); "" turns the tag off.
    standard_tag: str = "orgguard:s3-encryption"

    def key_for(self, account: str, region: str) -> str:
        return self.kms_key.replace("{account}", account).replace("{region}", region)

    @property
    def key_needs_region(self) -> bool:
        return "{region}" in self.kms_key


def _alias_arn_account(kms_key: str) -> str:
    """The literal account of an alias ARN ('' for anything else, or when the account is ``{account}``)."""
    match = KMS_ARN_RE.fullmatch(kms_key)
    if match and match["kind"] == "alias" and ACCOUNT_RE.fullmatch(match["account"]):
        return match["account"]
    return ""


def _kms_key(raw: dict[str, Any], c: Checker, key: str, algorithm: str) -> str:
    kms_key = c.string(raw, key, "kms_key", "", KMS_KEY_RE,
                       "must be empty, a KMS key ARN, a key id or an alias like 'alias/org-s3' "
                       "({account} and {region} allowed)")
    if kms_key and algorithm != "aws:kms":
        c.problem(f"{key}.kms_key", kms_key, "may only be set when algorithm = 'aws:kms'")
    alias_account = _alias_arn_account(kms_key)
    if alias_account:
        alias = kms_key.split(":", 5)[5]
        c.problem(f"{key}.kms_key", kms_key,
                  f"S3 resolves an alias in the account of the request (the bucket owner's or writer's), not in "
                  f"account {alias_account}: use '{alias}' or 'arn:aws:kms:{{region}}:{{account}}:{alias}' for each "
                  "account's own key, or the key ARN of one shared key")
    return kms_key


def _blocked(raw: dict[str, Any], c: Checker, key: str) -> tuple[str, ...]:
    if raw.get("blocked_encryption_types") is not None and "NONE" in as_list(raw["blocked_encryption_types"]):
        c.problem(f"{key}.blocked_encryption_types", raw["blocked_encryption_types"],
                  "'NONE' is S3's way to block nothing: write [] to allow SSE-C uploads")
        return ()
    return c.strings(raw, key, "blocked_encryption_types", list(S3Encryption.blocked_encryption_types),
                     re.compile("^(" + "|".join(map(re.escape, BLOCKABLE_ENCRYPTION_TYPES)) + ")$"),
                     f"must be one of {', '.join(repr(t) for t in BLOCKABLE_ENCRYPTION_TYPES)} "
                     "([] allows SSE-C uploads)")


def parse(raw: dict[str, Any], c: Checker, key: str) -> S3Encryption:
    c.unknown(raw, key, set(S3Encryption.__dataclass_fields__))
    algorithm = c.string(raw, key, "algorithm", "aws:kms", choices=ALGORITHMS)
    kms_key = _kms_key(raw, c, key, algorithm)
    blocked = _blocked(raw, c, key)
    return S3Encryption(
        mode=c.string(raw, key, "mode", "enforce", choices=MODES),
        algorithm=algorithm,
        kms_key=kms_key,
        bucket_key=c.boolean(raw, key, "bucket_key", True),
        blocked_encryption_types=tuple(sorted(blocked)),
        standard_tag=c.string(raw, key, "standard_tag", S3Encryption.standard_tag, TAG_KEY_RE,
                              "must be a tag key, or empty to turn the tag off"),
    )


def warnings(s3: S3Encryption, regions: tuple[str, ...], key: str) -> list[str]:
    """A key of one account or one region is valid, and likely to break uploads elsewhere: say so."""
    found = []
    match = KMS_ARN_RE.fullmatch(s3.kms_key)
    if match and match["kind"] == "key" and ACCOUNT_RE.fullmatch(match["account"]):
        found.append(f"{key}.kms_key = {show(s3.kms_key)} is a key of account {match['account']}: its key policy "
                     "must let every member account use it (kms:GenerateDataKey and kms:Decrypt for S3 on behalf of "
                     "the buckets' writers and readers), or uploads to the remediated buckets fail; "
                     "`orgguard onboard` checks that OrgGuardRemediation can describe it")
    if match and REGION_RE.fullmatch(match["region"]):
        others = [r for r in regions if r != match["region"]]
        if others:
            found.append(f"{key}.kms_key = {show(s3.kms_key)} names a key in {match['region']} only; S3 needs the key "
                         f"in the bucket's region, so buckets in {', '.join(others)} would get a key they cannot "
                         "use: write {region} in its place")
    return found
