"""The hub synthesized with a guardrail from a temporary registry has its rule and its Lambda."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers import contract
from handlers.registry import registered
from handlers.settings import validate
from tests.infra.conftest import HUB_TEST_CONFIG
from tests.support.fake_guardrail import GUARDRAIL as FAKE

pytestmark = pytest.mark.infra


def test_the_hub_gets_a_rule_and_a_function_for_the_registered_guardrail(tmp_path: Path) -> None:
    from hub.app import synth_hub

    with registered(FAKE):
        synth_hub(validate(HUB_TEST_CONFIG, "hub test config"), tmp_path, validate=False)
    resources = json.loads((tmp_path / "hub.template.json").read_text())["Resources"]
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"
             and "EventPattern" in r["Properties"]]
    assert {"eventSource": ["sqs.amazonaws.com"], "eventName": ["CreateQueue", "SetQueueAttributes"]} in \
        [r["EventPattern"].get("detail") for r in rules]
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    served = {f["Environment"]["Variables"].get(contract.ENV_POLICY) for f in functions}
    assert "sqs-encryption" in served
    [fake] = [f for f in functions if f["Environment"]["Variables"].get(contract.ENV_POLICY) == "sqs-encryption"]
    assert fake["Handler"] == FAKE.lambda_handler
