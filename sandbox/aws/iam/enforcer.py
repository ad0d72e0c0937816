"""The gateway part that makes the embedded AWS refuse what AWS refuses: IAM on every call, before moto sees it.

For each call: the principal from its access key, the IAM action(s) and resources from ``actions.OPERATIONS``,
the decision from iam-simulate over the policies the embedded AWS holds. A refusal is the error AWS returns, in
the service's protocol. After a successful ``sts:AssumeRole`` the new access key is remembered as that session.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from sandbox.aws import state
from sandbox.aws.gateway import Response
from sandbox.aws.iam import errors
from sandbox.aws.iam.actions import OPERATIONS
from sandbox.aws.iam.evaluate import Question, decide, simulation
from sandbox.aws.iam.necessity import Asked, Need, granted_actions, needs
from sandbox.aws.iam.principals import SESSION, Principal, Principals
from sandbox.aws.iam.simulator import Decision, Simulator, SimulatorError
from sandbox.aws.wire import AwsCall

_ACCESS_KEY = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>")
_ASSUMED_ARN = re.compile(r"<AssumedRoleUser>.*?<Arn>([^<]+)</Arn>", re.S)


@dataclass(frozen=True)
class Denial:
    """A call the embedded AWS refused, as the error AWS would give (kept for tests and the demo's report)."""

    operation: str
    action: str
    resource: str
    principal: str
    message: str


@dataclass(frozen=True)
class IamReport:
    """What the IAM checks did during a run (the demo prints it)."""

    calls_checked: int
    decisions: int  # authorization questions asked (one call can ask several: each resource, each action)
    evaluated: int  # decisions the engine computed; the others were answered from its cache
    denials: tuple[Denial, ...]

    def to_dict(self) -> dict[str, object]:
        return {"calls_checked": self.calls_checked, "decisions": self.decisions, "evaluated": self.evaluated,
                "denials": [d.__dict__ for d in self.denials]}


@dataclass
class IamEnforcer:
    principals: Principals
    simulator: Simulator
    name: str = "iam"
    checked: int = 0  # calls judged
    denials: list[Denial] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)
    watched_roles: set[str] = field(default_factory=set)  # role names whose allowed questions are kept
    asked: list[Asked] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.principals.reset()
        with self._lock:
            self.checked = 0
            self.denials.clear()
            self.actions.clear()
            self.asked.clear()

    def watch(self, role_name: str) -> None:
        """Keep every allowed question of this role's sessions, for ``needs``."""
        self.watched_roles.add(role_name)

    def needs(self, account: str, role_name: str) -> list[Need]:
        """Each action the role holds in ``account``, with the call of this run its absence would have refused."""
        role = state.role(account, role_name)
        if role is None:
            raise LookupError(f"no role {role_name} in {account}")
        actions = [a for _, document in role.identity_policies for a in granted_actions(document)]
        with self._lock:
            asked = list(self.asked)
        return needs(self.simulator, asked, list(dict.fromkeys(actions)))

    def report(self) -> IamReport:
        with self._lock:
            return IamReport(self.checked, self.simulator.questions, self.simulator.evaluations, tuple(self.denials))

    def authorize(self, principal: Principal, action: str, resource: str, region: str,
                  caller_account: str = "") -> Decision:
        """One question; also used by the parts that play AWS services (EventBridge delivering an event)."""
        return decide(self.simulator, Question(principal, action, resource, region,
                                               caller_account or principal.account))

    def before(self, call: AwsCall) -> Response | None:
        principal = self.principals.of(call.access_key)
        if principal is None:
            return errors.invalid_key(call)
        checks = OPERATIONS.get(call.name)
        if checks is None:
            return errors.internal(call, f"the embedded AWS has no IAM action for {call.name}: add it to "
                                         "sandbox/aws/iam/actions.py (the strict sandbox judges every call)")
        with self._lock:
            self.checked += 1
        for action, resources in checks:
            for resource in resources(call, principal.account):
                try:
                    decision = self.authorize(principal, action, resource, call.region)
                except SimulatorError as error:
                    return errors.internal(call, f"the embedded AWS cannot judge {call.name}: {error}")
                with self._lock:
                    self.actions[action] += 1
                if decision.allowed:
                    self._keep(call, principal, action, resource)
                else:
                    message = errors.denial_message(principal.arn, action, resource, decision.denials)
                    with self._lock:
                        self.denials.append(Denial(call.name, action, resource, principal.arn, message))
                    return errors.access_denied(call, message)
        return None

    def _keep(self, call: AwsCall, principal: Principal, action: str, resource: str) -> None:
        if principal.kind != SESSION or principal.role_arn.rsplit("/", 1)[-1] not in self.watched_roles:
            return
        simulated = simulation(Question(principal, action, resource, call.region, principal.account))
        with self._lock:
            self.asked.append(Asked(call.name, action, resource, principal.arn, simulated))

    def after(self, call: AwsCall, response: Response) -> Response:
        if call.name == "sts:AssumeRole" and response.status == 200:
            text = response.body.decode("utf-8", "replace")
            key, arn = _ACCESS_KEY.search(text), _ASSUMED_ARN.search(text)
            if key and arn:
                role_arn = str(call.params.get("RoleArn", ""))
                session = arn.group(1).rsplit("/", 1)[-1]
                self.principals.record(key.group(1), Principal.session(role_arn, session))
        return response
