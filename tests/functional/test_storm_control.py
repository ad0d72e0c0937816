"""Storm control on moto: the engine and the audit table fold a burst into one digest per account x guardrail
window, the digest run sends it once, and a retried event is never counted twice."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from handlers import digest, storm
from handlers.audit import DIGEST, SENT, event_key
from handlers.runtime import Runtime
from tests.support.events import vpc_event
from tests.support.handlers import Hub, fail_calls, run, runtime, settings_for
from tests.support.members import Member, make_network
from tests.support.moto_env import HUB_REGION

pytestmark = pytest.mark.functional

SAMPLE = "records/spotlight__CreateVpc__1.json"
START = 1_800_000_000 // 900 * 900 + 60  # a minute into a 15-minute window
EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def storm_runtime(hub: Hub, member: Member, clock: Clock, limit: int = 10) -> Runtime:
    rt = runtime(hub, settings_for(member, notifications={"storm_limit": limit, "storm_window_minutes": 15}))
    rt.clock = clock
    return rt


def burst(rt: Runtime, member: Member, vpc_id: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        event = vpc_event(SAMPLE, member, vpc_id, "10.20.0.0/16")
        ids.append(event["detail"]["eventID"] if "detail" in event else event["eventID"])
        run(event, "vpc-created", rt)
    return ids


def ids_in(text: str) -> set[str]:
    return set(EVENT_ID.findall(text))


def test_a_burst_gives_the_limit_in_e_mails_and_one_digest_with_the_rest(hub: Hub, member: Member) -> None:
    clock = Clock(START)
    rt = storm_runtime(hub, member, clock)
    ids = burst(rt, member, make_network(member).vpc_id, 25)
    mails = hub.mail()
    assert len(mails) == 10
    mailed = set().union(*(ids_in(m.body) for m in mails)) & set(ids)
    assert mailed == set(ids[:10])
    records = {i: hub.event_item(i) for i in ids}
    assert [records[i]["notification"] for i in ids] == [SENT] * 10 + [DIGEST] * 15
    window = storm.window_key(member.account, "vpc-created", storm.window_start(START, 15))
    assert {r["storm_window"] for r in records.values()} == {window}
    assert all(r["state"] == "done" and r["subject"] for r in records.values()), "everything is still audited"

    assert digest.run(rt, START + 600)["sent"] == [], "the window has not ended"
    assert hub.mail() == mails
    assert digest.run(rt, START + 900)["sent"] == [window]
    (sent,) = hub.mail()[10:]
    assert ids_in(sent.body) & set(ids) == set(ids[10:])
    assert len(sent.subject) <= 99 and "digest of 15 vpc-created" in sent.subject and member.name in sent.subject
    assert sent.attributes["outcome"] == "digest" and sent.attributes["account"] == member.account
    assert len([line for line in sent.body.splitlines() if line.startswith("- reported")]) == 15
    item = hub.item(window)
    assert item is not None and item["digest"] == "sent" and item["digest_count"] == 15

    assert digest.run(rt, START + 1800)["sent"] == [], "a later run never sends the digest again"
    assert len(hub.mail()) == 11


def test_a_retried_event_is_not_counted_twice(hub: Hub, member: Member) -> None:
    clock = Clock(START)
    rt = storm_runtime(hub, member, clock, limit=2)
    vpc = make_network(member).vpc_id
    first = vpc_event(SAMPLE, member, vpc, "10.20.0.0/16")
    run(first, "vpc-created", rt)
    assert run(first, "vpc-created", rt).duplicate, "a redelivery is a duplicate: no count, no e-mail"
    burst(rt, member, vpc, 1)
    assert len(hub.mail()) == 2, "the redelivery did not use up the second e-mail"

    window = storm.Window(member.account, "vpc-created", storm.window_start(START, 15), 900)
    control = storm.StormControl(hub.dynamodb, hub.table_name, 2, 86400)
    sent_key = event_key(first["detail"]["eventID"] if "detail" in first else first["eventID"])
    assert control.admit(window, sent_key) is storm.Decision.SEND, "an admitted event stays admitted"
    assert control.admit(window, "event#late") is storm.Decision.FOLD
    assert control.admit(window, "event#late") is storm.Decision.FOLD
    item = hub.item(window.key)
    assert item is not None
    assert len(item["sent"]["SS"]) == 2 and item["folded"]["SS"] == ["event#late"]


def test_accounts_and_guardrails_do_not_share_a_window(hub: Hub) -> None:
    control = storm.StormControl(hub.dynamodb, hub.table_name, 1, 86400)
    start = storm.window_start(START, 15)
    windows = [storm.Window(a, p, start, 900) for a in ("111111111111", "222222222222")
               for p in ("s3-encryption", "vpc-created")]
    assert [control.admit(w, "event#a") for w in windows] == [storm.Decision.SEND] * 4
    assert [control.admit(w, "event#b") for w in windows] == [storm.Decision.FOLD] * 4
    later = storm.Window("111111111111", "s3-encryption", start + 900, 900)
    assert control.admit(later, "event#b") is storm.Decision.SEND, "a new window starts afresh"


def test_daily_notices_are_not_counted(hub: Hub, member: Member, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(storm, "gate", lambda *args: calls.append(args))
    base = boto3.Session(region_name=HUB_REGION)
    fail_calls(base.events, "sts", "AssumeRole", "AccessDenied", times=1000, status=403)
    rt = runtime(hub, settings_for(member), base=base)
    event = vpc_event(SAMPLE, member, make_network(member).vpc_id, "10.20.0.0/16")
    assert run(event, "vpc-created", rt).outcome == "not-onboarded"
    assert calls == [] and len(hub.mail()) == 1


def test_a_failed_digest_is_sent_by_the_next_run_and_never_twice(hub: Hub, member: Member) -> None:
    clock = Clock(START)
    rt = storm_runtime(hub, member, clock, limit=1)
    ids = burst(rt, member, make_network(member).vpc_id, 3)
    assert len(hub.mail()) == 1
    window = storm.window_key(member.account, "vpc-created", storm.window_start(START, 15))
    fail_calls(hub.sns.meta.events, "sns", "Publish", "InternalError", times=1, status=500)
    with pytest.raises(RuntimeError, match="1 digest"):
        digest.run(rt, START + 900)
    item = hub.item(window)
    assert item is not None and item["digest"] == "failed"
    assert digest.run(rt, START + 1200)["sent"] == [window]
    assert digest.run(rt, START + 1500)["sent"] == []
    (sent,) = hub.mail()[1:]
    assert ids_in(sent.body) & set(ids) == set(ids[1:]) and "digest of 2 vpc-created" in sent.subject
