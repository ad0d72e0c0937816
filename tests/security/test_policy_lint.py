"""Every policy document of the spoke and the hub, linted by parliament (an IAM policy linter from PyPI).

Intrinsics are resolved to concrete strings first (``intrinsics.Resolver``). Only the findings listed in
``ACCEPTED`` are ignored, each for the reason given there; anything else fails the suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from parliament import analyze_policy_string

from .policies import Document

pytestmark = pytest.mark.xdist_group("security-templates")


@dataclass(frozen=True)
class Accepted:
    issue: str
    kind: str  # the kind of document it may appear in
    detail: str  # the finding's detail must contain this ("" for any)
    reason: str


ACCEPTED = (
    Accepted("MALFORMED", "trust", "neither Resource nor NotResource",
             "A role's trust policy has no Resource element by IAM's grammar (the role itself is the resource); "
             "parliament lints every document as an identity policy."),
    Accepted("CREDENTIALS_EXPOSURE", "identity", "",
             "sts:AssumeRole returns credentials by design: the hub Lambdas assume OrgGuardRemediation, and the "
             "statement allows only that role name inside the organization (aws:ResourceOrgID), as "
             "test_least_privilege checks."),
    Accepted("PERMISSIONS_MANAGEMENT_ACTIONS", "identity", "",
             "s3-public-access's fix is s3:PutBucketPublicAccessBlock, an action of the 'Permissions management' "
             "access level: it only turns flags on (never off), on buckets, as "
             "test_permissions_management_is_only_the_block_public_access_fix checks."),
)


def findings(doc: Document) -> list[tuple[str, str]]:
    policy = analyze_policy_string(json.dumps(doc.document), include_community_auditors=True)
    return [(f.issue, json.dumps(f.detail, default=str)) for f in policy.findings]


def accepted(doc: Document, issue: str, detail: str) -> bool:
    return any(a.issue == issue and a.kind == doc.kind and a.detail in detail for a in ACCEPTED)


def test_every_policy_document_passes_parliament(all_documents: list[Document]) -> None:
    assert len(all_documents) > 10
    problems = [(doc.label, issue, detail) for doc in all_documents for issue, detail in findings(doc)
                if not accepted(doc, issue, detail)]
    assert not problems, "\n".join(f"{label}: {issue} {detail}" for label, issue, detail in problems)


def test_credentials_exposure_is_accepted_only_for_assuming_the_remediation_role(
        all_documents: list[Document]) -> None:
    for doc in all_documents:
        for issue, _ in findings(doc):
            if issue == "CREDENTIALS_EXPOSURE":
                actions = {a for s in doc.statements for a in
                           (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
                assert actions & {"sts:AssumeRole"}, doc.label


def test_permissions_management_is_only_the_block_public_access_fix(all_documents: list[Document]) -> None:
    flagged = [doc for doc in all_documents if "PERMISSIONS_MANAGEMENT_ACTIONS" in dict(findings(doc))]
    assert [doc.label for doc in flagged] == ["spoke:RemediationRole (identity)"]
    (doc,) = flagged
    fix = "s3:PutBucketPublicAccessBlock"
    without = {**doc.document, "Statement": [
        s for s in doc.document["Statement"]
        if fix not in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]}
    assert len(without["Statement"]) == len(doc.document["Statement"]) - 1
    assert "PERMISSIONS_MANAGEMENT_ACTIONS" not in dict(findings(Document(
        doc.template, doc.source, doc.kind, doc.owners, without)))


def test_the_linter_finds_what_it_must() -> None:
    """The lint is not vacuous: a sloppy policy, resolved like ours, gets findings we do not accept."""
    sloppy = Document("test", "Sloppy", "identity", ("Sloppy",), {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetBucketTagging", "Resource": "*"},
        {"Effect": "Allow", "Action": "ec2:CreateTagz", "Resource": "arn:aws:ec2:eu-west-1:333333333333:instance/*"},
    ]})
    issues = {issue for issue, detail in findings(sloppy) if not accepted(sloppy, issue, detail)}
    assert {"RESOURCE_STAR", "UNKNOWN_ACTION"} <= issues
