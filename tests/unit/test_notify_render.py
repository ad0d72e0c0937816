"""Notification rendering: every outcome of every policy renders under StrictUndefined, bodies show what
changed (before and after, CIDRs, the fix for an account not onboarded, drift hints), values stay data, and a
user template directory overrides the built-in templates."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from handlers.contract import ENV_TEMPLATE_DIR
from handlers.notices import TEMPLATES
from handlers.notify import (
    Renderer,
)
from handlers.outcome import Result
from handlers.registry import POLICIES, POLICIES_BY_ID
from handlers.settings import load
from tests.support.notify_cases import (
    event_for,
    render,
    results,
    runtime,
)

CASES = [(p.id, case) for p in POLICIES for case in results(p.id)]


@pytest.mark.parametrize(("policy_id", "case"), CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_every_outcome_of_every_policy_renders_strictly(policy_id: str, case: str) -> None:
    policy = POLICIES_BY_ID[policy_id]
    result = results(policy_id)[case]
    event = event_for(policy_id)

    subject, body = render(policy, result, event=event)

    assert 0 < len(subject) < 100 and subject.isascii() and subject.isprintable()
    assert subject.startswith("[OrgGuard]")
    assert event.account in subject or event.account in body
    for text in (result.resource, event.account, event.region, result.outcome, event.actor.display,
                 event.event_name):
        assert text in body, text
    if result.outcome not in TEMPLATES:
        assert event.event_id in body and "Console: https://" in body
    assert body.endswith("\n") and "\n\n\n\n" not in body


def test_s3_body_shows_before_and_after() -> None:
    _, body = render(POLICIES_BY_ID["s3-encryption"], results("s3-encryption")["remediated"])
    assert "Before:   no configuration\n" in body
    assert "After:    aws:kms, bucket key on, blocks SSE-C uploads\n" in body
    own_key = {"algorithm": "aws:kms", "kms_key": "arn:aws:kms:eu-west-1:333333333333:key/k", "bucket_key": False,
               "blocked_encryption_types": []}
    result = Result("reported", "b", "report mode", own_key, own_key)
    _, body = render(POLICIES_BY_ID["s3-encryption"], result)
    assert "Before:   aws:kms key arn:aws:kms:eu-west-1:333333333333:key/k, bucket key off, allows SSE-C uploads\n" \
        in body
    sse_s3 = {"algorithm": "AES256", "kms_key": "", "bucket_key": False, "blocked_encryption_types": ["SSE-C"]}
    _, body = render(POLICIES_BY_ID["s3-encryption"], Result("compliant", "b", "meets", sse_s3, sse_s3))
    assert "Before:   SSE-S3 (AES256), blocks SSE-C uploads\n" in body  # what S3 gives every bucket since 2023


def test_vpc_body_shows_every_cidr_name_and_ipv6() -> None:
    subject, body = render(POLICIES_BY_ID["vpc-created"], results("vpc-created")["reported"])
    assert "(10.0.0.0/16)" in subject
    assert "10.0.0.0/16, 10.1.0.0/16" in body and '"nginx-vpc"' in body and "2600:1f18::/56" in body


def test_not_onboarded_names_the_fix() -> None:
    event = event_for("s3-encryption")
    _, body = render(POLICIES_BY_ID["s3-encryption"], results("s3-encryption")["not-onboarded"])
    assert f"orgguard onboard {event.account}" in body and "AccessDenied: no" in body


def test_account_name_from_settings_appears() -> None:
    event = event_for("vpc-created")
    rt = runtime(organization={"account_names": {event.account: "sandbox-team"}})
    subject, body = render(POLICIES_BY_ID["vpc-created"], results("vpc-created")["reported"], rt=rt)
    assert "sandbox-team" in subject and f"in sandbox-team ({event.account})" in body


@pytest.mark.parametrize("policy_id", [p.id for p in POLICIES])
def test_values_are_data_never_template_code(policy_id: str) -> None:
    policy = POLICIES_BY_ID[policy_id]
    result = results(policy_id)["failed"]  # a failure's e-mail shows its summary, whatever the guardrail
    result.resource = "{{ 7*7 }}"
    result.summary = "{% for x in range(3) %}loop{% endfor %}"
    event = event_for(policy_id)
    event.detail["sourceIPAddress"] = "{{ config }}"
    subject, body = render(policy, result, event=event)
    assert "{{ 7*7 }}" in body and "{{ 7*7 }}" in subject
    assert "{% for x in range(3) %}loop{% endfor %}" in body
    assert "49" not in body.replace(event.event_id, "") and "looploop" not in body


@pytest.mark.parametrize("policy_id", [p.id for p in POLICIES])
def test_drift_hint_only_when_the_resource_is_from_a_stack(policy_id: str) -> None:
    policy = POLICIES_BY_ID[policy_id]
    plain = results(policy_id)["reported"]
    _, body = render(policy, plain)
    assert "Drift" not in body and "CloudFormation" not in body
    plain.stack_name = "team-stack"
    _, body = render(policy, plain)
    assert 'Drift: this resource belongs to the CloudFormation stack "team-stack"' in body
    assert "Fix it in the stack's template" in body


def test_drift_hint_after_a_change_says_the_stack_differs() -> None:
    result = results("s3-encryption")["remediated"]
    result.stack_name = "data-stack"
    _, body = render(POLICIES_BY_ID["s3-encryption"], result)
    assert 'stack "data-stack"' in body and "now differs from its template" in body


def test_user_template_directory_overrides_and_can_reuse_the_built_in_parts(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "s3-encryption.txt.j2").write_text(
        "ACME bucket {{ resource }} {{ outcome }}\nTicket queue: SEC\n{% include '_header.txt.j2' %}\n")
    policy = POLICIES_BY_ID["s3-encryption"]
    result = results("s3-encryption")["remediated"]

    subject, body = render(policy, result, renderer=Renderer(user_dir=str(tmp_path)))
    assert subject == "ACME bucket b remediated"
    assert body.startswith("Ticket queue: SEC\n") and "Who:      " in body and "Region:   us-east-1" in body

    monkeypatch.setenv(ENV_TEMPLATE_DIR, str(tmp_path))
    assert render(policy, result, renderer=Renderer())[0] == "ACME bucket b remediated"
    vpc_subject, _ = render(POLICIES_BY_ID["vpc-created"], results("vpc-created")["reported"], renderer=Renderer())
    # templates the user did not override stay built in
    assert vpc_subject.startswith("[OrgGuard] ") and vpc_subject.endswith(" created")


def test_undefined_names_fail_loudly(tmp_path: Path) -> None:
    (tmp_path / "vpc-created.txt.j2").write_text("{{ resource }}\n{{ no_such_value }}\n")
    with pytest.raises(jinja2.UndefinedError):
        render(POLICIES_BY_ID["vpc-created"], results("vpc-created")["reported"],
               renderer=Renderer(user_dir=str(tmp_path)))


def test_region_disabled_names_the_next_step_not_onboarding() -> None:
    policy = POLICIES_BY_ID["s3-encryption"]
    event = event_for(policy.id)
    subject, body = render(policy, results(policy.id)["region-disabled"], event=event)
    assert "STS not activated" in subject and event.region in subject
    assert "Account settings" in body and f"activate {event.region}" in body
    assert "orgguard onboard" not in body


def test_default_settings_render_with_the_default_prefix() -> None:
    assert load(None).notifications.subject_prefix == "[OrgGuard]"
    rt = runtime(notifications={"subject_prefix": "[ACME]"})
    subject, _ = render(POLICIES_BY_ID["vpc-created"], results("vpc-created")["reported"], rt=rt)
    assert subject.startswith("[ACME] 999999999999 ap-northeast-1: VPC vpc-0abc")
