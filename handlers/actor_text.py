"""Who made a call, as an administrator reads it: the person first, then the role, then the account.

Pure: from a CloudTrail ``userIdentity`` (any shape real records have, see ``tests/events/records`` and
``../shared/cloudtrail-samples``) to ``jane.doe@example.com (SSO PowerUserAccess) in workload-alpha``;
the ARN is kept for a later line. Root use is flagged (``root``) so a subject can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SSO_ROLE = re.compile(r"^AWSReservedSSO_(?P<set>.+)_[0-9a-f]{8,}$")
SERVICE_ROLE_PATH = re.compile(r":role/aws-service-role/(?P<service>[^/]+)/")


@dataclass(frozen=True)
class Who:
    person: str  # the person (or service) who made the call
    role: str = ""  # how: "SSO PowerUserAccess", "role deploy", "IAM user", ...
    arn: str = ""
    root: bool = False
    service: bool = False

    def line(self, account_label: str = "") -> str:
        role = f" ({self.role})" if self.role else ""
        where = f" in {account_label}" if account_label else ""
        return f"{self.person}{role}{where}"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _assumed(identity: dict[str, Any], arn: str, invoked_by: str) -> Who:
    issuer = _mapping(_mapping(identity.get("sessionContext")).get("sessionIssuer"))
    parts = arn.split(":assumed-role/", 1)[1].split("/") if ":assumed-role/" in arn else []
    role = _text(issuer.get("userName")) or (parts[0] if parts else "")
    session = parts[1] if len(parts) > 1 else _text(identity.get("principalId")).partition(":")[2]
    service = SERVICE_ROLE_PATH.search(_text(issuer.get("arn")))
    if service or role.startswith("AWSServiceRoleFor"):
        name = invoked_by or (service.group("service") if service else role)
        return Who(name, f"service-linked role {role}", arn, service=True)
    sso = SSO_ROLE.match(role)
    if sso:
        return Who(session or "someone", f"SSO {sso.group('set')}", arn)
    return Who(session or "someone", f"role {role}" if role else "assumed role", arn)


def who(identity: Any) -> Who:
    """The caller a ``userIdentity`` names; never raises, whatever the record holds."""
    identity = _mapping(identity)
    kind, arn = _text(identity.get("type")), _text(identity.get("arn"))
    invoked_by = _text(identity.get("invokedBy"))
    if kind == "Root":
        via = f"via {invoked_by}" if invoked_by else ""
        return Who("the root user", via, arn, root=True)
    if kind == "AWSService":
        return Who(invoked_by or "an AWS service", "AWS service", arn, service=True)
    if kind == "AssumedRole":
        return _assumed(identity, arn, invoked_by)
    if kind == "IAMUser":
        name = _text(identity.get("userName")) or arn.rpartition("/")[2] or "an IAM user"
        return Who(name, "IAM user", arn)
    if kind == "FederatedUser":
        name = arn.rpartition("/")[2] or _text(identity.get("principalId")).partition(":")[2]
        return Who(name or "a federated user", "federated user", arn)
    if kind in ("IdentityCenterUser", "Unknown") and _text(identity.get("userName")):
        return Who(_text(identity.get("userName")), "Identity Center user" if kind != "Unknown" else "", arn)
    return Who(arn or invoked_by or kind or "unknown caller", kind if arn else "")
