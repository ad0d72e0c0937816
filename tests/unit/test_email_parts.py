"""The e-mail's optional parts: the infrastructure-as-code paragraph, and the plain fallback of a broken template."""

from __future__ import annotations

from pathlib import Path

from handlers.mail_context import template_context
from handlers.notify import Notifier, Renderer
from handlers.pipeline.decide import render as _render
from handlers.registry import POLICIES_BY_ID
from tests.support.notify_cases import event_for, results, runtime


def test_the_iac_paragraph_replaces_the_generic_drift_one_when_the_source_is_known() -> None:
    policy = POLICIES_BY_ID["s3-encryption"]
    result = results(policy.id)["remediated"]
    result.stack_name = "data-stack"
    context = template_context(event_for(policy.id), policy, result, runtime())
    assert context["iac"] is None  # always there: templates render under StrictUndefined
    context["iac"] = {"stack": "data-stack", "logical_id": "InvoicesBucket", "resource_type": "AWS::S3::Bucket",
                      "cloudformation": "BucketEncryption: {}", "cdk": "", "cdk_note": "no CDK source found"}
    _, body = Renderer(user_dir="").render(f"{policy.id}.txt.j2", context)
    assert 'InvoicesBucket (AWS::S3::Bucket) in the CloudFormation stack "data-stack"' in body
    assert "BucketEncryption: {}" in body and "no CDK source found" in body
    assert "In the CDK" not in body and "Drift:" not in body


def test_a_broken_template_still_gives_a_subject_that_says_where_and_no_raw_code(tmp_path: Path) -> None:
    (tmp_path / "ec2-compliance.txt.j2").write_text("{{ no_such_value }}\n")
    policy = POLICIES_BY_ID["ec2-compliance"]
    event = event_for(policy.id)
    rt = runtime(organization={"account_names": {event.account: "sandbox-team"}})
    rt.notifier = Notifier(None, "arn:aws:sns:us-east-1:111111111111:t", Renderer(user_dir=str(tmp_path)))
    subject, body = _render(event, policy, results(policy.id)["too-many-groups"], rt)
    assert subject == f"[OrgGuard] sandbox-team {event.region}: instance i-1 ec2-compliance could not be fixed"
    assert "Outcome:  failed:too-many-groups" in body and "The template ec2-compliance.txt.j2 failed" in body
