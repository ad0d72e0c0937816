"""s3-public-access's pure parts: the flags, the fix that keeps what is on, who may stay public, the settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from handlers.guardrails.base import Subject
from handlers.guardrails.s3_public_access.access_block import (
    FLAGS,
    AccessBlock,
    desired_configuration,
    public_allowance,
)
from handlers.guardrails.s3_public_access.guardrail import GUARDRAIL, Exposure
from handlers.guardrails.s3_public_access.settings import S3PublicAccess, parse
from handlers.settings import load
from handlers.settings_checks import Checker

pytestmark = pytest.mark.unit

ALL_ON = dict.fromkeys(FLAGS, True)
TODAY = dt.date(2030, 1, 15)


def subject(standard: S3PublicAccess | None = None, enforcing: bool = True) -> Subject:
    return Subject("s3-public-access", "111122223333", "eu-west-1", TODAY, standard or S3PublicAccess(),
                   load(None).exemptions, enforcing)


def test_no_configuration_is_all_flags_off_and_the_fix_turns_all_on() -> None:
    none = AccessBlock.parse(None)
    assert none.off == FLAGS and not none.complete
    assert none.describe() == "Block Public Access off (no flag on)"
    assert desired_configuration(none) == ALL_ON


def test_the_fix_keeps_the_flags_already_on_and_adds_the_missing() -> None:
    partial = AccessBlock.parse({"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False})
    assert partial.off == ("BlockPublicPolicy", "RestrictPublicBuckets")
    assert "BlockPublicPolicy, RestrictPublicBuckets off" in partial.describe()
    target = desired_configuration(partial)
    assert target == ALL_ON
    assert all(target[flag] for flag, on in partial.to_dict().items() if on)  # nothing on is turned off
    assert AccessBlock.parse(ALL_ON).complete


@pytest.mark.parametrize(("bucket", "tags", "standard", "expected"), [
    ("www-example-com", {}, S3PublicAccess(public_buckets=("www-example-com",)), "named in public_buckets"),
    ("site", {"orgguard:public": "true"}, S3PublicAccess(), "tagged orgguard:public=true"),
    ("site", {"orgguard:public": " TRUE "}, S3PublicAccess(), "tagged orgguard:public=true"),
    ("site", {"orgguard:public": "yes"}, S3PublicAccess(), ""),
    ("site", {"orgguard:public": "true"}, S3PublicAccess(public_tag=""), ""),
    ("site", {"web:public": "true"}, S3PublicAccess(public_tag="web:public"), "tagged web:public=true"),
    ("other", {}, S3PublicAccess(public_buckets=("www-example-com",)), ""),
])
def test_who_may_stay_public(bucket: str, tags: dict[str, str], standard: S3PublicAccess, expected: str) -> None:
    assert public_allowance(bucket, tags, standard) == expected


def test_settings_parse_and_refuse_what_is_not_a_bucket_name() -> None:
    checker = Checker()
    parsed = parse({"mode": "report", "public_buckets": ["www.example.com", "static-site"], "public_tag": ""},
                   checker, "policies.s3-public-access")
    assert not checker.problems
    assert parsed == S3PublicAccess("report", ("static-site", "www.example.com"), "")
    checker = Checker()
    parse({"public_buckets": ["Upper_Case", "ab", "192.168.1.1", "ok-bucket"], "public": 1}, checker, "p")
    text = "\n".join(checker.problems)
    assert '"Upper_Case"' in text and '"ab"' in text and "192.168.1.1" in text and "ok-bucket" not in text
    assert "p.public: unknown key" in text
    assert parse({}, Checker(), "p") == S3PublicAccess()


def evaluate(state: Any, standard: S3PublicAccess | None = None, enforcing: bool = True) -> Any:
    return GUARDRAIL.evaluate("b", state, subject(standard, enforcing))


def test_evaluate_every_way() -> None:
    off = AccessBlock()
    assert evaluate(None).outcome == "gone"
    assert evaluate(Exposure(AccessBlock.parse(ALL_ON))).outcome == "compliant"
    fixed = evaluate(Exposure(off, {}))
    assert fixed.outcome == "remediated" and fixed.after == ALL_ON
    assert [a.to_dict() for a in fixed.planned] == [{"action": "s3:PutPublicAccessBlock", "params": {
        "Bucket": "b", "PublicAccessBlockConfiguration": ALL_ON}}]
    reported = evaluate(Exposure(off, {}), enforcing=False)
    assert reported.outcome == "reported" and reported.after == reported.before and reported.planned
    exempt = evaluate(Exposure(off, {"orgguard:exempt": "s3-public-access"}))
    assert exempt.outcome == "exempt" and not exempt.planned and not exempt.notify
    allowed = evaluate(Exposure(off, {"orgguard:public": "true"}, policy_public=False))
    assert allowed.outcome == "compliant" and not allowed.planned
    public = evaluate(Exposure(off, {"orgguard:public": "true"}, policy_public=True))
    assert public.outcome == "reported" and not public.planned and "public" in public.summary
    assert public.before["PolicyIsPublic"] is True
    policy_fixed = evaluate(Exposure(off, {}, policy_public=True))
    assert policy_fixed.outcome == "remediated" and "bucket policy is public (not rewritten)" in policy_fixed.summary
