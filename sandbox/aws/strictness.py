"""Which named parts make the embedded AWS as strict as AWS; all on unless a caller turns one off.

``Strictness`` is the switchboard (``orgguard demo --no-iam`` turns the IAM checks off, for speed comparisons
only); ``StrictParts`` holds the parts built for one embedded AWS, in the order the gateway consults them, and
installs the ones that work inside moto (EventBridge deliveries happen inside moto, not over HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sandbox.aws import cfn_attributes, cfn_resources
from sandbox.aws.account_role import AccountAccessRole
from sandbox.aws.deployment_order import DeploymentOrder
from sandbox.aws.ec2_consistency import ConsistencyWindow, Ec2Consistency
from sandbox.aws.ec2_interfaces import Ec2Interfaces
from sandbox.aws.eventbridge import EventBridgeDelivery
from sandbox.aws.gateway import Part
from sandbox.aws.iam.enforcer import IamEnforcer
from sandbox.aws.iam.principals import Principals
from sandbox.aws.iam.simulator import Simulator
from sandbox.aws.organizations_delegation import OrganizationsDelegation
from sandbox.aws.s3_defaults import S3DefaultEncryption
from sandbox.aws.s3_public_access import S3DefaultPublicAccess
from sandbox.aws.stackset_autodeploy import StackSetAutoDeployment

MANAGEMENT_ACCOUNT = "123456789012"  # moto's default account: the sandbox's own credentials act as its root


@dataclass(frozen=True)
class Strictness:
    iam: bool = True
    s3_default_encryption: bool = True  # off: new buckets have no configuration (an account's buckets before 2023)
    s3_default_public_access: bool = True  # off: new buckets have no Block Public Access (before April 2023)
    stackset_autodeploy: bool = True  # StackSet automatic deployment in AWS's order (sandbox/aws/stackset_autodeploy)
    autodeploy_order: DeploymentOrder = field(default_factory=DeploymentOrder)  # seeded; tests may set regions first
    ec2_consistency: bool = True  # new instances: not found, then pending (sandbox/aws/ec2_consistency.py)
    ec2_window: ConsistencyWindow = field(default_factory=ConsistencyWindow)  # ... for how many reads or seconds
    ec2_interfaces: bool = True  # no instance-level group change on several interfaces (sandbox/aws/ec2_interfaces.py)

    @classmethod
    def lenient(cls) -> Strictness:
        """moto as it is: no IAM, nothing emulated (for comparisons and moto-only tests)."""
        return cls(iam=False, s3_default_encryption=False, s3_default_public_access=False, stackset_autodeploy=False,
                   ec2_consistency=False, ec2_interfaces=False)

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
    s3_defaults: S3DefaultEncryption | None = None
    s3_public_access: S3DefaultPublicAccess | None = None
    autodeploy: StackSetAutoDeployment | None = None
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
        if strictness.s3_default_encryption:
            parts.s3_defaults = S3DefaultEncryption()
        if strictness.s3_default_public_access:
            parts.s3_public_access = S3DefaultPublicAccess()
        if strictness.stackset_autodeploy:
            parts.autodeploy = StackSetAutoDeployment(strictness.autodeploy_order)
        if strictness.ec2_consistency:
            parts.ec2_consistency = Ec2Consistency(strictness.ec2_window)
        if strictness.ec2_interfaces:
            parts.ec2_interfaces = Ec2Interfaces()
        return parts

    def in_order(self) -> list[Part]:
        # After IAM: the emulated behaviour then sees only the calls AWS would let through.
        return [p for p in (self.account_role, self.iam, self.delegation, self.ec2_consistency, self.ec2_interfaces,
                            self.s3_defaults, self.s3_public_access, self.autodeploy) if p is not None]

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
        if self.autodeploy is not None:
            self.autodeploy.reset()
        if self.ec2_consistency is not None:
            self.ec2_consistency.reset()
