"""The onboarding canary: proves, from the hub, that a member account's path works end to end.

``orgguard onboard`` puts a canary event on a member's default bus; the spoke's canary rule forwards it to
the hub bus; the hub's canary rule invokes this Lambda, which tries to assume ``OrgGuardRemediation`` in
that account and records both facts (arrived, role assumable) under ``canary#<id>`` for onboard to read.
When the S3 standard names a KMS key, it also asks KMS, as that role, to describe exactly that key (resolved
for the canary's account and region): S3 does not validate a key on PutBucketEncryption, so a key that is
missing, refused to the account or disabled would only show when uploads start failing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.audit import AuditLog
from handlers.contract import CANARY_SOURCE
from handlers.errors import error_code, is_transient
from handlers.guardrails.s3_encryption.settings import S3Encryption
from handlers.sessions import MemberSessions, NotOnboarded

log = logging.getLogger("orgguard")
CANARY_TTL_SECONDS = 86400
_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def check_key(members: MemberSessions, account: str, region: str, key: str) -> tuple[bool, str]:
    """DescribeKey on ``key`` as OrgGuardRemediation: (usable by S3 as far as KMS says, what was found)."""
    try:
        metadata = members.client(account, region, "kms").describe_key(KeyId=key)["KeyMetadata"]
    except ClientError as error:
        if is_transient(error):
            raise
        return False, f"{error_code(error)}: {error}"
    state, spec = metadata.get("KeyState", ""), metadata.get("KeySpec", "SYMMETRIC_DEFAULT")
    found = f"{metadata.get('Arn', key)} ({state or 'unknown state'})"
    if state != "Enabled":
        return False, f"{found}: S3 cannot encrypt with a key that is not Enabled"
    if spec != "SYMMETRIC_DEFAULT" or metadata.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        return False, f"{found}: S3 needs a symmetric encryption key, this one is {spec}"
    return True, found


def handle_canary(event: Any, members: MemberSessions, audit: AuditLog,
                  standard: S3Encryption | None = None) -> dict[str, Any]:
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(event, dict) or event.get("source") != CANARY_SOURCE or not isinstance(detail, dict):
        return {"outcome": str(oc.rejected("not-a-canary"))}
    canary_id, account, region = (str(detail.get(k, "")) for k in ("canary_id", "account", "region"))
    if not _ID_RE.match(canary_id) or not re.match(r"^\d{12}$", account) or not region:
        return {"outcome": str(oc.rejected("bad-canary"))}
    role_ok, role_error = True, ""
    try:
        members.forget(account, region)  # always a fresh AssumeRole: this is the check
        members.session(account, region)
    except NotOnboarded as error:
        role_ok, role_error = False, error.reason
    except Exception as error:
        if is_transient(error):
            raise
        role_ok, role_error = False, f"{error_code(error)}: {error}"
    fields: dict[str, Any] = {"role_ok": role_ok, "role_error": role_error[:500]}
    if role_ok and standard is not None and standard.mode != "off" and standard.algorithm == "aws:kms" \
            and standard.kms_key:
        key = standard.key_for(account, region)
        kms_ok, kms_detail = check_key(members, account, region, key)
        fields.update(kms_key=key, kms_ok=kms_ok, kms_detail=kms_detail[:500])
    audit.once(f"canary#{canary_id}", {"account": account, "region": region, **fields, "kind": "canary"},
               ttl_seconds=CANARY_TTL_SECONDS)
    return {"outcome": "canary", "canary_id": canary_id, **fields}
