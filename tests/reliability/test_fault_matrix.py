"""Faults on every AWS call of every guardrail: the event is retried and acts once; nothing is lost.

Each row of ``matrix.TRANSIENT_ROWS`` fails one call on the first delivery (beyond botocore's retries),
then delivers the same event again with the fault gone, as Lambda does, and once more (EventBridge's
at-least-once duplicate). The member's state and the successful write calls prove "exactly once".
"""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.audit import event_key
from handlers.engine import Processed
from handlers.errors import is_transient
from handlers.sessions import RETRY_CONFIG
from tests.support.world import OTHER_MEMBER_ACCOUNT, World

from . import matrix
from .matrix import (
    CALLS,
    CLAIM,
    DELETED_ROWS,
    NOT_ONBOARDED_ROWS,
    REGION_DISABLED_ROWS,
    TRANSIENT_ROWS,
    UNCONFIRMED_ROWS,
    WRITES,
    Expect,
    Special,
)
from .scenarios import Clock, build

ATTEMPTS = 1 + int(RETRY_CONFIG.retries["max_attempts"])  # botocore's max_attempts counts the retries


def _row_id(row: Expect) -> str:
    return f"{row.policy}-{row.call[0]}.{row.call[1]}-{row.kind}"


@pytest.mark.parametrize("policy", sorted(CALLS))
def test_the_matrix_lists_every_call_the_guardrail_makes(world: World, policy: str) -> None:
    scenario = build(policy, world.member)
    result = world.deliver(scenario.payload(None), policy, world.runtime())
    assert isinstance(result, Processed), result
    assert result.outcome == matrix.OUTCOME[policy]
    seen = list(dict.fromkeys((c.service, c.operation) for c in world.injector.calls))
    assert tuple(seen) == CALLS[policy]


@pytest.mark.parametrize("row", TRANSIENT_ROWS, ids=_row_id)
def test_transient_fault_is_retried_and_acts_once(world: World, row: Expect) -> None:
    scenario = build(row.policy, world.member)
    payload = scenario.payload(None)
    clock = Clock()
    rt = world.runtime(audit_clock=clock)
    code, _ = world.injector.fail_kind(row.kind, *row.call)

    first = world.deliver(payload, row.policy, rt)
    assert isinstance(first, ClientError) and first.response["Error"]["Code"] == code, first
    assert is_transient(first)
    assert world.injector.attempts(*row.call) == ATTEMPTS, "botocore retried before giving up"
    if row.call == CLAIM:
        assert not world.injector.successes("sts", "AssumeRole") and scenario.untouched()
    if not row.acted_before_failing and row.call not in (matrix.PUBLISH, matrix.RECORD):
        assert scenario.untouched()
    if row.acted_before_failing and row.call not in (matrix.PUBLISH, matrix.RECORD):
        claim = world.audit().get(event_key(_event_id(payload)))
        assert claim is not None and claim["state"] == "claimed" and claim["lease_until"] == 0
        calls = CALLS[row.policy]
        done = {f"{s}:{o}" for s, o in WRITES[row.policy] if (s, o) in calls[: calls.index(row.call)]}
        assert {a["action"] for a in json.loads(claim["carried_actions"])} == done
    world.injector.clear()

    second = world.deliver(payload, row.policy, rt)
    assert isinstance(second, Processed), second  # never held back by the lease: the claim was handed over
    assert second.outcome == row.outcome

    duplicate = world.deliver(payload, row.policy, rt)
    assert isinstance(duplicate, Processed) and duplicate.duplicate
    assert duplicate.outcome == oc.skipped("duplicate")

    assert {w: len(world.injector.successes(*w)) for w in WRITES[row.policy]} == {w: 1 for w in WRITES[row.policy]}
    assert scenario.fixed()
    assert len(world.mail()) == row.notifications
    item = world.audit().get(event_key(second.event_id))
    assert item is not None and item["state"] == "done" and item["outcome"] == row.outcome
    assert item["notification"] == "sent"
    assert {a["action"] for a in json.loads(item["actions"])} == {f"{s}:{o}" for s, o in WRITES[row.policy]}


def _event_id(payload: dict[str, object]) -> str:
    detail = payload.get("detail", payload)
    assert isinstance(detail, dict)
    return str(detail["eventID"])


@pytest.mark.parametrize("row", NOT_ONBOARDED_ROWS, ids=lambda r: r.policy)
def test_access_denied_is_not_onboarded_with_one_email_per_account_per_day(world: World, row: Special) -> None:
    other = world.add_member(OTHER_MEMBER_ACCOUNT)
    here, there = build(row.policy, world.member), build(row.policy, other)
    clock = Clock()
    rt = world.runtime(clock=clock)
    world.injector.fail("sts", "AssumeRole", "AccessDenied", 403,
                        message="User is not authorized to perform: sts:AssumeRole")

    same_day = [world.deliver(here.payload(None), row.policy, rt) for _ in range(2)]
    assert len(world.mail()) == 1
    world.deliver(there.payload(None), row.policy, rt)
    assert len(world.mail()) == 2, "another account gets its own notice"
    clock.advance(86400)
    next_day = world.deliver(here.payload(None), row.policy, rt)
    mails = world.mail()

    results = [*same_day, next_day]
    assert all(isinstance(r, Processed) and r.outcome == row.outcome for r in results), results
    assert len(mails) == 3
    assert all("not onboarded" in m.subject and m.attributes["outcome"] == oc.NOT_ONBOARDED for m in mails)
    assert world.injector.attempts("sts", "AssumeRole") == 4, "AccessDenied is not retried by botocore"
    for result in results:
        assert isinstance(result, Processed)
        item = world.audit().get(event_key(result.event_id))
        assert item is not None and item["outcome"] == oc.NOT_ONBOARDED
    assert here.untouched() and there.untouched()


@pytest.mark.parametrize("row", REGION_DISABLED_ROWS, ids=lambda r: r.policy)
def test_sts_not_activated_in_a_region_is_its_own_outcome_once_per_account_region_and_day(
        world: World, row: Special) -> None:
    scenario = build(row.policy, world.member)
    clock = Clock()
    rt = world.runtime(clock=clock)
    world.injector.fail("sts", "AssumeRole", "RegionDisabledException", 403,
                        message=f"STS is not activated in this region for account:{world.member.account}")

    results = [world.deliver(scenario.payload(None), row.policy, rt) for _ in range(2)]
    clock.advance(86400)
    results.append(world.deliver(scenario.payload(None), row.policy, rt))

    assert all(isinstance(r, Processed) and r.outcome == row.outcome for r in results), results
    mails = world.mail()
    assert len(mails) == 2 and all(m.attributes["outcome"] == oc.REGION_DISABLED for m in mails)
    assert all(m.attributes["severity"] == "high" and "STS not activated" in m.subject for m in mails)
    assert scenario.untouched()


@pytest.mark.parametrize("row", UNCONFIRMED_ROWS, ids=lambda r: r.policy)
def test_an_e_mail_whose_confirmation_failed_is_not_sent_twice(world: World, row: Special) -> None:
    scenario = build(row.policy, world.member)
    payload = scenario.payload(None)
    rt = world.runtime()
    sent: list[bool] = []
    world.injector.before(*matrix.PUBLISH, lambda _: sent.append(True))
    world.injector.before(*matrix.RECORD, lambda _: sent and world.injector.fail_kind("5xx", *matrix.RECORD))

    first = world.deliver(payload, row.policy, rt)
    assert isinstance(first, ClientError), first
    assert len(world.mail()) == 1
    world.injector.clear()

    retry = world.deliver(payload, row.policy, rt)

    assert isinstance(retry, Processed) and retry.outcome == row.outcome and not retry.notified
    assert len(world.mail()) == 1  # at most once
    item = world.audit().get(event_key(retry.event_id))
    assert item is not None and (item["state"], item["notification"]) == ("done", "unknown")
    assert {w: len(world.injector.successes(*w)) for w in WRITES[row.policy]} == {w: 1 for w in WRITES[row.policy]}


READ = {"vpc-created": ("ec2", "DescribeVpcs"), "s3-encryption": ("s3", "GetBucketEncryption"),
        "ec2-compliance": ("ec2", "DescribeInstances"), "s3-public-access": ("s3", "GetPublicAccessBlock")}
WRITE = {"s3-encryption": ("s3", "PutBucketEncryption"), "ec2-compliance": ("ec2", "CreateTags"),
         "s3-public-access": ("s3", "PutPublicAccessBlock")}
BUCKETS = ("s3-encryption", "s3-public-access")


@pytest.mark.parametrize("row", DELETED_ROWS, ids=lambda r: f"{r.policy}-{r.fault.replace(' ', '-')}")
def test_resource_deleted_between_event_and_action_is_gone(world: World, row: Special) -> None:
    member = world.member
    scenario = build(row.policy, member)
    call = READ[row.policy] if "read" in row.fault else WRITE[row.policy]
    deleted: list[str] = []

    def delete(_: object) -> None:
        if deleted:
            return
        deleted.append(scenario.resource)
        if row.policy == "vpc-created":
            member.client("ec2").delete_vpc(VpcId=scenario.resource)
        elif row.policy in BUCKETS:
            member.client("s3").delete_bucket(Bucket=scenario.resource)
        else:
            member.client("ec2").terminate_instances(InstanceIds=[scenario.resource])
            if call == WRITE[row.policy]:
                # moto still accepts writes to a terminated instance; AWS answers as for an unknown id.
                for operation in ("CreateTags", "ModifyInstanceAttribute"):
                    world.injector.fail("ec2", operation, "InvalidInstanceID.NotFound", 400,
                                        message=f"The instance ID '{scenario.resource}' does not exist")

    world.injector.before(*call, delete)
    result = world.deliver(scenario.payload(None), row.policy, world.runtime())

    assert deleted, "the resource was deleted just before the call"
    assert isinstance(result, Processed), result
    assert result.outcome == row.outcome
    assert bool(world.mail()) == row.notified
    assert not any(world.injector.successes(*w) for w in WRITES[row.policy])
    item = world.audit().get(event_key(result.event_id))
    assert item is not None and item["outcome"] == oc.GONE
    if row.policy in BUCKETS:
        assert not member.bucket_exists(scenario.resource)


def test_publish_failing_after_the_fix_resends_only_the_email(world: World) -> None:
    """The SNS case spelled out: the retry neither reads nor writes the member again; it sends the e-mail."""
    scenario = build("s3-encryption", world.member)
    payload = scenario.payload(str(uuid.uuid4()))
    rt = world.runtime()
    world.injector.fail_kind("5xx", "sns", "Publish")
    assert isinstance(world.deliver(payload, "s3-encryption", rt), ClientError)
    assert scenario.fixed() and not world.mail()
    world.injector.clear()
    calls_before_retry = len(world.injector.calls)

    retry = world.deliver(payload, "s3-encryption", rt)

    assert isinstance(retry, Processed) and retry.outcome == oc.REMEDIATED and retry.notified
    retry_calls = {(c.service, c.operation) for c in world.injector.calls[calls_before_retry:]}
    assert retry_calls == {CLAIM, matrix.PUBLISH, matrix.RECORD}, "no member call on the retry"
    mails = world.mail()
    assert len(mails) == 1 and scenario.resource in mails[0].body and "fixed" in mails[0].subject


def test_the_documented_matrix_is_the_tested_one() -> None:
    assert matrix.DOC.exists(), "run: python -m tests.reliability.matrix"
    assert matrix.DOC.read_text() == matrix.render(), (
        "docs/fault-matrix.md is stale: run `python -m tests.reliability.matrix`")


def test_every_guardrail_and_call_has_both_transient_faults() -> None:
    covered = {(r.policy, r.call, r.kind) for r in TRANSIENT_ROWS}
    expected = {(p, c, k) for p, calls in CALLS.items() for c in calls for k in matrix.TRANSIENT_KINDS}
    assert covered == expected
    assert {r.policy for r in NOT_ONBOARDED_ROWS} == set(CALLS)
