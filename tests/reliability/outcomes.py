"""What "ends in an outcome" means, checked the same way by every bad-input test."""

from __future__ import annotations

import re
from typing import Any

from handlers.audit import event_key
from handlers.engine import Processed, Runtime, process
from handlers.registry import POLICIES_BY_ID, record_key_suffix
from tests.support.world import World

OUTCOME = re.compile(r"^(compliant|remediated|reported|exempt|gone|not-onboarded|region-disabled|"
                     r"(skipped|failed|rejected):[A-Za-z0-9._:-]+)$")


def audit_key(result: Processed, payload: Any = None, policy: str = "") -> str:
    """Rejected input is audited under its content hash, everything else under its event id (and, for a
    guardrail that is not the first to name the event, its id: ``handlers.registry.record_key_suffix``)."""
    if result.event_id.startswith("rejected#"):
        return result.event_id
    detail = payload.get("detail", payload) if isinstance(payload, dict) else {}
    detail = detail if isinstance(detail, dict) else {}
    suffix = record_key_suffix(POLICIES_BY_ID[policy], str(detail.get("eventSource", "")),
                               str(detail.get("eventName", ""))) if policy else ""
    return event_key(result.event_id, suffix)


def assert_ends_in_an_outcome(world: World, payload: Any, policy: str, rt: Runtime) -> Processed:
    """Processed returned (no exception), an outcome of the vocabulary, and the audit record written."""
    result = process(payload, POLICIES_BY_ID[policy], rt)
    assert isinstance(result, Processed)
    assert OUTCOME.match(result.outcome), result.outcome
    item = world.audit().get(audit_key(result, payload, policy))
    assert item is not None, f"no audit record for {result.event_id}"
    assert item["outcome"] == result.outcome or result.duplicate
    return result


def mail_mentioning(world: World, needle: str) -> str:
    bodies = [m.body for m in world.mail() if needle in m.body]
    assert bodies, f"no e-mail shows {needle!r} literally"
    return bodies[-1]
