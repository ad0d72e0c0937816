"""Outcomes in words: a phrase for the subject, a sentence for the first line, the next step; no raw code."""

from __future__ import annotations

import re

import pytest

from handlers.guardrails.ec2_compliance.guardrail import GUARDRAIL as EC2
from handlers.notify import SUBJECT_LIMIT, subject
from handlers.outcome_text import describe, exemption_hint, short

RAW = re.compile(r"\b(failed|skipped|rejected):")
HINT = exemption_hint("orgguard:exempt", "orgguard:exempt-until", "ec2-compliance")


@pytest.mark.parametrize("outcome", ["compliant", "remediated", "reported", "exempt", "gone", "not-onboarded",
                                     "region-disabled", "ignored", "skipped:duplicate", "skipped:whatever-new",
                                     "failed:AccessDenied", "failed:ThrottlingException", "failed:no-admin-group",
                                     "failed:too-many-groups", "failed:tag-limit", "failed:no-primary-interface",
                                     "rejected:no-region"])
def test_no_outcome_reads_as_its_code(outcome: str) -> None:
    text = describe(outcome, "instance i-1", EC2.reasons, EC2.next_steps, HINT)
    assert not RAW.search(text.phrase) and not RAW.search(text.sentence)
    assert text.sentence[0].isupper() and text.sentence.endswith(".")
    if outcome.startswith("failed:") or outcome == "reported":
        assert "orgguard:exempt = ec2-compliance" in text.next_step
        assert "orgguard:exempt-until = YYYY-MM-DD" in text.next_step


def test_known_reasons_have_their_own_sentence_and_step() -> None:
    text = describe("failed:too-many-groups", "instance i-1", EC2.reasons, EC2.next_steps, HINT)
    assert text.phrase == "could not be fixed"
    assert text.sentence.startswith("Could not add the admin group to instance i-1: the interface already has")
    assert text.next_step.startswith("Remove a security group from the instance's primary interface")


def test_an_aws_error_names_its_code_and_access_denied_says_where_to_look() -> None:
    assert describe("failed:AccessDenied").sentence.startswith("OrgGuard could not finish: AccessDenied - ")
    assert "service control policies" in describe("failed:AccessDenied").next_step
    other = describe("failed:InvalidParameterValue", "bucket b")
    assert other.sentence.startswith("OrgGuard could not finish: InvalidParameterValue")
    assert "orgguard sweep --fix" in other.next_step


def test_generic_texts_and_list_words() -> None:
    assert describe("remediated", "bucket b").sentence == \
        "OrgGuard fixed bucket b: it now meets the organization's standard."
    assert describe("remediated").next_step == "" and describe("compliant").next_step == ""
    assert describe("skipped:duplicate").sentence == "OrgGuard skipped this event: this event was already handled."
    assert describe("not an outcome").phrase == "not an outcome"
    assert [short(o) for o in ("remediated", "failed:AccessDenied", "not-onboarded", "done")] == [
        "fixed", "failed (AccessDenied)", "account not onboarded", "done"]


def test_a_subject_keeps_where_and_what_and_cuts_the_resource_in_the_middle() -> None:
    assert subject("[OrgGuard]", "workload-alpha", "eu-west-1", "bucket invoices", "encryption fixed") == \
        "[OrgGuard] workload-alpha eu-west-1: bucket invoices encryption fixed"
    long = subject("[OrgGuard]", "workload-alpha", "eu-west-1", "bucket invoices-" + "x" * 100 + "-2027",
                   "encryption fixed")
    assert len(long) == SUBJECT_LIMIT and long.isascii()
    assert long.startswith("[OrgGuard] workload-alpha eu-west-1: bucket invoices-")
    assert long.endswith("...xxxxxxxxx-2027 encryption fixed")  # start and end kept: ids differ at their ends
    assert subject("[OrgGuard]", "a" * 80, "eu-west-1", "bucket b", "encryption fixed").endswith(
        "eu-west-1: bucket b encryption fixed")
    assert subject("[OrgGuard]", "acct", "", "", "digest") == "[OrgGuard] acct: digest"
    tight = subject("[OrgGuard]", "acct", "eu-west-1", "bucket " + "y" * 200, "w" * 70)
    assert tight == "[OrgGuard] acct eu-west-1: " + "w" * 70  # no room for a resource worth reading
