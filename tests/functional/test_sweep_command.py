"""``orgguard sweep`` on moto, as an operator runs it: the organization's accounts reached through
OrgGuardRemediation, the report, ``--fix`` with audit and one e-mail per account, resuming, and a hub that
is not there."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

import commands.sweep as sweep_command
import deploy
from handlers.batch.sweep import sweep_target
from tests.support.handlers import Hub
from tests.support.members import Member, bucket_encryption, make_bucket
from tests.support.moto_env import HUB_ACCOUNT, HUB_REGION, MEMBER_REGION, assume, client_error
from tests.support.settings_files import organization_raw, write_settings

KMS_STANDARD = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True,
                 "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]


@pytest.fixture
def second(hq: Hub) -> Member:
    status = hq.session.client("organizations").create_account(
        Email="analytics@example.com", AccountName="analytics")["CreateAccountStatus"]
    account = status["AccountId"]
    return Member(account, MEMBER_REGION, "analytics",
                  assume(hq.session, account, "OrganizationAccountAccessRole", MEMBER_REGION))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # .sweep-state/ lands here
    return tmp_path


def config(workdir: Path, table: str = "orgguard-audit", topic: str = "orgguard-alerts") -> str:
    """The settings file: the whole organization (its root) governed, the management account left out."""
    root = boto3.client("organizations", region_name=HUB_REGION).list_roots()["Roots"][0]["Id"]
    raw = organization_raw(HUB_ACCOUNT, HUB_ACCOUNT, HUB_REGION, [HUB_REGION, MEMBER_REGION], [root],
                           include_management_account=False)
    return str(write_settings(workdir, {**raw, "hub": {"table_name": table, "topic_name": topic}}))


def sweep(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = deploy.main(["sweep", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def state_files(workdir: Path) -> list[Path]:
    return sorted((workdir / ".sweep-state").glob("*.json")) if (workdir / ".sweep-state").exists() else []


def test_a_report_lists_what_does_not_meet_the_standard_and_changes_nothing(
        hq: Hub, spoke: Member, second: Member, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = make_bucket(spoke, "plain-data")
    make_bucket(second, "good-data", encryption=KMS_STANDARD[0])

    code, out, err = sweep(capsys, "--config", config(workdir), "--json", "--policy", "s3-encryption")

    document = json.loads(out)
    assert code == 0 and document["complete"] and not document["fix"]
    outcomes = {(f["account"], f["resource"]): f["outcome"] for f in document["findings"]}
    assert outcomes == {(spoke.account, plain): "reported", (second.account, "good-data"): "compliant"}
    assert {(t["account"], t["region"]) for t in document["targets"]} == {
        (a, r) for a in (spoke.account, second.account) for r in (HUB_REGION, MEMBER_REGION)}
    assert bucket_encryption(spoke, plain) is None
    assert not [k for k in hq.keys() if k.startswith("sweep#")]  # noqa: SIM118 (Hub.keys() scans)
    assert hq.mail() == [] and state_files(workdir) == []
    assert "[4/4]" in err


def test_fix_remediates_audits_and_mails_one_summary_per_account(
        hq: Hub, spoke: Member, second: Member, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    west = [make_bucket(spoke, f"west-{i}") for i in range(2)]
    east = assume(hq.session, spoke.account, "OrganizationAccountAccessRole", HUB_REGION).client("s3")
    east.create_bucket(Bucket="east-data")
    make_bucket(second, "analytics-raw")

    code, out, _ = sweep(capsys, "--config", config(workdir), "--fix", "--policy", "s3-encryption")

    assert code == 0
    for bucket in [*west, "east-data"]:
        assert bucket_encryption(spoke, bucket) == KMS_STANDARD
    assert bucket_encryption(second, "analytics-raw") == KMS_STANDARD
    swept = [k for k in hq.keys() if k.startswith("sweep#")]  # noqa: SIM118 (Hub.keys() scans)
    assert len(swept) == 4 and all("#s3-encryption#" in k for k in swept)
    mail = hq.mail()
    assert sorted(m.attributes["account"] for m in mail) == sorted([spoke.account, second.account])
    mine = next(m for m in mail if m.attributes["account"] == spoke.account)
    assert "3 fixed" in mine.subject and HUB_REGION in mine.body and MEMBER_REGION in mine.body
    assert "Resources that did not meet the standard" in out and "west-0" in out
    assert "4 resource(s): 0 compliant, 4 fixed" in out


def test_an_interrupted_sweep_resumes_where_it_stopped(
        hq: Hub, spoke: Member, second: Member, workdir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_bucket(spoke, "first-data")
    make_bucket(second, "second-data", encryption=None)
    argv = ["--config", config(workdir), "--fix", "--policy", "s3-encryption", "--workers", "1",
            "--accounts", f"{spoke.account},{second.account}"]

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        if args[2] == second.account:
            raise KeyboardInterrupt
        return sweep_target(*args, **kwargs)

    monkeypatch.setattr(sweep_command, "sweep_target", interrupted)
    code, _, err = sweep(capsys, *argv)
    assert code == 130 and "resumes" in err and len(state_files(workdir)) == 1
    assert bucket_encryption(spoke, "first-data") == KMS_STANDARD
    assert bucket_encryption(second, "second-data") is None

    make_bucket(spoke, "late-data")  # appears after its account-region was finished
    monkeypatch.setattr(sweep_command, "sweep_target", sweep_target)
    code, out, err = sweep(capsys, *argv)

    assert code == 0 and "resuming" in err
    assert bucket_encryption(second, "second-data") == KMS_STANDARD
    assert bucket_encryption(spoke, "late-data") is None
    assert "first-data" in out  # the finished part is still in the report
    assert state_files(workdir) == []

    code, _, _ = sweep(capsys, *argv, "--restart")
    assert code == 0 and bucket_encryption(spoke, "late-data") == KMS_STANDARD


def test_without_a_hub_the_sweep_says_so_once_and_goes_on(
        hq: Hub, spoke: Member, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(3):
        make_bucket(spoke, f"plain-{i}")

    code, out, err = sweep(capsys, "--config", config(workdir, "not-deployed", "not-deployed"), "--fix",
                           "--policy", "s3-encryption", "--accounts", spoke.account)

    assert code == 0
    assert err.count("audit table not-deployed") == 1 and err.count("alerts topic") == 1
    assert all(bucket_encryption(spoke, f"plain-{i}") == KMS_STANDARD for i in range(3))
    assert "3 fixed" in out
    assert hq.mail() == []


def test_an_account_whose_role_cannot_be_assumed_is_reported_and_the_rest_is_swept(
        hq: Hub, spoke: Member, second: Member, workdir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_bucket(spoke, "plain-data")
    base = boto3.Session(region_name=HUB_REGION)

    def refuse_second(params: dict[str, Any], **_: Any) -> None:
        if f":{second.account}:" in params.get("RoleArn", ""):
            raise client_error("AccessDenied", "AssumeRole", 403)

    base.events.register("before-parameter-build.sts.AssumeRole", refuse_second)
    monkeypatch.setattr(sweep_command, "aws_session", lambda args, settings: base)
    report = workdir / "findings.csv"

    code, _, err = sweep(capsys, "--config", config(workdir), "--csv", str(report), "--policy", "s3-encryption")

    rows = list(csv.DictReader(report.open()))
    assert code == 0
    assert {(r["account"], r["resource"], r["outcome"]) for r in rows} == {
        (spoke.account, "plain-data", "reported"),
        (second.account, f"{second.account}/{HUB_REGION}", "not-onboarded"),
        (second.account, f"{second.account}/{MEMBER_REGION}", "not-onboarded")}
    assert "operator_roles" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--json", "--csv", "x.csv"], "cannot be combined"),
    (["--accounts", "12,abc"], "12-digit"),
    (["--regions", "mars-1"], "region"),
    (["--workers", "0"], "--workers"),
])
def test_bad_arguments_are_explained(hq: Hub, workdir: Path, capsys: pytest.CaptureFixture[str],
                                     argv: list[str], message: str) -> None:
    code, _, err = sweep(capsys, "--config", config(workdir), *argv)
    assert code == 1 and message in err


def test_dry_run_names_what_would_be_swept(hq: Hub, spoke: Member, workdir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sweep(capsys, "--config", config(workdir), "--dry-run", "--fix")
    assert code == 0 and "would sweep 2 account-region(s)" in out and spoke.account in out
    assert state_files(workdir) == []


def test_a_json_dry_run_is_one_document(hq: Hub, spoke: Member, workdir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sweep(capsys, "--config", config(workdir), "--dry-run", "--fix", "--json")
    document = json.loads(out)
    assert code == 0 and document["dry_run"] is True and document["fix"] is True and document["targets"] == 2
    assert [a["account"] for a in document["accounts"]] == [spoke.account]
    assert state_files(workdir) == []
