"""Drift (pure): the fix a stack-owned resource's template needs, per guardrail, as YAML that parses and that
cfn-lint accepts in a template, and as CDK (Python) that parses."""

from __future__ import annotations

import ast
import datetime as dt
from typing import Any

import pytest
import yaml

from handlers import outcome as oc
from handlers.drift import (
    IacFix,
    cdk_snippet,
    cloudformation_yaml,
    first_rendered,
    public_access_block_snippet,
    render,
    yaml_lines,
)
from handlers.guardrails.base import Finding, Guardrail, Subject
from handlers.guardrails.check import add_iac_fixes
from handlers.guardrails.ec2_compliance.guardrail import GUARDRAIL as EC2
from handlers.guardrails.ec2_compliance.guardrail import InstanceState
from handlers.guardrails.ec2_compliance.instances import Instance, Interface
from handlers.guardrails.ec2_compliance.plan import InstancePlan
from handlers.guardrails.ec2_compliance.settings import Ec2Compliance
from handlers.guardrails.s3_encryption.guardrail import GUARDRAIL as S3
from handlers.guardrails.s3_encryption.guardrail import BucketState
from handlers.guardrails.s3_encryption.settings import S3Encryption
from handlers.guardrails.s3_encryption.standard import Encryption
from handlers.guardrails.vpc_created.guardrail import GUARDRAIL as VPC
from handlers.settings import Exemptions
from spoke.lint import lint_template

ACCOUNT, REGION = "111122223333", "eu-west-1"
STACK_TAGS = {"aws:cloudformation:stack-name": "team-app", "aws:cloudformation:logical-id": "DataBucket"}
APP, ADMIN = "sg-0a1b2c3d4e5f60718", "sg-0fedcba9876543210"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def subject(guardrail: Guardrail, standard: Any, enforcing: bool = True) -> Subject:
    return Subject(guardrail.id, ACCOUNT, REGION, dt.date(2026, 12, 4), standard, Exemptions(), enforcing)


def linted(fix: IacFix, logical_id: str, required: dict[str, Any] | None = None) -> dict[str, Any]:
    """The snippet parsed by PyYAML, then put in a template (with what the resource type requires) for cfn-lint."""
    parsed = yaml.safe_load(cloudformation_yaml(logical_id, fix))
    resource = parsed["Resources"][logical_id]
    assert resource["Type"] == fix.resource_type
    resource["Properties"] = {**(required or {}), **resource["Properties"]}
    template = yaml.safe_dump({"AWSTemplateFormatVersion": "2010-09-09", **parsed})
    assert lint_template(template, [REGION]) == []
    return dict(resource["Properties"])


def s3_fix(standard: S3Encryption, current: Encryption | None = None,
           tags: dict[str, str] | None = None) -> Finding:
    state = BucketState(current or Encryption(), REGION, dict(STACK_TAGS if tags is None else tags))
    finding = S3.evaluate("team-data", state, subject(S3, standard))
    add_iac_fixes(S3, [finding], standard)
    return finding


@pytest.mark.parametrize(("standard", "expected"), [
    (S3Encryption(), {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True,
                      "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}),
    (S3Encryption(kms_key=KEY), {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY},
                                 "BucketKeyEnabled": True, "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}),
    (S3Encryption(kms_key="alias/org-s3"), {"ServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/org-s3"}, "BucketKeyEnabled": True,
        "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}),
    (S3Encryption(algorithm="AES256", blocked_encryption_types=()), {
        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BlockedEncryptionTypes": {
            "EncryptionType": ["NONE"]}}),
], ids=["kms-managed", "kms-key-arn", "kms-alias", "aes256-allowing-sse-c"])
def test_a_stack_owned_bucket_gets_the_bucket_encryption_the_fix_put(standard: S3Encryption,
                                                                     expected: dict[str, Any]) -> None:
    finding = s3_fix(standard)

    assert finding.outcome == oc.REMEDIATED and finding.logical_id == "DataBucket"
    assert finding.iac is not None
    assert (finding.iac["stack"], finding.iac["logical_id"], finding.iac["resource"]) == (
        "team-app", "DataBucket", "team-data")
    properties = linted(IacFix.from_dict(finding.iac), "DataBucket")
    assert properties == {"BucketEncryption": {"ServerSideEncryptionConfiguration": [expected]}}
    # the same rule PutBucketEncryption sent (API names aside): not a second copy of the standard
    [sent] = finding.planned
    [rule] = sent.params["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == expected["ServerSideEncryptionByDefault"]
    ast.parse(render(finding.iac)["cdk"])


def test_the_bucket_cdk_snippet_uses_the_l2_arguments() -> None:
    rendered = render(s3_fix(S3Encryption(kms_key=KEY)).iac or {})

    code = rendered["cdk"]
    ast.parse(code)
    for text in ("s3.Bucket(self, ...", "encryption=s3.BucketEncryption.KMS,", f'kms.Key.from_key_arn(self, '
                 f'"OrgGuardKey", "{KEY}")', "bucket_key_enabled=True",
                 "blocked_encryption_types=[s3.BlockedEncryptionType.SSE_C]"):
        assert text in code, text
    assert "team-app" in rendered["cdk_note"] and "aws:cdk:path" in rendered["cdk_note"]
    assert "KMS_MANAGED" in cdk_snippet(IacFix.from_dict(s3_fix(S3Encryption()).iac or {}))


def test_no_fix_without_a_logical_id_or_in_report_mode() -> None:
    assert s3_fix(S3Encryption(), tags={"aws:cloudformation:stack-name": "team-app"}).iac is None
    report = S3.evaluate("b", BucketState(Encryption(), REGION, dict(STACK_TAGS)), subject(S3, S3Encryption(), False))
    add_iac_fixes(S3, [report], S3Encryption())
    assert report.outcome == oc.REPORTED and report.logical_id == "DataBucket" and report.iac is None
    assert first_rendered([]) is None


def ec2_finding(tags: dict[str, str], interfaces: int = 1) -> Finding:
    enis = tuple(Interface(f"eni-{i}", i, (APP,)) for i in range(interfaces))
    instance = Instance("i-0123456789abcdef0", "running", "vpc-0aaa1111", tags, enis, (APP,))
    finding = EC2.evaluate(instance.instance_id, InstanceState(instance, ADMIN), subject(EC2, Ec2Compliance()))
    # what fix() leaves: the writes done, the tags added and the groups changed
    finding.details["plan"].update(tags_added=finding.details["plan"]["tags_to_add"], groups_changed=True)
    finding = EC2._finding(InstancePlan(**finding.details["plan"]), True, InstanceState(None, ADMIN), [], [])
    add_iac_fixes(EC2, [finding], Ec2Compliance())
    return finding


def test_a_stack_owned_instance_gets_its_tags_and_security_group_ids() -> None:
    finding = ec2_finding({"aws:cloudformation:stack-name": "team-app", "aws:cloudformation:logical-id": "Web",
                           "Owner": "alice"})

    assert finding.outcome == oc.REMEDIATED and finding.iac is not None
    properties = linted(IacFix.from_dict(finding.iac), "Web", {"ImageId": "ami-0123456789abcdef0"})
    assert properties == {"ImageId": "ami-0123456789abcdef0", "Tags": [{"Key": "CostCenter", "Value": "unknown"}],
                          "SecurityGroupIds": [APP, ADMIN]}
    code = render(finding.iac)["cdk"]
    ast.parse(code)
    assert f'ec2.SecurityGroup.from_security_group_id(self, "OrgGuardGroup0", "{ADMIN}")' in code
    assert APP not in code  # the CDK adds: only the group the fix added
    assert 'Tags.of(instance).add("CostCenter", "unknown")' in code


def test_an_instance_changed_on_one_of_several_interfaces_gets_only_its_tags() -> None:
    finding = ec2_finding({"aws:cloudformation:stack-name": "s", "aws:cloudformation:logical-id": "Web"}, 2)

    assert finding.iac is not None
    assert set(finding.iac["properties"]) == {"Tags"}


def test_public_access_block_snippet_parses_lints_and_blocks_all() -> None:
    fix = public_access_block_snippet()

    properties = linted(fix, "SiteBucket")
    assert properties == {"PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}}
    code = cdk_snippet(fix)
    ast.parse(code)
    assert "block_public_access=s3.BlockPublicAccess.BLOCK_ALL" in code


def test_vpc_created_changes_nothing_so_it_has_no_fix() -> None:
    finding = Finding("vpc-1", oc.REMEDIATED, "", stack_name="s", logical_id="Vpc")
    assert VPC.iac_fix(finding, None) is None


def test_a_property_without_an_l2_argument_is_a_property_override() -> None:
    code = cdk_snippet(IacFix("AWS::S3::Bucket", {"ObjectLockEnabled": True}))
    ast.parse(code)
    assert code == 'bucket.node.default_child.add_property_override("ObjectLockEnabled", True)\n'


@pytest.mark.parametrize("value", ["yes", "No", "true", "null", "1234", "0x1f", "a: b", "- x", "#x", "", "it's",
                                   "arn:aws:kms:eu-west-1:111122223333:alias/x", "tab\there", "ünïcode", "~"])
def test_any_string_reads_back_as_itself(value: str) -> None:
    document = {"Key": value, "List": [value, {"Nested": [value]}], "Flag": False, "Count": 3, "Empty": []}
    assert yaml.safe_load("\n".join(yaml_lines(document))) == document
