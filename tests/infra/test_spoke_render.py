"""Rendering the spoke templates (global: the roles; regional: rules, DLQ, alarm): every config shape
renders lint-clean with its parameter defaults from the settings, the roles go to the home region only, ARNs
follow the hub's partition, rendering is strict, and operator roles or registry permissions that are not least
privilege are refused. The rendered templates are fixtures in conftest.py."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest

from handlers.registry import (
    REMEDIATION_ROLE_NAME,
    Permission,
    remediation_permissions,
)
from handlers.settings import SettingsError, validate
from spoke.lint import lint_template, parse_template
from spoke.render import (
    GLOBAL_TEMPLATE_NAME,
    REGIONAL_TEMPLATE_NAME,
    check_permissions,
    environment,
    global_context,
    hub_bus_arn,
    regional_context,
    render_spoke,
    render_spoke_global,
    spoke_global_parameters,
    spoke_parameters,
)
from stacksets.parts import spoke_parts
from tests.support.spoke_templates import (
    CONFIGS,
    HUB_ACCOUNT,
    settings_for,
)

# --- every config renders to templates cfn-lint finds nothing in -------------------------------------------


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_rendered_spoke_is_lint_clean_in_every_region_it_deploys_to(name: str) -> None:
    settings = settings_for(name)
    assert lint_template(render_spoke(settings), settings.organization.regions) == []
    assert lint_template(render_spoke_global(settings), [settings.organization.spoke_home_region]) == []


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_parameter_defaults_come_from_the_settings(name: str) -> None:
    settings = settings_for(name)
    org = settings.organization
    regional = parse_template(render_spoke(settings))["Parameters"]
    hub = {"HubAccountId": org.hub_account, "HubRegion": org.hub_region, "HubBusName": settings.hub.bus_name}
    assert {key: p["Default"] for key, p in regional.items()} == hub == spoke_parameters(settings)
    global_ = parse_template(render_spoke_global(settings))["Parameters"]
    assert {key: p["Default"] for key, p in global_.items()} == {
        **hub, "OperatorRoleArns": ",".join(org.operator_roles)} == spoke_global_parameters(settings)


def test_the_roles_go_to_the_configured_home_region_only_and_the_rules_everywhere_home_first() -> None:
    settings = settings_for("home-region-not-first")
    assert settings.organization.regions[0] != "eu-central-1"
    global_part, regional = spoke_parts(settings)
    assert global_part.regions == ("eu-central-1",)
    assert regional.regions == ("eu-central-1", "eu-west-1", "us-west-2")
    assert (global_part.stackset, regional.stackset) == ("orgguard-spoke-global", "orgguard-spoke")


def test_each_template_says_what_it_is(template: dict[str, Any], roles: dict[str, Any]) -> None:
    assert "account-global part" in roles["Description"] and REMEDIATION_ROLE_NAME in roles["Description"]
    assert "home region only" in roles["Description"]
    assert "regional part" in template["Description"] and "orgguard-spoke-global" in template["Description"]


def test_hub_bus_arn_follows_the_partition_of_the_hub_region() -> None:
    assert hub_bus_arn(settings_for("one-region")) == (
        f"arn:aws:events:us-east-1:{HUB_ACCOUNT}:event-bus/orgguard")
    assert hub_bus_arn(settings_for("govcloud")) == (
        f"arn:aws-us-gov:events:us-gov-west-1:{HUB_ACCOUNT}:event-bus/orgguard")


# --- rendering is strict ------------------------------------------------------------------------------


CONTEXTS = {GLOBAL_TEMPLATE_NAME: global_context, REGIONAL_TEMPLATE_NAME: regional_context}


@pytest.mark.parametrize(("name", "missing"), [(name, key) for name, make in sorted(CONTEXTS.items())
                                               for key in sorted(make(validate({}, "defaults")))])
def test_rendering_without_any_context_value_raises(name: str, missing: str) -> None:
    context = CONTEXTS[name](validate({}, "defaults"))
    del context[missing]
    with pytest.raises(jinja2.UndefinedError):
        environment().get_template(name).render(context)


def test_a_template_referencing_an_unknown_name_raises() -> None:
    env = environment(jinja2.DictLoader({"t.j2": "Value: {{ no_such_value | q }}\n"}))
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("t.j2").render({})


def test_operator_role_outside_the_hub_account_is_refused_with_its_key() -> None:
    with pytest.raises(SettingsError) as caught:
        validate({"organization": {"operator_roles": [
            f"arn:aws:iam::{HUB_ACCOUNT}:role/Platform", "arn:aws:iam::333333333333:role/Elsewhere",
            f"arn:aws:iam::{HUB_ACCOUNT}:role/with,comma"]}})
    assert len(caught.value.problems) == 2
    assert caught.value.problems[0].startswith("organization.operator_roles[1] = ")
    assert "333333333333" in caught.value.problems[0] and HUB_ACCOUNT in caught.value.problems[0]
    assert caught.value.problems[1].startswith("organization.operator_roles[2] = ")


def test_registry_permissions_that_are_not_least_privilege_are_refused() -> None:
    bad = [
        Permission("ec2:*", ("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*",)),
        Permission("s3:GetBucketTagging", ("*",)),
        Permission("s3:PutEncryptionConfiguration", ("arn:aws:s3:::*",)),
        Permission("ec2:DescribeVpcs", ("arn:${AWS::Partition}:ec2:*:*:vpc/*",), scopable=False),
    ]
    problems = check_permissions(bad)
    assert len(problems) == len(bad)
    for problem, permission in zip(problems, bad, strict=True):
        assert problem.startswith(f"registry action {permission.action!r}: ")
    assert check_permissions(remediation_permissions()) == []
