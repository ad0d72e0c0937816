"""The guardrail contract. One subclass per guardrail declares everything OrgGuard derives from it:

- what it is: ``id``, ``title``, ``severity``, the AWS ``resource_type``;
- what it reacts to: the CloudTrail ``event_source`` and ``event_names``, and ``resource_ids(detail)``;
- what it may do: ``permissions`` (the remediation role holds exactly their union);
- its settings section: ``settings_type`` (a frozen dataclass with a ``mode``), ``parse_settings`` (one
  validator, collecting messages in a ``Checker``), ``example`` (its part of ``orgguard.example.toml``);
- its decision: ``read`` the live state (the fewest calls), ``evaluate(resource, state, subject) -> Finding``
  (pure, no client), ``fix(findings, ctx)`` (the writes, in enforce mode);
- the sweep: ``list_resources(scope)`` (what exists, with what the listing already read);
- what people read: ``template`` (next to the module), ``console_link``, the e-mail's words (``noun``,
  ``reasons``, ``next_steps``, ``notify_only``: see ``handlers.outcome_text``); ``replay`` names the module
  that seeds the state a replayed call left behind;
- optionally, drift: ``iac_fix(finding, standard)``, the properties a stack-owned resource must declare so that
  the stack's next update keeps the fix (``handlers.drift`` renders them as CloudFormation YAML and CDK).

The event path and the sweep both run ``handlers.guardrails.check``: read, evaluate, fix. So the same
resource state gives the same ``Finding`` whichever path found it.
"""

from __future__ import annotations

import datetime as dt
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from handlers import outcome as oc
from handlers.drift import IacFix
from handlers.exemptions import tag_exemption
from handlers.outcome import Action, Result

if TYPE_CHECKING:
    from handlers.context import PolicyContext
    from handlers.events import ApiCallEvent
    from handlers.settings import Exemptions, Organization
    from handlers.settings_checks import Checker

LAMBDA_HANDLER = "handlers.adapters.guardrail.handler"  # one adapter serves every guardrail (ORGGUARD_POLICY)


@dataclass(frozen=True)
class Permission:
    """One IAM action the remediation role needs, with the narrowest resources the action supports.

    ``resources`` use CloudFormation ``Fn::Sub`` syntax (``${AWS::Partition}``, ``${AWS::AccountId}``).
    ``"*"`` is only allowed when the action has no resource-level permissions (``scopable=False``).
    """

    action: str
    resources: tuple[str, ...]
    scopable: bool = True
    why: str = ""


@dataclass(frozen=True)
class Subject:
    """What a pure evaluation may know besides the resource's state: where, when, the standard and the mode."""

    guardrail: str
    account: str
    region: str
    today: dt.date
    standard: Any  # the guardrail's settings section
    exemptions: Exemptions
    enforcing: bool

    def exemption(self, tags: dict[str, str]) -> str | None:
        return tag_exemption(tags, self.guardrail, self.exemptions, self.today)


@dataclass
class Finding:
    """One resource, evaluated: its outcome, the state before and after, and the writes that fix it."""

    resource: str
    outcome: oc.Outcome
    summary: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    planned: list[Action] = field(default_factory=list)  # what enforce mode sends (report mode: would send)
    done: list[Action] = field(default_factory=list)  # what fix really sent for this resource
    stack_name: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    notify: bool = True
    logical_id: str = ""  # the resource's aws:cloudformation:logical-id tag, when a stack owns it
    iac: dict[str, Any] | None = None  # the drift entry (handlers.drift.drift_entry) of a fixed stack-owned resource


@dataclass
class SweepScope:
    """What ``list_resources`` gets: the member's clients for one account and region, and a place for notes."""

    account: str
    region: str
    clients: Any  # callable service -> client
    notes: list[str] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return self.clients(service)


class Guardrail(ABC):
    """The contract (see the module docstring). Subclasses set the class attributes and the methods."""

    id: ClassVar[str]
    title: ClassVar[str]
    severity: ClassVar[str] = "medium"
    event_source: ClassVar[str]
    event_names: ClassVar[tuple[str, ...]]
    resource_type: ClassVar[str]
    permissions: ClassVar[tuple[Permission, ...]] = ()
    settings_type: ClassVar[type]
    example: ClassVar[str] = ""  # TOML lines of its section, comments included, without the [policies.<id>] line
    template: ClassVar[str] = "email.txt.j2"
    replay: ClassVar[str] = ""  # module with seed(session, event, settings) -> Seeded, for `orgguard replay`
    sweepable: ClassVar[bool] = False  # False: about the creation event, not existing resources
    batch_size: ClassVar[int] = 1  # resources per check in the sweep; 1: checked one by one, side by side
    notify_only: ClassVar[bool] = False  # True: it only reports (no mode worth telling in its e-mails)
    noun: ClassVar[str] = "resource"  # what its e-mails call one resource: "bucket", "instance"
    # Its e-mails' words (handlers.outcome_text), keyed by a failure's reason or an outcome kind:
    # the first line ("{noun}" is the resource, e.g. "bucket invoices"), and the next step.
    reasons: ClassVar[dict[str, str]] = {}
    next_steps: ClassVar[dict[str, str]] = {}

    # --- what it reacts to ------------------------------------------------------------------------------

    @abstractmethod
    def resource_ids(self, detail: dict[str, Any]) -> list[str]:
        """The resources a CloudTrail event's ``detail`` names ([] when it names none)."""

    # --- settings -----------------------------------------------------------------------------------

    @abstractmethod
    def parse_settings(self, raw: dict[str, Any], checker: Checker, key: str) -> Any:
        """Its section (``raw``, at ``key``) as ``settings_type``; each problem goes to ``checker``."""

    def settings_warnings(self, section: Any, organization: Organization) -> list[str]:
        """What is valid but likely to hurt, one sentence each (printed by deploy.py; nothing refused)."""
        return []

    # --- the decision -------------------------------------------------------------------------------

    @abstractmethod
    def read(self, ctx: PolicyContext, resource_ids: list[str], known: dict[str, Any] | None = None,
             event: ApiCallEvent | None = None) -> dict[str, Any]:
        """Live state per resource (None: gone), with the fewest calls; ``known`` is what a listing already
        read; ``event`` the call being handled (None in the sweep), e.g. its time for an eventually consistent
        service."""

    @abstractmethod
    def evaluate(self, resource: str, state: Any, subject: Subject) -> Finding:
        """Pure: the finding for one resource in ``state``; ``planned`` holds the writes that fix it."""

    def fix(self, findings: list[Finding], ctx: PolicyContext) -> list[Finding]:
        """Send each finding's planned writes (enforce mode only); by default one resource at a time."""
        for finding in findings:
            if finding.planned and finding.outcome.kind is oc.OutcomeKind.REMEDIATED:
                for action in finding.planned:
                    ctx.perform(action)
                    finding.done.append(action)
        return findings

    def result(self, findings: list[Finding], enforcing: bool) -> Result:
        """The event's result from its findings (one resource by default)."""
        finding = findings[0]
        details = dict(finding.details)
        if not enforcing and finding.planned:
            details["planned"] = [a.to_dict() for a in finding.planned]
        return Result(finding.outcome, finding.resource, finding.summary, finding.before, finding.after,
                      details=details, stack_name=finding.stack_name, notify=finding.notify)

    # --- drift -------------------------------------------------------------------------------------

    def iac_fix(self, finding: Finding, standard: Any) -> IacFix | None:
        """Pure: what a stack-owned resource's template must declare to keep this fix (None: nothing to say).

        ``finding`` is the fixed resource (its ``resource``, ``before``/``after``, the writes in ``done``, its
        ``details``); ``standard`` is this guardrail's settings section. Build it from what the fix sent, not
        from a second copy of the rules. Called only for a remediated finding with a stack name and logical id.
        """
        return None

    # --- the sweep ----------------------------------------------------------------------------------

    def list_resources(self, scope: SweepScope) -> dict[str, Any]:
        """Every resource of the account-region, with what the listing read (passed to ``read`` as known)."""
        raise NotImplementedError(f"{self.id} is not swept (it is about the creation event)")

    # --- what people read ---------------------------------------------------------------------------

    def console_link(self, resource: str, region: str) -> str:
        return f"https://{region}.{console_domain(region)}/"

    def label(self, resource: str) -> str:
        """The resource as its e-mails name it: "bucket invoices", "instances i-1, i-2"."""
        plural = ", " in resource
        return f"{self.noun}{'s' if plural else ''} {resource}".strip()

    # --- derived --------------------------------------------------------------------------------------

    @property
    def module(self) -> str:
        return type(self).__module__

    @property
    def package_dir(self) -> Path:
        return Path(str(sys.modules[self.module].__file__)).parent

    @property
    def template_path(self) -> Path:
        return self.package_dir / self.template

    @property
    def lambda_handler(self) -> str:
        return LAMBDA_HANDLER

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(p.action for p in self.permissions)

    def default_settings(self) -> Any:
        return self.settings_type()

    def __repr__(self) -> str:
        return f"<guardrail {self.id}>"


def console_domain(region: str) -> str:
    if region.startswith("cn-"):
        return "console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "console.amazonaws-us-gov.com"
    return "console.aws.amazon.com"
