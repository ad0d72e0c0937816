"""Storm control's pure parts: windows, keys, the admission decision, the digest's lines, subject and now."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers import digest, storm
from handlers.notify import Renderer
from handlers.settings import validate

pytestmark = pytest.mark.unit

T = 1_800_000_123  # 2027-01-15T08:02:03Z


def test_windows_are_aligned_and_keyed_by_account_policy_and_start() -> None:
    assert storm.window_start(T, 15) == 1_800_000_000 - 1_800_000_000 % 900 == T // 900 * 900
    assert storm.window_start(T // 900 * 900, 15) == T // 900 * 900, "a window starts at its own start"
    assert storm.window_start(T // 900 * 900 - 1, 15) == T // 900 * 900 - 900
    assert storm.window_start(T, 1440) % 86400 == 0
    window = storm.window_for("111111111111", "s3-encryption", T, 15)
    assert window.key == f"storm#111111111111#s3-encryption#{T // 900 * 900}"
    assert window.end - window.start == 900
    assert storm.parse_window_key(window.key) == ("111111111111", "s3-encryption", window.start)
    with pytest.raises(ValueError):
        storm.parse_window_key("event#abc")


def test_a_retry_keeps_the_window_its_record_names_even_after_the_window_turned() -> None:
    first = storm.window_for("111111111111", "vpc-created", T, 15)
    later = storm.window_for("111111111111", "vpc-created", T + 3600, 15, recorded=first.key)
    assert later == first
    other = storm.window_for("222222222222", "vpc-created", T + 3600, 15, recorded=first.key)
    assert other.start == storm.window_start(T + 3600, 15), "a record of another account's window is ignored"


def test_due_items_are_per_hour_of_the_window_end() -> None:
    window = storm.Window("111111111111", "vpc-created", T // 900 * 900, 900)
    assert window.due_key == "storm-due#" + dt.datetime.fromtimestamp(window.end, dt.UTC).strftime("%Y-%m-%dT%H")
    keys = storm.due_keys(T, 2)
    assert len(keys) == 3 and keys[-1] == storm.due_key(T) and keys == sorted(keys)


@pytest.mark.parametrize(("sent", "event", "limit", "decision"), [
    (set(), "event#a", 1, storm.Decision.SEND),
    ({"event#a"}, "event#b", 1, storm.Decision.FOLD),
    ({"event#a"}, "event#a", 1, storm.Decision.SEND),  # a retry of an admitted event is still admitted
    ({f"event#{i}" for i in range(9)}, "event#x", 10, storm.Decision.SEND),
    ({f"event#{i}" for i in range(10)}, "event#x", 10, storm.Decision.FOLD),
    ({f"event#{i}" for i in range(10)}, "event#3", 10, storm.Decision.SEND),
])
def test_the_decision_admits_up_to_the_limit_and_is_idempotent(sent: set[str], event: str, limit: int,
                                                               decision: storm.Decision) -> None:
    assert storm.decide(sent, event, limit) is decision


def records(n: int) -> list[dict[str, str]]:
    return [{"outcome": "remediated", "resource": f"bucket-{i}\nnext", "region": "eu-west-1",
             "event_time": f"2027-01-15T08:{i:02d}:00Z", "event_id": f"id-{i}", "severity": "medium"}
            for i in range(n)]


def test_the_digest_lists_every_folded_outcome_on_one_line_with_a_short_subject() -> None:
    settings = validate({}, "defaults")
    window = storm.Window("111111111111", "ec2-compliance", T // 900 * 900, 900)
    context = digest.render_context(window, list(reversed(records(15))), missing=1, overflow=2,
                                    settings=settings, account_name="a very long account name " * 5)
    assert context["count"] == 18
    subject, body = Renderer(user_dir="").render(digest.TEMPLATE, context)
    assert len(subject) <= 99
    assert subject.startswith("[OrgGuard] a very long account name")  # cut in the middle, what happened kept
    assert subject.endswith(": digest of 18 ec2-compliance outcomes")
    listed = [line for line in body.splitlines() if line.startswith("- fixed")]
    assert listed == [f"- fixed  bucket-{i} next  eu-west-1  2027-01-15T08:{i:02d}:00Z  event id-{i}"
                      for i in range(15)]
    assert "2 more outcome(s)" in body and "1 folded outcome(s) whose record could not be read" in body
    assert digest.digest_severity([*records(2), {"severity": "high"}]) == "high"


def test_the_digest_runs_at_the_later_of_the_clock_and_the_schedule() -> None:
    assert digest.scheduled_now({"time": "2027-01-15T09:00:00Z"}, lambda: T) == dt.datetime(
        2027, 1, 15, 9, tzinfo=dt.UTC).timestamp()
    assert digest.scheduled_now({"time": "2020-01-01T00:00:00Z"}, lambda: T) == T
    assert digest.scheduled_now({"time": "yesterday"}, lambda: T) == T
    assert digest.scheduled_now(None, lambda: T) == T


def test_storm_settings_default_to_ten_per_fifteen_minutes() -> None:
    notifications = validate({}, "defaults").notifications
    assert (notifications.storm_limit, notifications.storm_window_minutes) == (10, 15)


def test_only_an_item_too_large_is_counted_as_overflow() -> None:
    from botocore.exceptions import ClientError

    def error(code: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, "UpdateItem")

    assert storm.item_too_large(error("ValidationException", "Item size to update has exceeded the maximum "
                                                              "allowed size"))
    assert not storm.item_too_large(error("ValidationException", "Invalid UpdateExpression: syntax error"))
    assert not storm.item_too_large(error("ThrottlingException", "size"))
