"""The onboarding canary: proves, from the hub, that a member account's path works end to end.

``deploy.py onboard`` puts a canary event on a member's default bus; the spoke's canary rule forwards it to
the hub bus; the hub's canary rule invokes this Lambda, which tries to assume ``OrgGuardRemediation`` in
that account and records both facts (arrived, role assumable) under ``canary#<id>`` for onboard to read.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

import boto3

from handlers.audit import AuditLog
from handlers.contract import CANARY_SOURCE, ENV_AUDIT_TABLE
from handlers.errors import error_code, is_transient
from handlers.logs import configure_lambda_logging, invocation
from handlers.sessions import RETRY_CONFIG, MemberSessions, NotOnboarded
from handlers.settings import from_environment

log = logging.getLogger("orgguard")
CANARY_TTL_SECONDS = 86400
_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def handle_canary(event: Any, members: MemberSessions, audit: AuditLog) -> dict[str, Any]:
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(event, dict) or event.get("source") != CANARY_SOURCE or not isinstance(detail, dict):
        return {"outcome": "rejected:not-a-canary"}
    canary_id, account, region = (str(detail.get(k, "")) for k in ("canary_id", "account", "region"))
    if not _ID_RE.match(canary_id) or not re.match(r"^\d{12}$", account) or not region:
        return {"outcome": "rejected:bad-canary"}
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
    audit.once(f"canary#{canary_id}", {"account": account, "region": region, "role_ok": role_ok,
                                       "role_error": role_error[:500], "kind": "canary"},
               ttl_seconds=CANARY_TTL_SECONDS)
    return {"outcome": "canary", "canary_id": canary_id, "role_ok": role_ok, "role_error": role_error}


_STATE: dict[str, Any] = {}


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    if not _STATE:
        configure_lambda_logging()
        settings = from_environment()
        session = boto3.Session()
        region = session.region_name or settings.organization.hub_region
        _STATE["members"] = MemberSessions(session)
        _STATE["audit"] = AuditLog(session.client("dynamodb", region_name=region, config=RETRY_CONFIG),
                                   os.environ.get(ENV_AUDIT_TABLE, settings.hub.table_name))
    with invocation(context):
        result = handle_canary(event, _STATE["members"], _STATE["audit"])
        log.info("canary %s", json.dumps(result), extra={"outcome": "canary", "canary_id": result.get("canary_id"),
                                                          "role_ok": result.get("role_ok")})
    return result
