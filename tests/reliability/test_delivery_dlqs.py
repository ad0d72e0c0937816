"""Nothing lost on the way: every delivery hop of the synthesized templates ends in a dead-letter queue.

- spoke: each rule target (member default bus -> hub bus) retries, then dead-letters to the spoke's queue;
- hub: each rule target (hub bus -> Lambda) retries, then dead-letters to its queue;
- hub: each asynchronously invoked Lambda sends a failed event to its on-failure destination;
- hub: the SQS-fed reconcile worker's queue redrives to a dead-letter queue.
Every one of these queues keeps messages 14 days, may receive only from its own source, raises an alarm
to the alerts topic when not empty, and (hub) is an output ``DlqUrl*`` that ``orgguard redrive`` reads.
"""

from __future__ import annotations

from typing import Any

import pytest

from handlers.settings import Settings
from tests.security.templates import hub_template, security_settings, spoke_template

pytestmark = pytest.mark.xdist_group("security-templates")  # one synthesis, shared with tests/security

FOURTEEN_DAYS = 14 * 24 * 3600


@pytest.fixture(scope="module")
def settings() -> Settings:
    return security_settings()


@pytest.fixture(scope="module")
def hub(settings: Settings) -> dict[str, Any]:
    return hub_template(settings)


@pytest.fixture(scope="module")
def spoke(settings: Settings) -> dict[str, Any]:
    return spoke_template(settings)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r.get("Properties", {}) for k, r in template["Resources"].items() if r["Type"] == kind}


def target_of(value: Any) -> str:
    """The logical id an ``Fn::GetAtt``/``Ref`` names."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    raise AssertionError(f"not a reference to a resource of the template: {value!r}")


def queue_policy_sources(template: dict[str, Any], queue: str) -> set[str]:
    """Rules (logical ids) a queue's policy lets EventBridge send messages from."""
    sources: set[str] = set()
    for props in of_type(template, "AWS::SQS::QueuePolicy").values():
        if queue not in {target_of(q) for q in props["Queues"]}:
            continue
        for statement in props["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow" and statement.get("Principal") == {"Service": "events.amazonaws.com"}:
                arns = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
                sources.update(target_of(a) for a in (arns if isinstance(arns, list) else [arns]))
    return sources


def alarmed_queues(template: dict[str, Any]) -> set[str]:
    alarmed: set[str] = set()
    for props in of_type(template, "AWS::CloudWatch::Alarm").values():
        if props.get("Namespace") == "AWS/SQS" and props.get("AlarmActions"):
            alarmed.update(target_of(d["Value"]) for d in props["Dimensions"] if d["Name"] == "QueueName")
    return alarmed


@pytest.mark.parametrize("which", ["spoke", "hub"])
def test_every_rule_target_retries_then_dead_letters(which: str, spoke: dict[str, Any],
                                                     hub: dict[str, Any]) -> None:
    template = spoke if which == "spoke" else hub
    rules = of_type(template, "AWS::Events::Rule")
    assert rules
    for rule, props in rules.items():
        for target in props["Targets"]:
            queue = target_of(target["DeadLetterConfig"]["Arn"])
            assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue", (rule, queue)
            assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0, rule
            assert rule in queue_policy_sources(template, queue), f"{queue} does not accept {rule}'s dead letters"


def test_every_asynchronous_lambda_has_an_on_failure_destination(hub: dict[str, Any]) -> None:
    functions = of_type(hub, "AWS::Lambda::Function")
    invoked = {target_of(t["Arn"]) for props in of_type(hub, "AWS::Events::Rule").values()
               for t in props["Targets"] if target_of(t["Arn"]) in functions}
    configs = {target_of(p["FunctionName"]): p for p in of_type(hub, "AWS::Lambda::EventInvokeConfig").values()}
    assert invoked and invoked <= set(configs), f"functions invoked by rules without a config: {invoked - set(configs)}"
    for function in invoked:
        destination = target_of(configs[function]["DestinationConfig"]["OnFailure"]["Destination"])
        assert hub["Resources"][destination]["Type"] == "AWS::SQS::Queue"
        assert configs[function]["MaximumRetryAttempts"] >= 1
        role = target_of(hub["Resources"][function]["Properties"]["Role"])
        assert _role_can_send(hub, role, destination), f"{function}'s role cannot write to {destination}"


def _role_can_send(template: dict[str, Any], role: str, queue: str) -> bool:
    for props in of_type(template, "AWS::IAM::Policy").values():
        if role not in {target_of(r) for r in props["Roles"]}:
            continue
        for statement in props["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if "sqs:SendMessage" in actions and any(
                    isinstance(r, dict) and "Fn::GetAtt" in r and target_of(r) == queue for r in resources):
                return True
    return False


def test_every_queue_fed_lambda_redrives_to_a_dead_letter_queue(hub: dict[str, Any]) -> None:
    mappings = of_type(hub, "AWS::Lambda::EventSourceMapping")
    assert mappings
    for props in mappings.values():
        source = target_of(props["EventSourceArn"])
        redrive = hub["Resources"][source]["Properties"]["RedrivePolicy"]
        assert hub["Resources"][target_of(redrive["deadLetterTargetArn"])]["Type"] == "AWS::SQS::Queue"
        assert redrive["maxReceiveCount"] >= 1


def dead_letter_queues(template: dict[str, Any]) -> set[str]:
    queues = {target_of(t["DeadLetterConfig"]["Arn"]) for props in of_type(template, "AWS::Events::Rule").values()
              for t in props["Targets"]}
    queues |= {target_of(p["DestinationConfig"]["OnFailure"]["Destination"])
               for p in of_type(template, "AWS::Lambda::EventInvokeConfig").values()}
    queues |= {target_of(p["RedrivePolicy"]["deadLetterTargetArn"])
               for p in of_type(template, "AWS::SQS::Queue").values() if "RedrivePolicy" in p}
    return queues


def test_hub_dead_letters_are_kept_alarmed_and_listed_for_redrive(hub: dict[str, Any]) -> None:
    queues = dead_letter_queues(hub)
    assert len(queues) >= 9
    outputs = {target_of(o["Value"]) for name, o in hub["Outputs"].items() if name.startswith("DlqUrl")}
    for queue in queues:
        assert hub["Resources"][queue]["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS, queue
    assert queues <= alarmed_queues(hub), f"no alarm on {queues - alarmed_queues(hub)}"
    assert queues <= outputs, f"not listed for redrive: {queues - outputs}"


def test_spoke_dead_letters_are_kept(spoke: dict[str, Any]) -> None:
    queues = dead_letter_queues(spoke)
    assert queues
    for queue in queues:
        assert spoke["Resources"][queue]["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS
