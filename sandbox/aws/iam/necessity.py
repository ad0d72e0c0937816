"""Least privilege, shown: which of a role's actions a run needed, and the call each one's absence would refuse.

The IAM enforcer keeps the questions it allowed for the sessions of the roles it is told to watch, each with the
exact simulation it evaluated (policies as they were at that moment). Asking the same engine the same question
with the role's identity policies less one action says whether that call would have been refused: the call is
the same, the answer differs only by the missing action. ``orgguard demo`` prints the result for
OrgGuardRemediation, and fails when one of the role's actions was never needed (the role would grant more than
the demo shows) or a removal would refuse nothing. ``tests/e2e/test_demo_needs_every_action.py`` also removes one
action from the deployed role for real and sees the demo fail on the call named here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sandbox.aws.iam.simulator import Simulator


@dataclass(frozen=True)
class Asked:
    """One allowed question of a watched role's session: the call, the action, the resource, the simulation."""

    operation: str
    action: str
    resource: str
    principal: str
    simulation: dict[str, Any]


@dataclass(frozen=True)
class Need:
    """What removing ``action`` from the role would have refused in the run (None: nothing, the action is unused)."""

    action: str
    refused: Asked | None

    @property
    def needed(self) -> bool:
        return self.refused is not None

    def describe(self) -> str:
        if self.refused is None:
            return f"{self.action}: never used (the role grants more than this run shows)"
        return (f"{self.action}: without it {self.refused.operation} on {self.refused.resource} "
                f"by {self.refused.principal} is refused")


def without_action(document: dict[str, Any], action: str) -> dict[str, Any]:
    """``document`` with ``action`` taken out of every Allow statement (a statement left empty is dropped)."""
    kept = []
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action")
        if statement.get("Effect") != "Allow" or actions is None:
            kept.append(statement)
            continue
        listed = [actions] if isinstance(actions, str) else list(actions)
        remaining = [a for a in listed if a.lower() != action.lower()]
        if remaining:
            kept.append({**statement, "Action": remaining if len(remaining) > 1 else remaining[0]})
    return {**document, "Statement": kept}


def granted_actions(document: dict[str, Any]) -> list[str]:
    """The actions a policy's Allow statements name, in order, once each."""
    found: list[str] = []
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if action not in found:
                found.append(action)
    return found


def needs(simulator: Simulator, asked: list[Asked], actions: list[str]) -> list[Need]:
    """For each action, the first call of the run that the role could not have made without it."""
    result = []
    for action in actions:
        refused = None
        for question in (q for q in asked if q.action.lower() == action.lower()):
            simulated = copy.deepcopy(question.simulation)
            simulated["identityPolicies"] = [{**p, "policy": without_action(p["policy"], action)}
                                             for p in simulated.get("identityPolicies", [])]
            if not simulator.decide(simulated).allowed:
                refused = question
                break
        result.append(Need(action, refused))
    return result
