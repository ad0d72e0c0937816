"""The spoke's service control policy (``spoke/scp.py``): valid, small enough, aimed at exactly the spoke's
resources, and leaving no way to change them that nobody decided on.

parliament lints the document (it knows every action) and its copy of IAM's service authorization reference
says which resource types each action applies to and what their ARNs look like; the resources the policy
names are checked against those formats and against the names the rendered templates use. Whether AWS
denies the calls is shown separately by the IAM-enforcing sandbox; moto does not enforce SCPs.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
from parliament import analyze_policy_string, iam_definition, is_arn_match
from parliament.statement import get_arn_format, get_privilege_info

import spoke.scp as scp
from handlers.settings import Settings, validate
from spoke.lint import parse_template
from spoke.render import partition_for_region, render_spoke, render_spoke_global

from .policies import as_list

RESOURCE_TYPES = {"iam": {"role"}, "events": {"rule-on-default-event-bus"}, "sqs": {"queue"},
                  "cloudwatch": {"alarm"}}
LONG_OPERATOR_ROLES = [f"arn:aws-us-gov:iam::222222222222:role/{'x' * 60}{n}" for n in range(10)]
PARTITIONS = {
    "aws": {},
    "aws-us-gov": {"organization": {"hub_region": "us-gov-west-1", "regions": ["us-gov-west-1", "us-gov-east-1"],
                                    "hub_account": "222222222222", "operator_roles": LONG_OPERATOR_ROLES}},
    "aws-cn": {"organization": {"hub_region": "cn-north-1", "regions": ["cn-north-1", "cn-northwest-1"]}},
}


@pytest.fixture(scope="module", params=sorted(PARTITIONS))
def settings(request: pytest.FixtureRequest) -> Settings:
    return validate(PARTITIONS[request.param], f"{request.param} settings")


def statements(settings: Settings) -> list[dict[str, Any]]:
    return list(scp.protection_policy(settings)["Statement"])


def test_the_policy_is_stored_compact_and_under_the_size_limit(settings: Settings) -> None:
    text = scp.protection_policy_text(settings)
    assert len(text) <= scp.MAX_CHARACTERS
    assert " " not in text and json.loads(text) == scp.protection_policy(settings)


def test_a_policy_over_the_limit_is_refused(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scp, "MAX_CHARACTERS", 200)
    with pytest.raises(scp.ScpTooLargeError, match="more than the 200"):
        scp.protection_policy_text(settings)


def test_parliament_finds_nothing(settings: Settings) -> None:
    findings = analyze_policy_string(scp.protection_policy_text(settings), include_community_auditors=True).findings
    assert [(f.issue, f.detail) for f in findings] == []


def test_only_denies_and_only_the_stacksets_execution_role_is_exempt(settings: Settings) -> None:
    partition = partition_for_region(settings.organization.hub_region)
    exempt = f"arn:{partition}:iam::*:role/stacksets-exec-*"
    for statement in statements(settings):
        assert statement["Effect"] == "Deny" and "NotAction" not in statement and "NotResource" not in statement
        assert statement["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": exempt}}
    # ArnNotLike matches like a glob per ARN part; a plain glob over the whole ARN decides the same here.
    assert fnmatch.fnmatchcase(f"arn:{partition}:iam::333333333333:role/stacksets-exec-1a2b3c4d", exempt)
    for denied in ("role/OrganizationAccountAccessRole", "root", "role/stacksets-exec", "user/stacksets-exec-x"):
        assert not fnmatch.fnmatchcase(f"arn:{partition}:iam::333333333333:{denied}", exempt)


def test_every_action_applies_to_the_resources_it_is_denied_on(settings: Settings) -> None:
    for statement in statements(settings):
        for action in statement["Action"]:
            service, name = action.split(":", 1)
            info = get_privilege_info(service, name)
            types = [t["resource_type"].rstrip("*") for t in info["resource_types"] if t["resource_type"]]
            assert types, f"{action} has no resource-level permissions: a Resource would not narrow it"
            formats = {t: get_arn_format(t, info["service_resources"]) for t in types}
            for resource in statement["Resource"]:
                assert any(is_arn_match(t, f, resource) for t, f in formats.items()), (action, resource)


def test_the_resource_check_tells_a_role_from_a_queue() -> None:
    info = get_privilege_info("iam", "DeleteRole")
    role = get_arn_format("role", info["service_resources"])
    assert is_arn_match("role", role, "arn:aws:iam::*:role/OrgGuardRemediation")
    assert not is_arn_match("role", role, "arn:aws:sqs:*:*:orgguard-forward-dlq")


def test_the_resources_are_the_ones_the_templates_create(settings: Settings) -> None:
    roles = parse_template(render_spoke_global(settings))["Resources"]
    regional = parse_template(render_spoke(settings))["Resources"]
    names = {"AWS::IAM::Role": "RoleName", "AWS::Events::Rule": "Name", "AWS::SQS::Queue": "QueueName",
             "AWS::CloudWatch::Alarm": "AlarmName"}
    created = {(r["Type"], r["Properties"][names[r["Type"]]]) for r in [*roles.values(), *regional.values()]
               if r["Type"] in names}
    protected = set()
    for statement in statements(settings):
        for resource in statement["Resource"]:
            service, last = resource.split(":")[2], resource.split(":")[-1]
            kind = {"iam": "AWS::IAM::Role", "events": "AWS::Events::Rule", "sqs": "AWS::SQS::Queue",
                    "cloudwatch": "AWS::CloudWatch::Alarm"}[service]
            protected.add((kind, last.split("/")[-1]))
    assert protected == created


def write_actions(service: str, resource_types: set[str]) -> set[str]:
    """Every non-read action of IAM's reference that applies to one of the resource types."""
    found = set()
    for definition in iam_definition:
        if definition["prefix"] != service:
            continue
        for privilege in definition["privileges"]:
            types = {t["resource_type"].rstrip("*") for t in privilege["resource_types"]}
            if types & resource_types and privilege["access_level"] not in ("Read", "List"):
                found.add(f"{service}:{privilege['privilege']}")
    return found


def test_every_change_to_the_spokes_resources_is_denied_or_left_with_a_reason(settings: Settings) -> None:
    denied = {a for s in statements(settings) for a in as_list(s["Action"])}
    possible = set().union(*(write_actions(service, types) for service, types in RESOURCE_TYPES.items()))
    assert possible - denied - set(scp.NOT_DENIED) == set(), "neither denied nor left on purpose"
    assert denied & set(scp.NOT_DENIED) == set()
    assert all(reason.strip() for reason in scp.NOT_DENIED.values())
    for action in scp.NOT_DENIED:  # every exception is a real action on one of the resource types
        service, name = action.split(":", 1)
        assert get_privilege_info(service, name)["privilege"] == name


def test_what_a_member_administrator_would_do_to_switch_the_spoke_off_is_denied(settings: Settings) -> None:
    denied = {a for s in statements(settings) for a in as_list(s["Action"])}
    assert {"iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
            "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:UpdateRole", "iam:PutRolePermissionsBoundary",
            "iam:DeleteRolePermissionsBoundary", "events:DeleteRule", "events:DisableRule", "events:PutRule",
            "events:PutTargets", "events:RemoveTargets", "sqs:DeleteQueue", "sqs:SetQueueAttributes",
            "sqs:PurgeQueue"} <= denied


def test_the_linter_would_notice_a_misspelt_action() -> None:
    """parliament is not vacuous on a Deny: an unknown action is a finding."""
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "events:DisableRulez",
                                                      "Resource": "arn:aws:events:*:*:rule/orgguard-forward"}]}
    issues = {f.issue for f in analyze_policy_string(json.dumps(policy)).findings}
    assert "UNKNOWN_ACTION" in issues
