"""Bad input ends in an outcome, never in an unhandled exception; user-controlled text is never template code.

Property-based (Hypothesis, derandomized for CI) over mutated real CloudTrail records; the nasty ones found
are kept as a fixed corpus (``test_corpus.py``), template syntax is covered in ``test_template_syntax.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from handlers.engine import Runtime, process
from handlers.registry import POLICIES_BY_ID
from handlers.settings import STORM_LIMIT_MAX
from tests.support.world import MEMBER_ACCOUNT, MEMBER_REGION, World
from tests.support.world import settings as world_settings

from . import samples
from .mutations import bucket_names, mutated_events
from .outcomes import assert_ends_in_an_outcome

FAST = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def rt(shared_world: World) -> Runtime:
    for name in bucket_names():  # so mutated S3 events find real, unencrypted buckets to remediate
        shared_world.member.bucket(name)
    # Every example's e-mail is read here: storm control (10 a window by default) must not fold them.
    return shared_world.runtime(world_settings(notifications={"storm_limit": STORM_LIMIT_MAX}))


@FAST
@given(example=mutated_events(MEMBER_ACCOUNT, MEMBER_REGION))
def test_every_mutated_event_ends_in_an_outcome(shared_world: World, rt: Runtime,
                                                example: tuple[str, dict[str, Any], str, bool]) -> None:
    _, payload, policy, fresh = example
    detail = payload.get("detail", payload)
    if fresh and isinstance(detail, dict):
        detail["eventID"] = str(uuid.uuid4())
    result = assert_ends_in_an_outcome(shared_world, payload, policy, rt)
    event(result.outcome)  # --hypothesis-show-statistics: how far the examples got


@FAST
@given(payload=st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=50),
                         st.lists(st.integers(), max_size=5),
                         st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=5),
                         st.recursive(st.none() | st.text(max_size=5),
                                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                                          st.sampled_from(["detail", "detail-type", "eventName", "eventSource"]),
                                          inner, max_size=4), max_leaves=10)),
       policy=st.sampled_from(sorted(POLICIES_BY_ID)))
def test_anything_that_is_not_an_event_is_rejected_and_audited(shared_world: World, rt: Runtime, payload: Any,
                                                               policy: str) -> None:
    result = assert_ends_in_an_outcome(shared_world, payload, policy, rt)
    assert result.outcome.startswith(("rejected:", "skipped:")), result.outcome


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=120).filter(lambda t: t.strip() == t and "\n" not in t and "\r" not in t))
def test_any_actor_text_is_rendered_verbatim(shared_world: World, rt: Runtime, text: str) -> None:
    vpc = shared_world.member.vpc("10.50.0.0/16")
    payload = samples.vpc_created(MEMBER_ACCOUNT, MEMBER_REGION, vpc, "10.50.0.0/16", str(uuid.uuid4()))
    payload["detail"]["userIdentity"] = {"type": "IAMUser", "arn": text, "accountId": MEMBER_ACCOUNT}
    result = process(payload, POLICIES_BY_ID["vpc-created"], rt)
    assert result.notified
    # the person line names the user by the ARN's last part; the ARN line (when it says more) shows it whole
    assert any(f"\nARN:      {text}\n" in m.body or f"Who:      {text} (IAM user)" in m.body
               for m in shared_world.mail())
