"""Exemptions by resource tag (pure): which policies, until when, and failing closed on a bad date."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.exemptions import account_exempt, tag_exemption, tags_to_dict
from handlers.settings import Exemptions

TODAY = dt.date(2026, 3, 15)
RULES = Exemptions()


@pytest.mark.parametrize(("tags", "policy", "exempt"), [
    ({"orgguard:exempt": "s3-encryption"}, "s3-encryption", True),
    ({"orgguard:exempt": "S3-Encryption"}, "s3-encryption", True),
    ({"orgguard:exempt": "all"}, "ec2-compliance", True),
    ({"orgguard:exempt": "ALL"}, "vpc-created", True),
    ({"orgguard:exempt": "ec2-compliance"}, "s3-encryption", False),
    ({"orgguard:exempt": "ec2-compliance,s3-encryption"}, "s3-encryption", True),
    ({"orgguard:exempt": "ec2-compliance s3-encryption"}, "s3-encryption", True),
    ({"orgguard:exempt": "ec2-compliance;s3-encryption"}, "s3-encryption", True),
    ({"orgguard:exempt": "ec2-compliance/s3-encryption"}, "s3-encryption", True),
    ({"orgguard:exempt": "ec2-compliance+s3-encryption"}, "s3-encryption", True),
    ({"orgguard:exempt": "s3-encryption-later"}, "s3-encryption", False),
    ({"orgguard:exempt": ""}, "s3-encryption", False),
    ({"orgguard:exempt": "true"}, "s3-encryption", False),
    ({"Exempt": "all"}, "s3-encryption", False),
    ({}, "s3-encryption", False),
])
def test_tag_names_the_policies(tags: dict[str, str], policy: str, exempt: bool) -> None:
    reason = tag_exemption(tags, policy, RULES, TODAY)
    assert (reason is not None) == exempt
    if reason:
        assert "orgguard:exempt=" in reason


@pytest.mark.parametrize(("until", "exempt"), [
    ("2026-03-15", True),   # the last day still counts
    ("2026-03-16", True),
    ("2099-01-01", True),
    ("2026-03-14", False),  # expired
    ("2020-01-01", False),
    ("15/03/2099", False),  # not YYYY-MM-DD: fail closed, a typo must not exempt forever
    ("2099-13-01", False),
    ("soon", False),
    ("  2099-01-01 ", True),
    ("", True),             # no end date
])
def test_until_date(until: str, exempt: bool) -> None:
    tags = {"orgguard:exempt": "all", "orgguard:exempt-until": until}
    reason = tag_exemption(tags, "s3-encryption", RULES, TODAY)
    assert (reason is not None) == exempt
    if reason and until.strip():
        assert until.strip() in reason


def test_custom_tag_names_from_settings() -> None:
    rules = Exemptions(tag="security:skip", until_tag="security:skip-until")
    assert tag_exemption({"security:skip": "all"}, "vpc-created", rules, TODAY)
    assert tag_exemption({"orgguard:exempt": "all"}, "vpc-created", rules, TODAY) is None
    assert tag_exemption({"security:skip": "all", "security:skip-until": "2000-01-01"}, "vpc-created", rules,
                         TODAY) is None
    assert tag_exemption({"security:skip": "all"}, "vpc-created", Exemptions(tag=""), TODAY) is None


def test_account_exemption() -> None:
    rules = Exemptions(accounts=("111111111111",))
    assert account_exempt("111111111111", rules)
    assert not account_exempt("222222222222", rules)
    assert not account_exempt("111111111111", RULES)


def test_tags_to_dict_tolerates_odd_shapes() -> None:
    assert tags_to_dict([{"Key": "a", "Value": "1"}, {"Key": "b"}, {"Value": "x"}, "c", {"Key": 5}]) == \
        {"a": "1", "b": ""}
    assert tags_to_dict(None) == {} and tags_to_dict({"Key": "a"}) == {}
