"""Least privilege, proven on the embedded AWS: take one action out of the deployed OrgGuardRemediation and the
demo fails on the call that needed it.

The demo itself checks, for every action of the role, which call would be refused without it (``needs``, asked of
the same IAM engine with the same questions; ``test_demo.py`` asserts each action was needed). This test removes
one action for real, in every member account after the spoke is deployed, and runs the whole demo again: the
denial it sees is the one the demo's analysis named.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from handlers.registry import REMEDIATION_ROLE_NAME
from sandbox.aws.iam.necessity import without_action
from sandbox.demo.demo import Demo, DemoResult
from sandbox.world.identities import account_admin

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

REMOVED = "s3:PutEncryptionConfiguration"
POLICY_NAME = "remediation"  # the role's inline policy in spoke/templates/spoke-global.yaml.j2


class DemoWithoutOneAction(Demo):
    """The demo, with ``action`` taken out of OrgGuardRemediation in every member once the new account is in."""

    def __init__(self, out_dir: Path, action: str) -> None:
        super().__init__(out_dir, stream=io.StringIO())
        self.action = action

    def _new_account(self, management: boto3.Session, settings: Any, org: Any, *rest: Any) -> None:
        super()._new_account(management, settings, org, *rest)
        for account in org.members:
            iam = account_admin(management, account, settings.organization.hub_region).session().client("iam")
            document = iam.get_role_policy(RoleName=REMEDIATION_ROLE_NAME, PolicyName=POLICY_NAME)["PolicyDocument"]
            if isinstance(document, str):  # moto answers the document CloudFormation stored, YAML-flavoured
                document = yaml.safe_load(document)
            iam.put_role_policy(RoleName=REMEDIATION_ROLE_NAME, PolicyName=POLICY_NAME,
                                PolicyDocument=json.dumps(without_action(document, self.action)))


@pytest.fixture(scope="module")
def without_put_encryption(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return DemoWithoutOneAction(tmp_path_factory.mktemp("demo-minus-one"), REMOVED).run()


def test_the_demo_fails_naming_the_refused_call(without_put_encryption: DemoResult) -> None:
    result = without_put_encryption
    assert not result.ok
    assert result.iam is not None
    refused = [d for d in result.iam.denials if f"/{REMEDIATION_ROLE_NAME}/" in d.principal]
    assert refused and {d.action for d in refused} == {REMOVED}
    assert {d.operation for d in refused} == {"s3:PutBucketEncryption"}
    assert any("IAM refused OrgGuard's s3:PutBucketEncryption" in p for p in result.problems), result.problems
    failed = [e for e in result.events if e.policy == "s3-encryption" and e.outcome.startswith("failed")]
    assert failed, [(e.story.title, e.outcome) for e in result.events]


def test_the_denial_is_the_call_the_demos_analysis_named(without_put_encryption: DemoResult, demo_run) -> None:
    named = demo_run.document["iam"]["needed"][REMOVED]
    assert named in {d.operation for d in without_put_encryption.iam.denials}  # type: ignore[union-attr]
