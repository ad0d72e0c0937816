"""Who is calling: the principal behind each access key the embedded AWS has handed out.

- The sandbox's own keys (``testing``) act as the management account's root user, as an organization's
  administrator acts in the management account.
- Every successful ``sts:AssumeRole`` answer hands out a new access key: the gateway reads it from the response and
  records the assumed-role session it belongs to (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``).
- AWS services (EventBridge, Lambda) act as their service principal: the sandbox registers a key for each when it
  plays that service (Lambda assuming a function's execution role, EventBridge delivering to a target).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

ROOT = "root"
SESSION = "session"
SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    kind: str  # root | session | service
    arn: str  # as AWS names the caller in an error: ...:root, ...:assumed-role/ROLE/SESSION, or the service
    account: str  # the caller's account ("" for a service)
    role_arn: str = ""  # the role of a session
    source_account: str = ""  # for a service acting on behalf of a resource (aws:SourceAccount)
    source_arn: str = ""  # ... and that resource (aws:SourceArn)
    organization_context: bool = True  # False: a request that carries no aws:PrincipalOrgID

    @property
    def principal_arn(self) -> str:
        """``aws:PrincipalArn``: the role for a session (not the session), the root user, or nothing."""
        return self.role_arn if self.kind == SESSION else self.arn if self.kind == ROOT else ""

    @classmethod
    def root(cls, account: str) -> Principal:
        return cls(ROOT, f"arn:aws:iam::{account}:root", account)

    @classmethod
    def session(cls, role_arn: str, session_name: str) -> Principal:
        account = role_arn.split(":")[4]
        role_name = role_arn.rsplit("/", 1)[-1]
        return cls(SESSION, f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}", account, role_arn)

    @classmethod
    def service(cls, service: str, source_account: str = "", source_arn: str = "") -> Principal:
        return cls(SERVICE, service, "", source_account=source_account, source_arn=source_arn)


@dataclass
class Principals:
    """Access key -> principal, for every key the embedded AWS knows."""

    management_account: str
    _keys: dict[str, Principal] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.reset()

    management_key: str = "testing"  # the sandbox's own credentials: the management account's root user

    def reset(self) -> None:
        with self._lock:
            self._keys = {self.management_key: Principal.root(self.management_account)}

    def of(self, access_key: str) -> Principal | None:
        with self._lock:
            return self._keys.get(access_key)

    def record(self, access_key: str, principal: Principal) -> None:
        with self._lock:
            self._keys[access_key] = principal

    def service_key(self, service: str, source_account: str = "", source_arn: str = "") -> str:
        """A new access key acting as an AWS service principal (for the sandbox playing that service)."""
        key = "SVC" + uuid.uuid4().hex[:17].upper()
        self.record(key, Principal.service(service, source_account, source_arn))
        return key
