"""The SNS message around a notification: the body cut to the size limit on a UTF-8 character boundary,
a clean subject under 100 characters, the message attributes, console links per partition, and jinja2
imported only when something is rendered."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from handlers.notify import (
    MESSAGE_LIMIT_BYTES,
    Notifier,
    Renderer,
    attributes_size,
    clean_subject,
    fit_body,
    message_attributes,
)
from handlers.registry import POLICIES, guardrails
from tests.support.notify_cases import REPO

ATTRIBUTES = message_attributes("111111111111", "ec2-compliance", "remediated", "medium")


@pytest.mark.parametrize("unit", ["x", "\u00e9", "\u20ac", "\U0001f512"], ids=["1-byte", "2-byte", "3-byte", "4-byte"])
def test_a_huge_body_is_cut_by_utf8_bytes_on_a_character_boundary(unit: str) -> None:
    body = "Per instance:\n" + unit * (MESSAGE_LIMIT_BYTES // len(unit.encode()) + 1000)

    cut = fit_body(body, ATTRIBUTES)

    size = len(cut.encode()) + attributes_size(ATTRIBUTES)
    assert MESSAGE_LIMIT_BYTES - 4 - 400 < size <= MESSAGE_LIMIT_BYTES  # full, but for a character and the note
    kept = cut[: cut.index("\n\n[OrgGuard cut this message")]
    assert body.startswith(kept) and kept.endswith(unit)  # whole characters only, nothing altered
    assert f"of its {len(body.encode()):,} bytes" in cut and "audit table" in cut


def test_a_body_that_fits_is_unchanged_and_counts_the_attributes() -> None:
    room = MESSAGE_LIMIT_BYTES - attributes_size(ATTRIBUTES)
    exact = "\u00e9" * (room // 2)
    assert fit_body(exact, ATTRIBUTES) == exact
    assert fit_body(exact + "\u00e9", ATTRIBUTES) != exact + "\u00e9"
    assert attributes_size(ATTRIBUTES) == sum(len(k) + len("String") + len(v["StringValue"])
                                              for k, v in ATTRIBUTES.items())


def test_publish_sends_a_subject_under_100_characters_and_a_body_within_the_limit() -> None:
    class Topic:
        def __init__(self) -> None:
            self.sent: dict[str, Any] = {}

        def publish(self, **kwargs: Any) -> dict[str, str]:
            self.sent = kwargs
            return {"MessageId": "m-1"}

    topic = Topic()
    Notifier(topic, "arn:aws:sns:us-east-1:111111111111:t", Renderer(user_dir="")).publish(
        "caf\u00e9 \u2603 " + "s" * 200 + "\nsecond line", "\u20ac" * 100_000, ATTRIBUTES)

    subject, message = topic.sent["Subject"], topic.sent["Message"]
    assert len(subject) == 99 and subject.isascii() and "\n" not in subject
    assert len(message.encode()) + attributes_size(topic.sent["MessageAttributes"]) <= MESSAGE_LIMIT_BYTES
    assert "[OrgGuard cut this message" in message


@pytest.mark.parametrize(("raw", "expected"), [
    ("Plain subject", "Plain subject"),
    ("Bucket caf\u00e9 \u2603 fixed", "Bucket caf? ? fixed"),
    ("line one\nline two\r\n\tthree", "line one line two three"),
    ("  padded  ", "padded"),
    ("", "OrgGuard notification"),
    ("\n\t", "OrgGuard notification"),
    ("bell\x07 and del\x7f", "bell? and del?"),
])
def test_clean_subject(raw: str, expected: str) -> None:
    assert clean_subject(raw) == expected


def test_clean_subject_limits_length() -> None:
    for raw in ("x" * 101, "word " * 60, "\u00e9" * 300):
        subject = clean_subject(raw)
        assert len(subject) <= 99 and subject.isascii() and subject.isprintable() and subject.endswith("...")
    assert clean_subject("y" * 99) == "y" * 99
    assert clean_subject("y" * 100) == "y" * 96 + "..."  # Publish: "less than 100 characters"


def test_message_attributes() -> None:
    attributes = message_attributes("111111111111", "s3-encryption", "remediated", "high")
    assert attributes == {
        "account": {"DataType": "String", "StringValue": "111111111111"},
        "policy": {"DataType": "String", "StringValue": "s3-encryption"},
        "outcome": {"DataType": "String", "StringValue": "remediated"},
        "severity": {"DataType": "String", "StringValue": "high"},
    }
    empty = message_attributes("", "vpc-created", "x" * 300, "info")
    assert empty["account"]["StringValue"] == "-" and len(empty["outcome"]["StringValue"]) == 256


def console_link(resource_type: str, resource: str, region: str) -> str:
    entry = next(g for g in guardrails() if g.resource_type == resource_type)
    return entry.console_link(resource, region)


def test_console_links() -> None:
    assert console_link("AWS::S3::Bucket", "b", "eu-west-1") == \
        "https://s3.console.aws.amazon.com/s3/buckets/b?region=eu-west-1&tab=properties"
    assert console_link("AWS::EC2::VPC", "vpc-1", "us-east-1").endswith("#VpcDetails:VpcId=vpc-1")
    assert "console.amazonaws-us-gov.com" in console_link("AWS::EC2::Instance", "i-1", "us-gov-west-1")
    assert "console.amazonaws.cn" in console_link("AWS::EC2::Instance", "i-1", "cn-north-1")


JINJA_PROBE = """
import importlib, sys
for module in sys.argv[1:]:
    importlib.import_module(module)
print("jinja2" in sys.modules)
from handlers.notify import Renderer
Renderer(user_dir="")._environment()
print("jinja2" in sys.modules)
"""


def test_jinja2_is_imported_only_when_rendering() -> None:
    modules = [p.module for p in POLICIES] + ["handlers.engine", "handlers.notify", "handlers.adapters.canary",
                                              "handlers.pipeline.deliver"]
    done = subprocess.run([sys.executable, "-c", JINJA_PROBE, *modules], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
