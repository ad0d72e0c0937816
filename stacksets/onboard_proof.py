"""What ``orgguard onboard`` proves per account: the check names, ``AccountProof``, ``OnboardReport``, and the
checks of the account's spoke instances (or the management account's plain stack)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from handlers.registry import REMEDIATION_ROLE_NAME
from stacksets import management_stack
from stacksets.checks import Check
from stacksets.instance import Instance
from stacksets.operations import IN_PROGRESS, OperationOutcome
from stacksets.parts import SpokePart

MEMBERSHIP = "member of the organization"
INSTANCES = "spoke instances"
MEMBER_ACCESS = "member access"
CANARY = "canary reached the hub"
HUB_ASSUMES = f"hub assumes {REMEDIATION_ROLE_NAME}"
KMS_KEY = "S3 standard's KMS key"


@dataclass
class AccountProof:
    account: str
    name: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


@dataclass
class OnboardReport:
    accounts: list[AccountProof] = field(default_factory=list)
    operations: list[OperationOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.accounts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "accounts": [
                {"account": a.account, "name": a.name, "ok": a.ok, "checks": [asdict(c) for c in a.checks]}
                for a in self.accounts
            ],
            "operations": [asdict(o) for o in self.operations],
        }


def instances_check(account: str, parts: Sequence[SpokePart], instances: Mapping[str, Sequence[Instance]],
                     added: Collection[tuple[str, str, str]] = ()) -> Check:
    """Every governed instance of the account CURRENT; says which this run added (StackSet, account, region), so an
    account that the StackSets' automatic deployment already covered reads differently from one onboard fixed."""
    problems, running = [], []
    for part in parts:
        mine = {i.region: i for i in instances[part.kind] if i.account == account}
        for region in part.regions:
            instance = mine.get(region)
            if instance is None:
                problems.append(f"{part.stackset} {region}: no instance")
            elif instance.detailed in IN_PROGRESS:  # the wait for it timed out: not a failure (yet)
                running.append(f"{part.stackset} {region}: still {instance.detailed}")
            elif instance.status != "CURRENT":
                problems.append(f"{part.stackset} {region}: {instance.status}/{instance.detailed} "
                                f"{instance.reason}".rstrip())
    if problems or running:
        hints = (["see `orgguard status`; `orgguard stackset --retry-failed`"] if problems else []) + (
            ["an operation (such as the automatic deployment) is still deploying; run this again when it ends"]
            if running else [])
        return Check(INSTANCES, "", False, "; ".join(problems + running) + f" ({'; '.join(hints)})")
    now = [f"{stackset} {region}" for stackset, owner, region in sorted(added) if owner == account]
    how = f"added now: {', '.join(now)}" if now else "already there, none added"
    return Check(INSTANCES, "", True, f"CURRENT ({how}): "
                 + "; ".join(f"{p.stackset} in {', '.join(p.regions)}" for p in parts))


def management_check(results: Sequence[management_stack.StackResult]) -> Check:
    failed = [r for r in results if not r.ok]
    if failed:
        return Check(INSTANCES, "", False, "; ".join(f"{r.region}: {r.status} {r.reason}".rstrip() for r in failed))
    return Check(INSTANCES, "", True, "plain stack " + ", ".join(f"{r.region} {r.action}" for r in results))
