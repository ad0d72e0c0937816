"""Which named parts make the embedded AWS as strict as AWS; all on unless a caller turns one off.

``Strictness`` is the switchboard (``deploy.py demo --no-iam`` turns the IAM checks off, for speed comparisons
only); ``StrictParts`` holds the parts built for one embedded AWS, in the order the gateway consults them, and
installs the ones that work inside moto (EventBridge deliveries happen inside moto, not over HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sandbox.aws import cfn_attributes, cfn_resources
from sandbox.aws.account_role import AccountAccessRole
from sandbox.aws.ec2_consistency import ConsistencyWindow, Ec2Consistency
from sandbox.aws.ec2_interfaces import Ec2Interfaces
from sandbox.aws.eventbridge import EventBridgeDelivery
from sandbox.aws.gateway import Part
from sandbox.aws.iam.enforcer import IamEnforcer
from sandbox.aws.iam.principals import Principals
from sandbox.aws.iam.simulator import Simulator
from sandbox.aws.organizations_delegation import OrganizationsDelegation

MANAGEMENT_ACCOUNT = "123456789012"  # moto's default account: the sandbox's own credentials act as its root


@dataclass(frozen=True)
class Strictness:
    iam: bool = True
    ec2_consistency: bool = True  # new instances: not found, then pending (sandbox/aws/ec2_consistency.py)
    ec2_window: ConsistencyWindow = field(default_factory=ConsistencyWindow)  # ... for how many reads or seconds
    ec2_interfaces: bool = True  # no instance-level group change on several interfaces (sandbox/aws/ec2_interfaces.py)

    @classmethod
    def lenient(cls) -> Strictness:
        """moto as it is: no IAM, nothing emulated (for comparisons and moto-only tests)."""
        return cls(iam=False, ec2_consistency=False, ec2_interfaces=False)

    def without_iam(self) -> Strictness:
        return replace(self, iam=False)


@dataclass
class StrictParts:
    strictness: Strictness
    principals: Principals = field(default_factory=lambda: Principals(MANAGEMENT_ACCOUNT))
    iam: IamEnforcer | None = None
    account_role: AccountAccessRole = field(default_factory=AccountAccessRole)
    delegation: OrganizationsDelegation | None = None
    eventbridge: EventBridgeDelivery | None = None
    ec2_consistency: Ec2Consistency | None = None
    ec2_interfaces: Ec2Interfaces | None = None
    _simulator: Simulator | None = None

    @classmethod
    def build(cls, strictness: Strictness) -> StrictParts:
        parts = cls(strictness)
        parts.delegation = OrganizationsDelegation(parts.principals)
        if strictness.iam:
            parts._simulator = Simulator()
            parts.iam = IamEnforcer(parts.principals, parts._simulator)
            parts.eventbridge = EventBridgeDelivery(parts.iam)
        if strictness.ec2_consistency:
            parts.ec2_consistency = Ec2Consistency(strictness.ec2_window)
        if strictness.ec2_interfaces:
            parts.ec2_interfaces = Ec2Interfaces()
        return parts

    def in_order(self) -> list[Part]:
        return [p for p in (self.account_role, self.iam, self.delegation, self.ec2_consistency,
                            self.ec2_interfaces) if p is not None]

    def settle(self) -> None:
        """Let time pass: what was created so far is visible and settled (replay's seeded state is the past)."""
        if self.ec2_consistency is not None:
            self.ec2_consistency.settle()

    def install(self) -> None:
        """Parts that act inside moto rather than at the gateway."""
        cfn_attributes.install()
        cfn_resources.install()
        if self.eventbridge is not None:
            self.eventbridge.install()

    def uninstall(self) -> None:
        cfn_attributes.uninstall()
        cfn_resources.uninstall()
        if self.eventbridge is not None:
            self.eventbridge.uninstall()
        if self._simulator is not None:
            self._simulator.close()

    def reset(self) -> None:
        self.principals.reset()
        if self.delegation is not None:
            self.delegation.reset()
        if self.iam is not None:
            self.iam.reset()
        if self.eventbridge is not None:
            self.eventbridge.reset()
        if self.ec2_consistency is not None:
            self.ec2_consistency.reset()
