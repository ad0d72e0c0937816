"""``orgguard onboard``: give accounts their spoke instances, then prove the path end to end.

Per account: (1) an instance of the global StackSet in the home region, then an instance of the regional
StackSet in every governed region, created where missing, also for an account outside the target OUs
(addressed through its OU with an INTERSECTION filter, the only way a service-managed StackSet can name one
account); (2) in the account itself, through the member access role: both rules enabled and pointing at
the hub bus through the account's forwarder role, the forwarder role, and ``OrgGuardRemediation`` trusting
the hub's handler role; (3) a canary event per region that the hub must record, together with whether
the hub could assume ``OrgGuardRemediation`` in the account and, when the S3 standard names a KMS key, whether
that role could describe exactly that key (resolved for the account and region: S3 does not check a key when
it is set, so a wrong one would only show as failing uploads).

The checks and the report are in ``stacksets.onboard_proof``; what the hub recorded for the canaries becomes
checks in ``stacksets.onboard_canaries``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import boto3

from handlers.contract import CANARY_RULE_NAME, HUB_HANDLER_ROLE_NAME
from handlers.registry import FORWARD_RULE_NAME, FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from spoke.render import forwarder_role_arn, hub_bus_arn
from stacksets import management_stack
from stacksets.access import (
    AccessError,
    AccountSessions,
    caller_account,
    canary_timeout,
    client,
    hub_session,
    member_access_role,
    role_arn,
)
from stacksets.api import StackSetApi
from stacksets.canary import Canary, CanaryError, CanaryWaiter, HubTableWaiter, send
from stacksets.checks import Check, check_remediation_role, check_role_exists, check_rule
from stacksets.errors import RolloutError
from stacksets.instance import Instance
from stacksets.onboard_canaries import hub_assumes_checks, record_canaries
from stacksets.onboard_instances import InstanceEnsurer
from stacksets.onboard_proof import (
    CANARY,
    MEMBER_ACCESS,
    MEMBERSHIP,
    AccountProof,
    OnboardReport,
    instances_check,
    management_check,
)
from stacksets.operations import Waiter
from stacksets.organization import OrgTree, preflight
from stacksets.parts import SpokePart, spoke_parts


@dataclass
class Onboarding:
    session: boto3.Session
    settings: Settings
    call_as: str
    stream: TextIO | None = None
    make_waiter: Callable[[StackSetApi], Waiter] | None = None
    canary_waiter: CanaryWaiter | None = None

    def run(self, accounts: Sequence[str], timeout: float | None = None) -> OnboardReport:
        settings = self.settings
        caller = caller_account(self.session)
        tree = preflight(self.session, settings, caller, self.call_as)
        parts = spoke_parts(settings)
        apis = {part.kind: StackSetApi(self.session, settings, self.call_as, part.stackset) for part in parts}
        for api in apis.values():
            if api.describe() is None:
                raise RolloutError(f"StackSet {api.name} does not exist yet: run `orgguard stackset` first")
        report = OnboardReport()
        proofs = {
            a: AccountProof(a, tree.accounts[a].name if a in tree.accounts else "") for a in dict.fromkeys(accounts)
        }
        report.accounts = list(proofs.values())

        members = []
        for account, proof in proofs.items():
            problem = self._membership_problem(tree, account, caller)
            if problem:
                proof.checks.append(Check(MEMBERSHIP, "", False, problem))
            elif account == tree.management_account:
                proof.checks.append(management_check(management_stack.deploy(self.session, settings)))
            else:
                members.append(account)

        instances, added = self._ensure_instances(apis, parts, tree, members, report)
        for account in members:
            proofs[account].checks.append(instances_check(account, parts, instances, added))

        reachable = [a for a, p in proofs.items() if not any(c.name == MEMBERSHIP for c in p.checks)]
        canaries = self._check_accounts(reachable, proofs)
        entered = [a for a in reachable if not any(c.name == MEMBER_ACCESS for c in proofs[a].checks)]
        timeout = timeout if timeout is not None else canary_timeout(settings)
        self._check_canaries(entered, canaries, proofs, timeout)
        return report

    def plan(self, accounts: Sequence[str]) -> dict[str, dict[str, list[str]]]:
        """For ``--dry-run``: per account, per StackSet, the regions with no instance yet. Changes nothing."""
        plan: dict[str, dict[str, list[str]]] = {a: {} for a in accounts}
        for part in spoke_parts(self.settings):
            api = StackSetApi(self.session, self.settings, self.call_as, part.stackset)
            have = {(i.account, i.region) for i in api.instances()} if api.describe() is not None else set()
            for account in accounts:
                plan[account][part.stackset] = [r for r in part.regions if (account, r) not in have]
        return plan

    def _membership_problem(self, tree: OrgTree, account: str, caller: str) -> str:
        if account not in tree.accounts:
            return f"account {account} is not in this organization: invite it (or check the id), then run this again"
        if tree.accounts[account].status != "ACTIVE":
            return f"account {account} is {tree.accounts[account].status}: StackSets skip it"
        if account == tree.management_account and caller != tree.management_account:
            return (
                "the management account's plain stack can only be deployed with management-account "
                "credentials: run this again with them"
            )
        return ""

    def _ensure_instances(
        self, apis: dict[str, StackSetApi], parts: Sequence[SpokePart], tree: OrgTree, members: Sequence[str],
        report: OnboardReport,
    ) -> tuple[dict[str, list[Instance]], set[tuple[str, str, str]]]:
        """The instances per StackSet once the missing ones are created (global StackSet first; an automatic
        deployment in progress is waited for, not raced: ``stacksets.onboard_instances``), and the (StackSet,
        account, region) this run added. A global operation that fails leaves the regional StackSet alone."""
        org = self.settings.organization
        ensurer = InstanceEnsurer(tree, org.target_ous, org.spoke_home_region, self._waiter, report.operations)
        added: set[tuple[str, str, str]] = set()
        found = {part.kind: ensurer.ensure(apis[part.kind], part, members, added) for part in parts}
        return found, added

    def _waiter(self, api: StackSetApi) -> Waiter:
        return self.make_waiter(api) if self.make_waiter else Waiter(api, self.stream)

    def _check_accounts(self, accounts: Sequence[str], proofs: dict[str, AccountProof]) -> list[Canary]:
        """Rules and roles in each account, and one canary sent per region; returns the canaries sent."""
        org = self.settings.organization
        home = org.spoke_home_region
        bus_arn = hub_bus_arn(self.settings)
        hub_role = role_arn(org.hub_account, HUB_HANDLER_ROLE_NAME, org.hub_region)
        sessions = AccountSessions(self.session, member_access_role(self.settings), home)
        canaries = []
        for account in accounts:
            checks = proofs[account].checks
            try:
                member = sessions.get(account)
            except AccessError as error:
                checks.append(Check(MEMBER_ACCESS, "", False, str(error)))
                continue
            iam = client(member, "iam", home)
            forwarder = forwarder_role_arn(self.settings, account)
            checks.append(check_role_exists(iam, FORWARDER_ROLE_NAME, home))
            checks.append(check_remediation_role(iam, REMEDIATION_ROLE_NAME, hub_role, home))
            for region in org.regions:
                events = client(member, "events", region)
                checks.append(check_rule(events, FORWARD_RULE_NAME, bus_arn, region, forwarder))
                checks.append(check_rule(events, CANARY_RULE_NAME, bus_arn, region, forwarder))
                canary = Canary(account, region)
                try:
                    send(events, canary)
                except CanaryError as error:
                    checks.append(Check(CANARY, region, False, str(error)))
                    continue
                canaries.append(canary)
        return canaries

    def _default_waiter(self) -> CanaryWaiter:
        org = self.settings.organization
        try:
            hub = hub_session(self.session, self.settings)
        except AccessError as error:
            raise CanaryError(f"cannot read the hub's audit table: {error}") from error
        return HubTableWaiter(client(hub, "dynamodb", org.hub_region), self.settings.hub.table_name)

    def _check_canaries(
        self,
        accounts: Sequence[str],
        canaries: Sequence[Canary],
        proofs: dict[str, AccountProof],
        timeout: float,
    ) -> None:
        """One check per canary sent, and per account whether the hub could assume its remediation role."""
        arrived: dict[str, dict[str, Any]] = {}
        error = ""
        if canaries:
            try:
                waiter = self.canary_waiter or self._default_waiter()
                arrived = waiter(canaries, timeout)
            except CanaryError as failure:
                error = str(failure)
        by_account = record_canaries(self.settings, canaries, arrived, error, proofs, timeout)
        hub_assumes_checks(accounts, by_account, proofs)
