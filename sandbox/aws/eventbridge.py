"""EventBridge delivering to a rule's targets as AWS does: with IAM, and with the dead-letter queue on a refusal.

moto delivers events to targets inside its own process, without asking IAM. This part stands between a rule and
its targets (it wraps moto's ``Rule.send_to_targets``) and asks what AWS asks:

- a target that is an event bus in another account or region: EventBridge assumes the target's ``RoleArn`` (the
  role's trust must let ``events.amazonaws.com`` in, with ``aws:SourceAccount``/``aws:SourceArn`` of the rule), and
  that session puts the event, so the role's policy and the bus policy must both allow ``events:PutEvents``.
  Without a RoleArn the rule's account itself is the principal, and ``aws:PrincipalOrgID`` is not part of the
  request: a bus that admits its organization by that key refuses it (EventBridge's Rule API reference: a bus
  shared through an organization needs a RoleArn on the target);
- an SQS target: the queue policy must let ``events.amazonaws.com`` send for this rule (``aws:SourceArn``). The
  sandbox's tap queues, which stand in for the hub's Lambda targets (``sandbox/world/flow.py``), are exempt; the Lambda
  permission of those targets is checked when they are tapped.

A refusal is not retried: EventBridge sends events that fail on permissions straight to the target's dead-letter
queue (EventBridge user guide, "Using dead-letter queues to process undelivered events"), with the message
attributes RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE, if the DLQ's own policy lets EventBridge send;
otherwise the event is lost, and counted. A RoleArn naming a role that does not exist is accepted by PutTargets
(the sandbox found no documented validation of the role's existence) and fails at delivery, like a refused one.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.aws.iam.enforcer import IamEnforcer
from sandbox.aws.iam.principals import Principal

EVENTS_SERVICE = "events.amazonaws.com"
TAP_PREFIX = "sandbox-tap-"
NO_PERMISSIONS = "NO_PERMISSIONS"


@dataclass(frozen=True)
class Misdelivery:
    rule_arn: str
    target_arn: str
    error_code: str
    error_message: str
    dead_letter_queue: str  # "" when the event was lost


@dataclass
class EventBridgeDelivery:
    iam: IamEnforcer
    name: str = "eventbridge-delivery"
    misdeliveries: list[Misdelivery] = field(default_factory=list)
    _original: Callable[..., Any] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        from moto.events.models import Rule

        if self._original is not None:
            return
        original = Rule.send_to_targets
        self._original = original
        part = self

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            part.deliver(rule, event, transform_input)

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        from moto.events.models import Rule

        if self._original is not None:
            Rule.send_to_targets = self._original  # type: ignore[method-assign]
            self._original = None

    def reset(self) -> None:
        with self._lock:
            self.misdeliveries.clear()

    def deliver(self, rule: Any, event: dict[str, Any], transform_input: bool) -> None:
        if self._original is None or not rule.event_pattern.matches_event(event):
            return
        allowed = []
        for target in list(rule.targets):
            refusal = self.refusal(rule, target)
            if refusal is None:
                allowed.append(target)
            else:
                self._dead_letter(rule, target, event, refusal)
        if not allowed:
            return
        # moto delivers to ``rule.targets``: a shallow copy of the rule holds the allowed ones for this event
        # (the rule itself is shared by concurrent deliveries, and a delivery to a bus nests another one).
        allowed_rule = copy.copy(rule)
        allowed_rule.targets = allowed
        self._original(allowed_rule, event, transform_input)

    def refusal(self, rule: Any, target: dict[str, Any]) -> str | None:
        """Why IAM refuses this delivery, or None when it goes through."""
        arn = str(target.get("Arn", ""))
        parts = arn.split(":", 5)
        if len(parts) < 6:
            return None
        service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
        service_principal = Principal.service(EVENTS_SERVICE, rule.account_id, rule.arn)
        if service == "events" and resource.startswith("event-bus/"):
            if (account, region) == (rule.account_id, rule.region_name):
                return None
            role = str(target.get("RoleArn") or "")
            if role:
                assumed = self.iam.authorize(service_principal, "sts:AssumeRole", role, rule.region_name)
                if not assumed.allowed:
                    return f"EventBridge could not assume {role} for rule {rule.arn}"
                principal = Principal.session(role, "events-delivery")
            else:
                principal = Principal(Principal.root(rule.account_id).kind, f"arn:aws:iam::{rule.account_id}:root",
                                      rule.account_id, organization_context=False)
            decision = self.iam.authorize(principal, "events:PutEvents", arn, region)
            if not decision.allowed:
                return f"{principal.arn} is not allowed to put events on {arn}"
            return None
        if service == "sqs" and not resource.startswith(TAP_PREFIX):
            decision = self.iam.authorize(service_principal, "sqs:SendMessage", arn, region)
            if not decision.allowed:
                return f"the queue policy of {arn} does not let EventBridge send for {rule.arn}"
        return None

    def _dead_letter(self, rule: Any, target: dict[str, Any], event: dict[str, Any], message: str) -> None:
        dlq = str((target.get("DeadLetterConfig") or {}).get("Arn") or "")
        sent_to = ""
        if dlq:
            principal = Principal.service(EVENTS_SERVICE, rule.account_id, rule.arn)
            region = dlq.split(":")[3]
            if self.iam.authorize(principal, "sqs:SendMessage", dlq, region).allowed:
                _send(dlq, event, {"RULE_ARN": rule.arn, "TARGET_ARN": str(target.get("Arn", "")),
                                   "ERROR_CODE": NO_PERMISSIONS, "ERROR_MESSAGE": message})
                sent_to = dlq
        with self._lock:
            self.misdeliveries.append(Misdelivery(rule.arn, str(target.get("Arn", "")), NO_PERMISSIONS, message,
                                                  sent_to))


def _send(queue_arn: str, event: dict[str, Any], attributes: dict[str, str]) -> None:
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue_arn.split(":", 5)
    body = {**event}
    if isinstance(body.get("time"), (int, float)):
        import datetime as dt

        body["time"] = dt.datetime.fromtimestamp(float(body["time"]), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sqs_backends[account][region].send_message(
        queue_name=name, message_body=json.dumps(body, default=str),
        message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()})
