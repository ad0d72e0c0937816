"""cdk-nag: the one fully validated hub synth of the suite, and the gate that stops a synth with a finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks

from handlers.settings import Settings
from hub.app import synth_hub, validation_enabled
from hub.nag import HubNagError, synthesize

# What the hub may acknowledge, per rule; anything else must be fixed (or added here, with a reason, in
# hub/nag.py and reviewed).
ACKNOWLEDGEABLE = {
    "AwsSolutions-IAM5": ("Resource::arn:<AWS::Partition>:iam::*:role/OrgGuardRemediation",
                          "Resource::*",
                          "Resource::arn:<AWS::Partition>:organizations::"),
    "AwsSolutions-SQS3": (),
    "AwsSolutions-L1": (),
    "AwsSolutions-DDB4": (),
}


def acknowledgements(template: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    found = {}
    for logical_id, resource in template["Resources"].items():
        rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress")
        if rules:
            found[logical_id] = rules
    return found


@pytest.mark.slow
@pytest.mark.xdist_group("hub-synth")
def test_validated_hub_synth_has_no_unacknowledged_finding_and_every_acknowledgement_has_a_reason(
        tmp_path: Path, hub_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_VALIDATION", "true")
    template = synth_hub(hub_settings, tmp_path, validate=True)  # raises HubNagError on any finding

    acknowledged = acknowledgements(template)
    assert acknowledged, "a validated synth writes its acknowledgements into the template"
    for logical_id, rules in acknowledged.items():
        for rule in rules:
            assert len(rule["reason"].split()) >= 12, f"{logical_id} {rule['id']}: give a real reason"
            base, _, finding = rule["id"].partition("[")
            assert base in ACKNOWLEDGEABLE, f"{logical_id}: unexpected acknowledgement {rule['id']}"
            if base == "AwsSolutions-IAM5":
                assert finding.startswith(ACKNOWLEDGEABLE[base]), f"{logical_id}: {rule['id']}"
    handler_role = {r["id"] for r in acknowledged["HandlerRole"]}
    assert handler_role == {
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/OrgGuardRemediation]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::"
        f"{hub_settings.organization.management_account}:account/<OrganizationId>/*]",
    }
    sqs3 = {k for k, rules in acknowledged.items() if any(r["id"] == "AwsSolutions-SQS3" for r in rules)
            and template["Resources"][k]["Type"] == "AWS::SQS::Queue"}
    alarmed = {a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
               for a in template["Resources"].values() if a["Type"] == "AWS::CloudWatch::Alarm"}
    assert sqs3 == alarmed, "only the alarmed dead-letter queues may skip having a DLQ of their own"


def test_gate_turns_an_unacknowledged_finding_into_an_error_naming_it(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), analytics_reporting=False)
    stack = cdk.Stack(app, "NagGate")
    sqs.Queue(stack, "PlainQueue", encryption=sqs.QueueEncryption.UNENCRYPTED)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(HubNagError) as raised:
        synthesize(app, tmp_path)
    findings = "\n".join(raised.value.findings)
    assert "AwsSolutions-SQS2 at NagGate/PlainQueue/Resource" in findings
    assert "AwsSolutions-SQS4 at NagGate/PlainQueue/Resource" in findings


def test_cdk_validation_false_turns_cdk_nag_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_VALIDATION", "false")
    assert not validation_enabled()
    monkeypatch.setenv("CDK_VALIDATION", "FALSE ")
    assert not validation_enabled()
    monkeypatch.setenv("CDK_VALIDATION", "true")
    assert validation_enabled()
    assert not validation_enabled(requested=False)
    monkeypatch.delenv("CDK_VALIDATION")
    assert validation_enabled()
