"""The policy registry is the one list behind routing, the hub rules, the spoke pattern and the remediation
role: walk it and check that each of those is derived from it, exactly."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from handlers import registry
from handlers.audit import event_key
from handlers.guardrails.base import Guardrail
from handlers.registry import (
    CLOUDTRAIL_DETAIL_TYPE,
    POLICIES,
    POLICIES_BY_ID,
    REMEDIATION_ROLE_NAME,
    Permission,
    all_event_names,
    governed_sources,
    hub_rule_pattern,
    policies_for,
    policy_for,
    record_key_suffix,
    remediation_permissions,
    spoke_forward_pattern,
)
from handlers.settings import Policies, load

VPC, S3, EC2 = (registry.guardrail(i) for i in ("vpc-created", "s3-encryption", "ec2-compliance"))

ACTION_RE = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$")
HANDLERS_DIR = Path(registry.__file__).parent


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_guardrail_module_is_its_package_with_template_and_handler(policy: Guardrail) -> None:
    module = importlib.import_module(policy.module)
    assert module.GUARDRAIL is policy
    assert policy.package_dir.parent == HANDLERS_DIR / "guardrails"
    assert policy.template_path.is_file() and policy.template_path.parent == policy.package_dir
    assert isinstance(policy.default_settings(), policy.settings_type)
    module_name, attribute = policy.lambda_handler.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module_name), attribute))
    # The Lambda asset root holds the handlers package: the handler string is a path inside it.
    assert (HANDLERS_DIR.parent / (module_name.replace(".", "/") + ".py")).is_file()


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_every_event_name_routes_back_to_its_policy(policy: Guardrail) -> None:
    assert policy.event_names, policy.id
    for name in policy.event_names:
        assert policy in policies_for(policy.event_source, name)
        assert policy_for(policy.event_source, name) is policies_for(policy.event_source, name)[0]
    assert policy_for("s3express.amazonaws.com", policy.event_names[0]) is None
    assert policy_for(policy.event_source, "Describe" + policy.event_names[0]) is None


def test_policy_ids_are_unique_and_each_has_settings() -> None:
    ids = [p.id for p in POLICIES]
    assert len(set(ids)) == len(ids)
    assert set(POLICIES_BY_ID) == set(ids)
    assert set(Policies()) == set(ids)
    settings = load(None)
    assert set(settings.to_dict()["policies"]) == set(ids)
    assert all(settings.policies.mode(pid) == "enforce" for pid in ids)


def test_an_event_several_guardrails_name_reaches_each_with_its_own_record() -> None:
    for policy in POLICIES:
        assert len(policy.event_names) == len(set(policy.event_names)), policy.id
    routed = policies_for("s3.amazonaws.com", "CreateBucket")
    assert [p.id for p in routed] == ["s3-encryption", "s3-public-access"]
    suffixes = [record_key_suffix(p, "s3.amazonaws.com", "CreateBucket") for p in routed]
    assert suffixes == ["", "s3-public-access"]  # the first keeps event#<id>, as for an event with one guardrail
    assert event_key("e-1", suffixes[1]) == "event#e-1#s3-public-access" and event_key("e-1") == "event#e-1"


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_permissions_are_narrow(policy: Guardrail) -> None:
    assert policy.permissions, policy.id
    for perm in policy.permissions:
        assert ACTION_RE.match(perm.action), perm.action
        assert "*" not in perm.action
        assert perm.resources, perm.action
        if perm.scopable:
            assert "*" not in perm.resources, f"{perm.action} supports resource-level permissions"
            assert all(r.startswith("arn:${AWS::Partition}:") for r in perm.resources), perm.action
        else:
            assert perm.resources == ("*",), perm.action
            assert perm.why, f"{perm.action}: say why it cannot be scoped"


def test_remediation_permissions_are_exactly_the_union_of_declared_actions() -> None:
    merged = remediation_permissions()
    declared = [perm for p in POLICIES for perm in p.permissions]
    assert [m.action for m in merged] == sorted({perm.action for perm in declared})
    for permission in merged:
        same = [d for d in declared if d.action == permission.action]
        assert set(permission.resources) == {r for d in same for r in d.resources}
        assert len(permission.resources) == len(set(permission.resources))
        assert permission.scopable == all(d.scopable for d in same)


def test_permissions_of_a_shared_action_are_merged() -> None:
    first = SimpleNamespace(permissions=(Permission("ec2:CreateTags", ("arn:1",)),))
    second = SimpleNamespace(permissions=(Permission("ec2:CreateTags", ("arn:2", "arn:1")),))
    [merged] = remediation_permissions([first, second])  # type: ignore[list-item]
    assert merged == Permission("ec2:CreateTags", ("arn:1", "arn:2"), True, "")


def test_write_actions_of_the_policy_modules_are_declared() -> None:
    """Each ``Action("service:Operation", ...)`` a policy module can send is covered by its own permissions."""
    api_to_iam = {"s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
                  "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock"}
    for policy in POLICIES:
        source = "\n".join(path.read_text() for path in policy.package_dir.glob("*.py"))
        sent = set(re.findall(r'Action\(\s*"([a-z0-9]+:[A-Za-z]+)"', source))
        assert sent or policy.id == "vpc-created", policy.id
        assert {api_to_iam.get(a, a) for a in sent} <= set(policy.actions), policy.id


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_hub_rule_pattern_is_the_policy_and_nothing_else(policy: Guardrail) -> None:
    pattern = hub_rule_pattern(policy)
    assert pattern["detail-type"] == [CLOUDTRAIL_DETAIL_TYPE]
    assert pattern["detail"]["eventSource"] == [policy.event_source]
    assert sorted(pattern["detail"]["eventName"]) == sorted(policy.event_names)
    assert set(pattern) == {"detail-type", "detail"}


def test_spoke_pattern_covers_exactly_the_registry() -> None:
    pattern = spoke_forward_pattern()
    detail = pattern["detail"]
    assert pattern["detail-type"] == [CLOUDTRAIL_DETAIL_TYPE]
    # Each source is paired with its own names only: the pairs forwarded are the pairs routed.
    forwarded = {(source, name) for branch in detail["$or"]
                 for source in branch["eventSource"] for name in branch["eventName"]}
    assert forwarded == {(p.event_source, n) for p in POLICIES for n in p.event_names}
    assert all(policy_for(source, name) is not None for source, name in forwarded)
    assert sorted({s for s, _ in forwarded}) == governed_sources()
    assert sorted({n for _, n in forwarded}) == all_event_names()
    assert detail["errorCode"] == [{"exists": False}]
    issuer = detail["userIdentity"]["sessionContext"]["sessionIssuer"]["$or"]
    assert issuer == [{"arn": [{"exists": False}]},
                      {"arn": [{"anything-but": {"suffix": f":role/{REMEDIATION_ROLE_NAME}"}}]}]


def test_resource_ids_from_odd_shapes() -> None:
    assert S3.resource_ids({"requestParameters": None}) == []
    assert S3.resource_ids({"requestParameters": "null"}) == []
    assert S3.resource_ids({"requestParameters": {"bucketName": ""}}) == []
    assert S3.resource_ids({"requestParameters": {"bucketName": "b"}}) == ["b"]
    assert VPC.resource_ids({"responseElements": {"vpc": "vpc-1"}}) == []
    assert VPC.resource_ids({"responseElements": {"vpc": {"vpcId": "vpc-1"}}}) == ["vpc-1"]
    single = {"responseElements": {"instancesSet": {"items": {"instanceId": "i-1"}}}}
    assert EC2.resource_ids(single) == ["i-1"]
    several = {"responseElements": {"instancesSet": {"items": [{"instanceId": "i-1"}, {"x": 1}, "i-2",
                                                               {"instanceId": "i-3"}, {"instanceId": "i-1"}]}}}
    assert EC2.resource_ids(several) == ["i-1", "i-3"]
    assert EC2.resource_ids({"responseElements": None}) == []
