"""The order StackSet automatic deployment follows in the sandbox (``sandbox/aws/deployment_order.py``) and the
strictness switch that turns the part on; the deployments themselves are in ``test_sandbox_autodeploy.py``."""

from __future__ import annotations

import itertools

import pytest

from sandbox.aws.deployment_order import DeploymentOrder
from sandbox.aws.strictness import Strictness

pytestmark = [pytest.mark.e2e]

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def test_the_drawn_order_is_the_same_on_every_run_and_covers_every_order() -> None:
    order = DeploymentOrder(seed=7)
    drawn = order.regions_for(REGIONS, "orgguard-spoke", "111122223333")
    assert sorted(drawn) == sorted(REGIONS)
    assert DeploymentOrder(seed=7).regions_for(reversed(REGIONS), "orgguard-spoke", "111122223333") == drawn
    seen = {tuple(order.regions_for(REGIONS, "orgguard-spoke", f"{n:012d}")) for n in range(200)}
    assert seen == set(itertools.permutations(REGIONS)), "no order is favoured for good"


def test_an_explicit_order_comes_first_and_the_rest_follows_in_the_drawn_order() -> None:
    assert DeploymentOrder(regions=("ap-southeast-2", "us-east-1", "eu-west-1")).regions_for(
        REGIONS, "s", "a") == ["ap-southeast-2", "us-east-1", "eu-west-1"]
    partial = DeploymentOrder(regions=("eu-west-1", "sa-east-1")).regions_for(REGIONS, "s", "a")
    assert partial[0] == "eu-west-1" and sorted(partial[1:]) == ["ap-southeast-2", "us-east-1"]
    assert DeploymentOrder(stacksets=("b", "a")).next_stackset(["a", "b"], "acct") == "b"


def test_the_strictness_switch_turns_the_part_on_by_default_and_off_when_lenient() -> None:
    assert Strictness().stackset_autodeploy and not Strictness.lenient().stackset_autodeploy
    assert Strictness().without_iam().stackset_autodeploy
