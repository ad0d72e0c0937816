"""The onboarding canary's Lambda entry point: a thin adapter around ``handlers.canary.handle_canary``."""

from __future__ import annotations

import json
import logging
from typing import Any

from handlers.canary import handle_canary
from handlers.errors import RuntimeIncomplete
from handlers.logs import configure_lambda_logging, invocation
from handlers.runtime import Runtime, RuntimeHolder, runtime_from_environment

log = logging.getLogger("orgguard")


def _cold_start() -> Runtime:
    configure_lambda_logging()
    return runtime_from_environment(notify=False)  # the canary records; it never e-mails


RUNTIME: RuntimeHolder[Runtime] = RuntimeHolder(_cold_start)


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    runtime = RUNTIME.get()
    if runtime.audit is None:
        raise RuntimeIncomplete("audit log")
    with invocation(context):
        result = handle_canary(event, runtime.members, runtime.audit, runtime.settings.policies.s3_encryption)
        log.info("canary %s", json.dumps(result), extra={"outcome": "canary", "canary_id": result.get("canary_id"),
                                                          "role_ok": result.get("role_ok")})
    return result
