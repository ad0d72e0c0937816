"""The Lambda entry point of every guardrail: ``ORGGUARD_POLICY`` (set by the hub stack) names the guardrail
this function serves, so a new guardrail needs no handler of its own."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from handlers.contract import ENV_POLICY
from handlers.engine import make_handler


@functools.cache
def _handler_for(guardrail_id: str) -> Callable[[Any, Any], dict[str, Any]]:
    return make_handler(guardrail_id)


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    guardrail_id = os.environ.get(ENV_POLICY, "")
    if not guardrail_id:
        raise RuntimeError(f"{ENV_POLICY} is not set: the hub stack names the guardrail each function serves")
    return _handler_for(guardrail_id)(event, context)
