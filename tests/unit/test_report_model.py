"""The report model: audit items -> counts per account x guardrail, worst accounts first, the trend per day,
only the period's items; a sweep's results folded in as today's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from handlers.batch.records import SweepFinding, TargetResult
from reporting.model import CATEGORIES, WHOLE_ACCOUNT, build_report, category, sweep_items

pytestmark = pytest.mark.unit

NOW = dt.datetime(2030, 3, 10, 15, 30, tzinfo=dt.UTC)
ALPHA, BETA, GAMMA = "111111111111", "222222222222", "333333333333"


def item(account: str, outcome: str, days_ago: int = 0, policy: str = "s3-encryption", **extra: Any) -> dict[str, Any]:
    moment = NOW - dt.timedelta(days=days_ago)
    return {"pk": f"event#{account}{outcome}{days_ago}", "account": account, "policy": policy, "outcome": outcome,
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), **extra}


@pytest.mark.parametrize(("outcome", "expected"), [
    ("compliant", "compliant"), ("remediated", "fixed"), ("reported", "reported"), ("exempt", "exempt"),
    ("failed:AccessDenied", "failed"), ("failed:a:b", "failed"), ("skipped:no-spoke", "other"),
    ("not-onboarded", "other"), ("gone", "other"), ("rejected:bad", "other"), ("nonsense", "other")])
def test_every_outcome_falls_into_one_category(outcome: str, expected: str) -> None:
    assert category(outcome) == expected


def test_counts_per_account_and_guardrail() -> None:
    report = build_report([
        item(ALPHA, "remediated"), item(ALPHA, "remediated", 1), item(ALPHA, "compliant", policy="vpc-created"),
        item(ALPHA, "failed:Throttling", 2, policy="ec2-compliance"), item(BETA, "exempt"),
        item(BETA, "reported", policy="vpc-created")], NOW, names={ALPHA: "workload-alpha"})

    alpha = next(a for a in report.accounts if a.account == ALPHA)
    cells = {g.policy: g.counts.to_dict() for g in alpha.guardrails}
    assert alpha.name == "workload-alpha"
    assert cells["s3-encryption"]["fixed"] == 2 and cells["s3-encryption"]["total"] == 2
    assert cells["vpc-created"]["compliant"] == 1
    assert cells["ec2-compliance"]["failed"] == 1
    assert alpha.counts.to_dict() == {"compliant": 1, "fixed": 2, "reported": 0, "exempt": 0, "failed": 1,
                                      "other": 0, "total": 4}
    assert report.totals.total == 6 and report.totals.exempt == 1 and report.totals.reported == 1
    assert report.guardrails == ["ec2-compliance", "s3-encryption", "vpc-created"]


def test_worst_accounts_come_first_failed_then_reported_then_fixed() -> None:
    report = build_report([
        *(item(GAMMA, "remediated") for _ in range(9)),  # much fixed, nothing left open
        item(BETA, "reported"), item(BETA, "compliant"),
        item(ALPHA, "failed:AccessDenied"),
        item("444444444444", "compliant"), item("000000000000", "compliant")], NOW)

    assert [a.account for a in report.accounts] == [ALPHA, BETA, GAMMA, "000000000000", "444444444444"]
    alpha = build_report([item(ALPHA, "compliant", policy="a"), item(ALPHA, "failed:X", policy="b")], NOW)
    assert [g.policy for g in alpha.accounts[0].guardrails] == ["b", "a"]  # within an account, the worst first


def test_the_trend_has_every_day_of_the_period_oldest_first() -> None:
    report = build_report([item(ALPHA, "remediated", 0), item(ALPHA, "failed:X", 0), item(BETA, "compliant", 3)],
                          NOW, days=5)

    assert [d.day for d in report.trend] == [dt.date(2030, 3, n) for n in (6, 7, 8, 9, 10)]
    assert [d.counts.total for d in report.trend] == [0, 1, 0, 0, 2]
    assert report.trend[-1].counts.fixed == 1 and report.trend[-1].counts.failed == 1
    assert (report.first_day, report.last_day, report.days) == (dt.date(2030, 3, 6), dt.date(2030, 3, 10), 5)


def test_only_the_periods_outcome_records_are_counted() -> None:
    early_today = item(ALPHA, "compliant") | {"time": "2030-03-10T00:00:00.000000Z"}
    first_day = item(ALPHA, "compliant") | {"time": "2030-03-04T00:00:00Z"}
    day_before = item(ALPHA, "compliant") | {"time": "2030-03-03T23:59:59.999999Z"}
    report = build_report([
        early_today, first_day, day_before, item(ALPHA, "compliant", 30),
        item(ALPHA, "compliant") | {"time": "not a time"},
        {"pk": f"notice#not-onboarded#{ALPHA}#2030-03-10", "account": ALPHA, "time": early_today["time"]},  # marker
        {"pk": "event#claimed", "account": ALPHA, "state": "claimed", "time": early_today["time"]},  # in flight
        {"outcome": "remediated", "time": early_today["time"]}], NOW)  # no account

    assert report.totals.compliant == 2
    assert report.outside == 3


def test_a_record_about_a_whole_account_region_is_its_own_row() -> None:
    report = build_report([item(ALPHA, "not-onboarded", policy=""), item(ALPHA, "failed:X", policy="*")], NOW)
    [row] = report.accounts[0].guardrails
    assert row.policy == WHOLE_ACCOUNT and row.counts.other == 1 and row.counts.failed == 1


def test_the_json_document_has_the_same_numbers() -> None:
    report = build_report([item(ALPHA, "remediated"), item(BETA, "failed:X", 1)], NOW, days=2,
                          names={BETA: "beta"}, sources=["the audit table t"])
    document = report.to_json()

    assert document["categories"] == list(CATEGORIES)
    assert [a["account"] for a in document["accounts"]] == [BETA, ALPHA]
    assert document["accounts"][0]["name"] == "beta"
    assert document["accounts"][0]["guardrails"]["s3-encryption"]["failed"] == 1
    assert document["trend"] == [
        {"day": "2030-03-09", "compliant": 0, "fixed": 0, "reported": 0, "exempt": 0, "failed": 1, "other": 0,
         "total": 1},
        {"day": "2030-03-10", "compliant": 0, "fixed": 1, "reported": 0, "exempt": 0, "failed": 0, "other": 0,
         "total": 1}]
    assert document["totals"]["total"] == 2 and document["sources"] == ["the audit table t"]


def test_a_sweeps_findings_count_as_todays_compliant_ones_too() -> None:
    done = TargetResult(ALPHA, "us-east-1", findings=[
        SweepFinding(ALPHA, "us-east-1", "s3-encryption", "b1", "compliant"),
        SweepFinding(ALPHA, "us-east-1", "s3-encryption", "b2", "reported")])
    unreachable = TargetResult(BETA, "us-east-1", status="not-onboarded")
    exempt = TargetResult(GAMMA, "us-east-1", status="exempt")

    report = build_report(sweep_items([done, unreachable, exempt], NOW), NOW)

    assert report.trend[-1].counts.total == 3
    assert {a.account: a.counts.to_dict()["total"] for a in report.accounts} == {ALPHA: 2, BETA: 1}
    assert report.accounts[0].account == ALPHA  # reported outranks other


def test_a_period_of_no_day_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        build_report([], NOW, days=0)
