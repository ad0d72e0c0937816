"""Least privilege, derived from the synthesized templates: every IAM statement of the spoke and the hub.

Fails on: an Allow with a ``*`` action; a ``*`` resource on an action that supports resource-level
permissions (``NO_RESOURCE_LEVEL`` lists the exceptions, each with its source, and parliament's IAM
database must agree); a trust policy without ``aws:PrincipalArn`` or an organization condition (service
principals need ``aws:SourceAccount``/``aws:SourceArn``); a resource policy open to everyone outside the
organization; a remediation action the registry does not declare.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from parliament.statement import get_privilege_info

from handlers.contract import HUB_HANDLER_ROLE_NAME
from handlers.registry import REMEDIATION_ROLE_NAME, remediation_permissions
from handlers.settings import Settings
from tests.security.templates import MEMBER_ACCOUNT

from .policies import Document, as_list, condition_keys, principals

pytestmark = pytest.mark.xdist_group("security-templates")

SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
# Actions that have no resource-level permissions, so "*" is their only possible resource.
NO_RESOURCE_LEVEL: dict[str, str] = {
    "ec2:DescribeVpcs": SAR + "list_amazonec2.html",
    "ec2:DescribeInstances": SAR + "list_amazonec2.html",
    "ec2:DescribeSecurityGroups": SAR + "list_amazonec2.html",
    "s3:ListAllMyBuckets": SAR + "list_amazons3.html",
    "organizations:ListAccounts": SAR + "list_awsorganizations.html",
    "sts:GetCallerIdentity": SAR + "list_awssecuritytokenservice.html",
    "tag:GetResources": SAR + "list_amazonresourcegrouptaggingapi.html",
}
ORGANIZATION_KEYS = {"aws:principalorgid", "aws:principalorgpaths", "aws:resourceorgid", "aws:sourceorgid"}
SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid"}
# Service principals that assume a role only when someone passes it to them (iam:PassRole, which cannot
# cross accounts), so no other account can make them act with it: the confused deputy cannot arise.
PASSED_ROLE_SERVICES = {
    "lambda.amazonaws.com": ("Lambda execution roles: Lambda assumes the role only for functions it was "
                             "passed to (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html)"),
}


def scopable(action: str) -> bool:
    """Whether the action has resource-level permissions, from parliament's copy of the IAM reference."""
    service, name = action.split(":", 1)
    return any(rt["resource_type"] for rt in get_privilege_info(service, name)["resource_types"])


def allows(docs: list[Document],
           kinds: tuple[str, ...] = ("identity", "resource")) -> list[tuple[Document, dict[str, Any]]]:
    return [(d, s) for d in docs if d.kind in kinds for s in d.statements if s.get("Effect") == "Allow"]


def role_statements(docs: list[Document], template: str, role: str) -> list[dict[str, Any]]:
    return [s for d in docs if d.template == template and d.kind == "identity" and role in d.owners
            for s in d.statements]


def test_the_templates_carry_every_kind_of_policy(all_documents: list[Document]) -> None:
    carried = {(d.template, d.source, d.kind) for d in all_documents}
    for expected in [("spoke", "RemediationRole", "trust"), ("spoke", "RemediationRole", "identity"),
                     ("spoke", "ForwarderRole", "trust"), ("spoke", "ForwarderRole", "identity"),
                     ("spoke", "ForwardDeadLetterQueuePolicy", "resource"), ("hub", "HandlerRole", "trust"),
                     ("hub", "HubBusPolicy", "resource")]:
        assert expected in carried
    kinds = {(d.template, d.kind) for d in all_documents}
    assert {("hub", "identity"), ("hub", "resource")} <= kinds
    assert any(d.source.startswith("AlertsTopicPolicy") for d in all_documents)
    assert sum(1 for d in all_documents if d.template == "hub" and d.source.startswith("Dlq")) >= 5


def test_no_allow_grants_a_wildcard_action(all_documents: list[Document]) -> None:
    bad = [(d.label, s.get("Sid"), a) for d, s in allows(all_documents)
           for a in as_list(s.get("Action", [])) if "*" in str(a)]
    bad += [(d.label, s.get("Sid"), "NotAction") for d, s in allows(all_documents) if "NotAction" in s]
    assert not bad, f"Allow statements with wildcard actions: {bad}"


def test_star_resources_only_where_the_action_has_no_resource_level_permissions(
        all_documents: list[Document]) -> None:
    bad = []
    for doc, statement in allows(all_documents, ("identity",)):
        if "NotResource" in statement:
            bad.append((doc.label, statement.get("Sid"), "NotResource"))
        if "*" in as_list(statement.get("Resource", [])):
            bad += [(doc.label, statement.get("Sid"), a) for a in as_list(statement["Action"])
                    if a not in NO_RESOURCE_LEVEL]
    assert not bad, f"'*' resources on actions that can be scoped: {bad}"


@pytest.mark.parametrize("action", sorted(NO_RESOURCE_LEVEL))
def test_the_exceptions_really_have_no_resource_level_permissions(action: str) -> None:
    assert not scopable(action), f"{action} supports resource-level permissions: scope it instead"


def test_the_registry_says_what_iam_says_about_resource_scoping() -> None:
    for permission in remediation_permissions():
        assert permission.scopable == scopable(permission.action), permission.action
        if not permission.scopable:
            assert permission.action in NO_RESOURCE_LEVEL and permission.resources == ("*",)
        else:
            assert "*" not in permission.resources


def test_every_trust_policy_names_who_may_assume_the_role(all_documents: list[Document],
                                                          hub: dict[str, Any]) -> None:
    lambda_roles = {str(r["Properties"]["Role"]["Fn::GetAtt"][0]) for r in hub["Resources"].values()
                    if r["Type"] == "AWS::Lambda::Function"}
    bad = []
    for doc in (d for d in all_documents if d.kind == "trust"):
        for statement in doc.statements:
            keys = condition_keys(statement)
            for kind, principal in principals(statement):
                if kind == "AWS" and not ({"aws:principalarn"} | ORGANIZATION_KEYS) & keys:
                    bad.append((doc.label, principal, "no aws:PrincipalArn or organization condition"))
                elif kind == "Service" and not SOURCE_KEYS & keys:
                    passed_only = principal in PASSED_ROLE_SERVICES and set(doc.owners) <= lambda_roles
                    if not passed_only:
                        bad.append((doc.label, principal, "service principal without aws:SourceAccount/SourceArn"))
                elif kind not in ("AWS", "Service"):
                    bad.append((doc.label, principal, f"{kind} principal"))
    assert not bad, bad


def test_resource_policies_let_no_one_in_from_outside(all_documents: list[Document]) -> None:
    bad = []
    for doc, statement in allows(all_documents, ("resource",)):
        keys = condition_keys(statement)
        for kind, principal in principals(statement):
            if principal == "*" and not ORGANIZATION_KEYS & keys:
                bad.append((doc.label, "anyone, without an organization condition"))
            elif kind == "Service" and not SOURCE_KEYS & keys:
                bad.append((doc.label, f"{principal} without aws:SourceArn/SourceAccount"))
            elif kind == "AWS" and principal != "*" and not principal.startswith("arn:"):
                bad.append((doc.label, f"unexpected principal {principal}"))
    assert not bad, bad


def test_the_remediation_role_holds_exactly_the_registry_actions(spoke_documents: list[Document]) -> None:
    statements = role_statements(spoke_documents, "spoke", "RemediationRole")
    granted = {a for s in statements for a in as_list(s["Action"])}
    declared = {p.action for p in remediation_permissions()}
    assert granted == declared, {"not declared by the registry": granted - declared, "missing": declared - granted}
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in statements)


def test_only_the_hub_roles_may_assume_the_remediation_role(spoke_documents: list[Document],
                                                            settings: Settings) -> None:
    trust = next(d for d in spoke_documents if d.source == "RemediationRole" and d.kind == "trust")
    hub = settings.organization.hub_account
    (statement,) = trust.statements
    assert principals(statement) == [("AWS", f"arn:aws:iam::{hub}:root")]
    allowed = set(as_list(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]))
    assert allowed == {f"arn:aws:iam::{hub}:role/{HUB_HANDLER_ROLE_NAME}", *settings.organization.operator_roles}


def test_the_hub_lambdas_may_assume_only_the_remediation_role_inside_the_organization(
        hub_documents: list[Document], settings: Settings) -> None:
    assume = [s for d in hub_documents if d.kind == "identity" for s in d.statements
              if "sts:AssumeRole" in as_list(s["Action"])]
    assert assume
    for statement in assume:
        assert as_list(statement["Action"]) == ["sts:AssumeRole"]
        assert all(r.endswith(f":role/{REMEDIATION_ROLE_NAME}") for r in as_list(statement["Resource"]))
        assert statement["Condition"]["StringEquals"]["aws:ResourceOrgID"] == settings.organization.organization_id


def test_the_forwarder_may_only_put_events_on_the_hub_bus(spoke_documents: list[Document],
                                                          settings: Settings) -> None:
    org = settings.organization
    bus = f"arn:aws:events:{org.hub_region}:{org.hub_account}:event-bus/{settings.hub.bus_name}"
    statements = role_statements(spoke_documents, "spoke", "ForwarderRole")
    assert [(as_list(s["Action"]), as_list(s["Resource"])) for s in statements] == [(["events:PutEvents"], [bus])]


def _arn_in(region: str, account: str, kind: str) -> str:
    samples = {"instance": f"arn:aws:ec2:{region}:{account}:instance/i-0123456789abcdef0",
               "security-group": f"arn:aws:ec2:{region}:{account}:security-group/sg-0123abcd",
               "network-interface": f"arn:aws:ec2:{region}:{account}:network-interface/eni-0123abcd",
               "bucket": "arn:aws:s3:::any-bucket"}
    return samples[kind]


def test_the_remediation_role_can_act_in_every_governed_region(spoke_documents: list[Document],
                                                               settings: Settings) -> None:
    statements = role_statements(spoke_documents, "spoke", "RemediationRole")
    kinds = {"ec2:CreateTags": ["instance"], "ec2:ModifyInstanceAttribute": ["instance", "security-group"],
             "ec2:ModifyNetworkInterfaceAttribute": ["network-interface", "instance", "security-group"],
             "s3:PutEncryptionConfiguration": ["bucket"]}
    missing = []
    for action, resource_kinds in kinds.items():
        resources = [r for s in statements if action in as_list(s["Action"]) for r in as_list(s["Resource"])]
        for region in settings.organization.regions:
            for kind in resource_kinds:
                arn = _arn_in(region, MEMBER_ACCOUNT, kind)
                if not any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources):
                    missing.append((action, region, kind))
    assert not missing, f"the role cannot act on: {missing}"
