"""Notifications: every outcome of every policy renders under StrictUndefined, values stay data, subjects fit
SNS e-mail, users can override templates, and Jinja2 is only imported when something is rendered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import jinja2
import pytest

from handlers.contract import ENV_TEMPLATE_DIR
from handlers.engine import Runtime
from handlers.events import ApiCallEvent, parse
from handlers.guardrails.base import Guardrail
from handlers.mail_context import template_context
from handlers.notices import TEMPLATES
from handlers.notify import (
    MESSAGE_LIMIT_BYTES,
    Notifier,
    Renderer,
    attributes_size,
    clean_subject,
    fit_body,
    message_attributes,
)
from handlers.outcome import Action, Result
from handlers.registry import POLICIES, POLICIES_BY_ID, guardrails
from handlers.sessions import MemberSessions
from handlers.settings import load, validate

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events" / "records"
SAMPLE_BY_POLICY = {"s3-encryption": "panther__PutBucketEncryption__1.json",
                    "vpc-created": "spotlight__CreateVpc__1.json",
                    "ec2-compliance": "custodian__RunInstances__3.json",
                    "s3-public-access": "panther__DeleteBucketPublicAccessBlock__2.json"}
S3_BEFORE = {"algorithm": "", "kms_key": "", "bucket_key": False, "blocked_encryption_types": []}
S3_AFTER = {"algorithm": "aws:kms", "kms_key": "", "bucket_key": True, "blocked_encryption_types": ["SSE-C"]}
VPC_INFO = {"vpc_id": "vpc-0abc", "cidr": "10.0.0.0/16", "cidrs": ["10.0.0.0/16", "10.1.0.0/16"],
            "ipv6": ["2600:1f18::/56"], "is_default": False, "name": "nginx-vpc", "tags": {"Name": "nginx-vpc"}}
BPA_OFF = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
           "RestrictPublicBuckets": False}
BPA_ON = dict.fromkeys(BPA_OFF, True)
EC2_SUMMARY = "i-1: remediated - added tags Owner=unassigned; added admin group (groups now sg-1, sg-admin)"


def results(policy_id: str) -> dict[str, Result]:
    """A Result of each outcome, shaped as the policy module (or the engine, for failures) builds it."""
    failed = Result("failed:AccessDenied", "res-1", "OrgGuard could not finish: AccessDenied: denied")
    not_onboarded = Result("not-onboarded", "res-1", "cannot assume", details={"reason": "AccessDenied: no"})
    not_onboarded_no_reason = Result("not-onboarded", "res-1", "cannot assume OrgGuardRemediation")
    region_disabled = Result("region-disabled", "res-1", "STS is not activated",
                             details={"reason": "RegionDisabledException: STS is not activated"})
    if policy_id == "s3-encryption":
        fix = Action("s3:PutBucketEncryption", {"Bucket": "b", "ServerSideEncryptionConfiguration": {}})
        return {
            "compliant": Result("compliant", "b", "meets the standard", S3_AFTER, S3_AFTER),
            "remediated": Result("remediated", "b", "changed", S3_BEFORE, S3_AFTER, [fix]),
            "reported": Result("reported", "b", "report mode", S3_BEFORE, S3_BEFORE,
                               details={"planned": [fix.to_dict()]}),
            "exempt": Result("exempt", "b", "exempt", S3_BEFORE, S3_BEFORE, notify=False),
            "gone": Result("gone", "b", "the bucket no longer exists", notify=False),
            "gone-after-read": Result("gone", "b", "deleted", S3_BEFORE, notify=False),
            "failed": failed, "not-onboarded": not_onboarded, "not-onboarded-no-reason": not_onboarded_no_reason,
            "region-disabled": region_disabled,
        }
    if policy_id == "s3-public-access":
        block = Action("s3:PutPublicAccessBlock", {"Bucket": "b", "PublicAccessBlockConfiguration": BPA_ON})
        public = {**BPA_OFF, "PolicyIsPublic": True}
        return {
            "compliant": Result("compliant", "b", "meets the standard", BPA_ON, BPA_ON),
            "remediated": Result("remediated", "b", "turned on", BPA_OFF, BPA_ON, [block]),
            "remediated-public-policy": Result("remediated", "b", "turned on", public, {**public, **BPA_ON}, [block]),
            "reported": Result("reported", "b", "report mode", BPA_OFF, BPA_OFF,
                               details={"planned": [block.to_dict()]}),
            "reported-allowed-public": Result("reported", "b", "may stay public", public, public),
            "exempt": Result("exempt", "b", "exempt", BPA_OFF, BPA_OFF, notify=False),
            "gone": Result("gone", "b", "the bucket no longer exists", notify=False),
            "failed": failed, "not-onboarded": not_onboarded, "not-onboarded-no-reason": not_onboarded_no_reason,
            "region-disabled": region_disabled,
        }
    if policy_id == "vpc-created":
        return {
            "reported": Result("reported", "vpc-0abc", "new VPC", VPC_INFO, VPC_INFO, details=VPC_INFO),
            "reported-minimal": Result("reported", "vpc-0abc", "new VPC", details={"cidr": "", "cidrs": []}),
            "exempt": Result("exempt", "vpc-0abc", "exempt", VPC_INFO, VPC_INFO, notify=False),
            "gone": Result("gone", "vpc-0abc", "deleted", details={"cidr": "10.0.0.0/16"}),
            "failed": failed, "not-onboarded": not_onboarded, "not-onboarded-no-reason": not_onboarded_no_reason,
            "region-disabled": region_disabled,
        }
    tags = Action("ec2:CreateTags", {"Resources": ["i-1"], "Tags": [{"Key": "Owner", "Value": "unassigned"}]})
    return {
        "compliant": Result("compliant", "i-1", "i-1: compliant", notify=False),
        "remediated": Result("remediated", "i-1, i-2", EC2_SUMMARY, {"i-1": {}}, {"i-1": {}}, [tags]),
        "reported": Result("reported", "i-1", "i-1: remediated - would add tags", details={"planned": []}),
        "no-admin-group": Result("failed:no-admin-group", "i-1", "i-1: failed:no-admin-group - VPC vpc-1 has none"),
        "too-many-groups": Result("failed:too-many-groups", "i-1", "i-1: failed:too-many-groups"),
        "tag-limit": Result("failed:tag-limit", "i-1", "i-1: failed:tag-limit - it has 49 tags and lacks 2"),
        "exempt": Result("exempt", "i-1", "i-1: exempt", notify=False),
        "gone": Result("gone", "i-1", "i-1: gone - no longer exists", notify=False),
        "failed": failed, "not-onboarded": not_onboarded, "not-onboarded-no-reason": not_onboarded_no_reason,
        "region-disabled": region_disabled,
    }


def event_for(policy_id: str) -> ApiCallEvent:
    return parse(json.loads((EVENTS / SAMPLE_BY_POLICY[policy_id]).read_text()))


def runtime(**settings: Any) -> Runtime:
    base = boto3.Session(region_name="us-east-1", aws_access_key_id="unused", aws_secret_access_key="unused")
    return Runtime(validate(settings), MemberSessions(base), audit=None, notifier=None)


def render(policy: Guardrail, result: Result, renderer: Renderer | None = None,
           event: ApiCallEvent | None = None, rt: Runtime | None = None) -> tuple[str, str]:
    name = TEMPLATES.get(result.outcome, f"{policy.id}.txt.j2")
    context = template_context(event or event_for(policy.id), policy, result, rt or runtime())
    return (renderer or Renderer(user_dir="")).render(name, context)


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


def test_default_settings_render_with_the_default_prefix() -> None:
    assert load(None).notifications.subject_prefix == "[OrgGuard]"
    rt = runtime(notifications={"subject_prefix": "[ACME]"})
    subject, _ = render(POLICIES_BY_ID["vpc-created"], results("vpc-created")["reported"], rt=rt)
    assert subject.startswith("[ACME] 999999999999 ap-northeast-1: VPC vpc-0abc")


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

