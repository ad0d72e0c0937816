"""``orgguard report`` on moto: the hub's audit table filled by the code that fills it on AWS (the engine's
AuditLog, the sweep's batch writer), read into the text table, the JSON document and the HTML page; with
``--sweep``, a read-only sweep through OrgGuardRemediation folded in, changing nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest

import deploy
from handlers.audit import AuditLog
from handlers.batch.records import write_audit
from tests.support.handlers import Hub
from tests.support.members import Member, bucket_encryption, make_bucket
from tests.support.moto_env import HUB_ACCOUNT, HUB_REGION, MEMBER_REGION
from tests.support.settings_files import organization_raw, write_settings

OTHER = "222222222222"
DAY = 86400.0


def config(workdir: Path, names: dict[str, str]) -> str:
    root = boto3.client("organizations", region_name=HUB_REGION).list_roots()["Roots"][0]["Id"]
    raw = organization_raw(HUB_ACCOUNT, HUB_ACCOUNT, HUB_REGION, [HUB_REGION, MEMBER_REGION], [root],
                           include_management_account=False)
    raw["organization"]["account_names"] = names
    return str(write_settings(workdir, raw))


def handled(hub: Hub, event_id: str, account: str, outcome: str, days_ago: float,
            policy: str = "s3-encryption") -> None:
    """What the engine leaves for one handled event: claimed, then finished."""
    log = AuditLog(hub.dynamodb, hub.table_name, clock=lambda: time.time() - days_ago * DAY)
    key = f"event#{event_id}"
    log.claim(key, {"event_id": event_id, "policy": policy, "account": account, "region": HUB_REGION})
    log.finish(key, {"outcome": outcome, "resource": f"r-{event_id}"}, notification="sent")


@pytest.fixture
def filled(hq: Hub, spoke: Member, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    handled(hq, "e-1", spoke.account, "remediated", 0)
    handled(hq, "e-2", spoke.account, "failed:AccessDenied", 1, policy="ec2-compliance")
    handled(hq, "e-3", OTHER, "compliant", 2, policy="vpc-created")
    handled(hq, "e-old", OTHER, "failed:Throttling", 30)
    write_audit(hq.dynamodb, hq.table_name, [
        (f"sweep#run-1#{OTHER}#{HUB_REGION}#s3-encryption#legacy",
         {"account": OTHER, "region": HUB_REGION, "policy": "s3-encryption", "resource": "legacy",
          "outcome": "exempt", "source": "sweep"})], 30)
    AuditLog(hq.dynamodb, hq.table_name).once(f"notice#not-onboarded#{OTHER}#2030-01-01", {"account": OTHER})
    return config(tmp_path, {spoke.account: "workloads", OTHER: "other-team"})


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = deploy.main(["report", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_json_document_counts_the_periods_records_worst_account_first(
        filled: str, spoke: Member, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report(capsys, "--config", filled, "--json")

    document = json.loads(out)
    assert code == 0
    assert [a["account"] for a in document["accounts"]] == [spoke.account, OTHER]
    assert document["accounts"][0]["name"] == "workloads"
    assert document["accounts"][0]["guardrails"]["ec2-compliance"]["failed"] == 1
    assert document["accounts"][1]["counts"] == {"compliant": 1, "fixed": 0, "reported": 0, "exempt": 1,
                                                 "failed": 0, "other": 0, "total": 2}
    assert len(document["trend"]) == 7 and [d["total"] for d in document["trend"]][-3:] == [1, 1, 2]
    assert document["totals"]["total"] == 4  # the 30-day-old record and the notice marker are not counted


def test_the_text_table_and_the_html_page(filled: str, spoke: Member, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "out" / "report.html"
    code, out, err = report(capsys, "--config", filled, "--days", "30", "--html", str(page))

    assert code == 0 and f"report written to {page}" in err
    lines = out.splitlines()
    assert "(30 day(s), UTC)" in lines[0] and "orgguard-audit" in lines[1]
    assert next(line for line in lines if line.startswith(spoke.account)).split()[:3] == [
        spoke.account, "workloads", "(all)"]
    html = page.read_text(encoding="utf-8")
    assert spoke.account in html and OTHER in html and "other-team" in html
    assert "<script" not in html and "https://" not in html and "http://" not in html


def test_sweep_folds_a_read_only_sweep_in_and_changes_nothing(
        filled: str, hq: Hub, spoke: Member, capsys: pytest.CaptureFixture[str]) -> None:
    plain = make_bucket(spoke, "plain-data")
    keys = hq.keys()

    code, out, _ = report(capsys, "--config", filled, "--json", "--sweep")

    document = json.loads(out)
    assert code == 0, out
    mine = document["accounts"][0]
    assert mine["account"] == spoke.account
    assert mine["guardrails"]["s3-encryption"]["reported"] == 1  # the bucket the sweep found
    assert "read-only sweep" in document["sources"][1]
    assert bucket_encryption(spoke, plain) is None and hq.keys() == keys and hq.mail() == []


def test_without_a_hub_table_it_says_how_to_get_one(filled: str, hq: Hub,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    hq.dynamodb.delete_table(TableName=hq.table_name)
    code, _, err = report(capsys, "--config", filled)
    assert code == 1 and "audit table orgguard-audit does not exist" in err and "orgguard hub" in err


@pytest.mark.parametrize("days", ["0", "401"])
def test_a_period_out_of_range_is_explained(filled: str, capsys: pytest.CaptureFixture[str], days: str) -> None:
    code, out, err = report(capsys, "--config", filled, "--days", days, "--json")
    assert code == 1 and "--days" in err and json.loads(out)["ok"] is False
