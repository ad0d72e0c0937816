"""Every e-mail OrgGuard sends, as the administrator receives it: each guardrail's template and each notice,
sweep summary and digest, for every outcome it can receive, rendered into an RFC 5322 message and compared
with its snapshot (``tests/snapshots/email/<template>__<outcome>.eml``; ``UPDATE_SNAPSHOTS=1`` rewrites them).

Properties hold for all of them: the subject fits SNS (under 100 ASCII characters) and starts with where;
no raw outcome code in the subject or the first line; the account's name is shown; a failure or a report
says the next step; notify-only guardrails claim no mode; the footer says how to receive only one's accounts.
"""

from __future__ import annotations

import email.policy
import os
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest

from handlers import digest
from handlers.batch.summary import render_summary, summary_context
from handlers.guardrails.base import Guardrail
from handlers.mail_context import template_context
from handlers.notices import TEMPLATES
from handlers.notify import Renderer, clean_subject, template_name
from handlers.outcome import Result
from handlers.registry import guardrails
from handlers.runtime import Runtime
from handlers.sessions import MemberSessions
from handlers.settings import Settings, validate
from tests.support import email_samples as samples

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "email"
POLICY = email.policy.default.clone(max_line_length=0, linesep="\n")  # no folding: the text as it is sent
RAW_CODE = re.compile(r"\b(failed|skipped|rejected):")
FROM = "AWS Notifications <no-reply@sns.amazonaws.com>"
TO = "cloud-admins@example.com"
NEEDS_NEXT_STEP = ("failed", "reported", "not-onboarded", "region-disabled")


def settings() -> Settings:
    return validate(samples.SETTINGS)


def runtime() -> Runtime:
    base = boto3.Session(region_name="us-east-1", aws_access_key_id="unused", aws_secret_access_key="unused")
    return Runtime(settings(), MemberSessions(base), audit=None, notifier=None, clock=lambda: 1_803_893_400.0)


def guardrail_cases() -> list[tuple[str, Guardrail, str, Result]]:
    cases = []
    for guardrail in guardrails():
        for outcome, result in samples.results(guardrail).items():
            cases.append((template_name(guardrail).removesuffix(".txt.j2"), guardrail, outcome, result))
    first = guardrails()[0]
    for outcome, result in samples.notices(first).items():
        cases.append((TEMPLATES[result.outcome].removesuffix(".txt.j2"), first, outcome, result))
    return cases


def eml(subject: str, body: str) -> str:
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = FROM
    message["To"] = TO
    message.set_content(body, charset="utf-8", cte="8bit")
    return message.as_string()


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name.replace(':', '-')}.eml"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed: review, then UPDATE_SNAPSHOTS=1"


def check_properties(subject: str, body: str, kind: str, *, notify_only: bool = False) -> None:
    first_line = body.splitlines()[0]
    assert 0 < len(subject) <= 99 and subject.isascii() and clean_subject(subject) == subject
    assert subject.startswith(f"[OrgGuard] {samples.NAME}"), subject  # where first: a cut subject still says it
    assert not RAW_CODE.search(subject) and not RAW_CODE.search(first_line), (subject, first_line)
    assert samples.NAME in body and samples.ACCOUNT in body
    if kind in NEEDS_NEXT_STEP:
        assert "Next step:" in body
    if notify_only:
        assert "mode:" not in body and "(enforce)" not in body
    assert "admins notified" not in body and "What OrgGuard did" not in body
    assert f'filter policy on the "account" attribute, e.g. {{"account": ["{samples.ACCOUNT}"]}}' in body


CASES = guardrail_cases()


@pytest.mark.parametrize(("template", "guardrail", "outcome", "result"), CASES,
                         ids=[f"{t}__{o}" for t, _, o, _ in CASES])
def test_every_guardrail_and_notice_email(template: str, guardrail: Guardrail, outcome: str, result: Result) -> None:
    event = samples.event(guardrail)
    name = TEMPLATES.get(result.outcome, template_name(guardrail))
    subject, body = Renderer(user_dir="").render(name, template_context(event, guardrail, result, runtime()))

    check_properties(subject, body, outcome.partition(":")[0], notify_only=guardrail.notify_only)
    assert "jane.doe@example.com (SSO PowerUserAccess) in workload-alpha (111111111111)" in body
    check_snapshot(f"{template}__{outcome}", eml(subject, body))


@pytest.mark.parametrize("case", list(samples.sweep_results()))
def test_every_sweep_summary(case: str) -> None:
    results = samples.sweep_results()[case]
    context = summary_context(settings(), samples.sweep_account(), results, "run-2027-03-01",
                              "scheduled reconcile", "2027-03-01 03:00 UTC", [g.id for g in guardrails()
                                                                              if g.sweepable])
    subject, body = render_summary(Renderer(user_dir=""), context)

    check_properties(subject, body, case)
    check_snapshot(f"sweep-summary__{case}", eml(subject, body))


@pytest.mark.parametrize("guardrail", guardrails(), ids=[g.id for g in guardrails()])
def test_every_digest(guardrail: Guardrail) -> None:
    window, records = samples.digest_window(guardrail.id)
    context: dict[str, Any] = digest.render_context(window, records, missing=1, overflow=0, settings=settings(),
                                                    account_name=samples.NAME)
    subject, body = Renderer(user_dir="").render(digest.TEMPLATE, context)

    check_properties(subject, body, "digest", notify_only=guardrail.notify_only)
    check_snapshot(f"digest__{guardrail.id}", eml(subject, body))


def test_no_snapshot_is_left_over() -> None:
    expected = {f"{t}__{o}".replace(":", "-") for t, _, o, _ in CASES}
    expected |= {f"sweep-summary__{c}" for c in samples.sweep_results()}
    expected |= {f"digest__{g.id}" for g in guardrails()}
    assert {p.stem for p in SNAPSHOTS.glob("*.eml")} == expected


README_QUOTES = ["s3-encryption__remediated", "ec2-compliance__failed-too-many-groups", "vpc-created__reported",
                 "not-onboarded__not-onboarded", "digest__s3-encryption", "s3-public-access__remediated",
                 "sweep-summary__remediated"]


@pytest.mark.parametrize("name", README_QUOTES)
def test_the_readme_quotes_the_emails_as_they_now_read(name: str) -> None:
    headers, _, body = (SNAPSHOTS / f"{name}.eml").read_text(encoding="utf-8").partition("\n\n")
    subject = next(line for line in headers.splitlines() if line.startswith("Subject: "))
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"```\n{subject}\n\n{body.rstrip()}\n```\n" in readme, f"README's quote of {name} is stale"
