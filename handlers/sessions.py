"""The one credentials module: assume ``OrgGuardRemediation`` in a member account, cached, regional.

- One AssumeRole per account+region until shortly before the credentials expire.
- STS is called in the member's region (regional endpoint: lower latency, no dependency on us-east-1).
- Every client uses botocore's standard retry mode (throttling and 5xx retried with backoff).
- AccessDenied on AssumeRole becomes ``NotOnboarded``: the account has no spoke, or the trust is wrong.
- ``RegionDisabledException`` becomes ``RegionDisabled``: STS is not activated in that region for the
  account, which no spoke fixes (IAM account settings do).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from handlers.contract import REMEDIATION_ROLE_NAME
from handlers.errors import ACCESS_DENIED_CODES

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
REFRESH_MARGIN_SECONDS = 300
SESSION_NAME = "orgguard"
REGION_DISABLED_CODE = "RegionDisabledException"


class NotOnboarded(Exception):
    """The hub cannot assume the remediation role in this account (no spoke, or its trust is wrong)."""

    def __init__(self, account: str, region: str, reason: str) -> None:
        self.account = account
        self.region = region
        self.reason = reason
        super().__init__(f"cannot assume {REMEDIATION_ROLE_NAME} in {account} ({region}): {reason}")


class RegionDisabled(NotOnboarded):
    """STS is not activated in this region for the account. A ``NotOnboarded`` for code that only needs to
    know the account cannot be reached (the sweep); the guardrails report it as its own outcome."""

    def __init__(self, account: str, region: str, reason: str) -> None:
        super().__init__(account, region, reason)
        self.args = (f"STS is not activated in {region} for account {account}, so OrgGuard cannot assume "
                     f"{REMEDIATION_ROLE_NAME} there: {reason}",)


@functools.cache
def process_loader() -> botocore.loaders.Loader:
    """The botocore model loader every member session of this process shares (models are read once)."""
    return botocore.loaders.create_loader()


def session_for_credentials(access_key: str, secret_key: str, token: str | None, region: str,
                            loader: botocore.loaders.Loader | None = None) -> boto3.Session:
    """A session on explicit (e.g. assumed-role) credentials that shares one model loader: a fresh loader
    re-reads each service's JSON model (~0.1 s for EC2), paid again for every account touched."""
    core = shared_core(loader)
    core.set_credentials(access_key, secret_key, token)
    return boto3.Session(botocore_session=core, region_name=region)


def shared_core(loader: botocore.loaders.Loader | None = None) -> botocore.session.Session:
    """A botocore session on ``loader``, by default the process-wide one."""
    core = botocore.session.get_session()
    core.register_component("data_loader", loader or process_loader())
    return core


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def role_arn(account: str, region: str, role_name: str = REMEDIATION_ROLE_NAME) -> str:
    return f"arn:{partition_of(region)}:iam::{account}:role/{role_name}"


@dataclass
class _Cached:
    session: boto3.Session
    expires_at: float
    clients: dict[tuple[str, str], Any]  # (service, region) -> client


SWEEP_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=5, read_timeout=30,
                      max_pool_connections=32)


class MemberSessions:
    """Sessions and clients in member accounts, through the remediation role.

    ``base`` is the hub's own session (the Lambda role, or the operator's CLI credentials). ``loader`` is the
    botocore model loader the member sessions share (by default the process-wide one of ``shared_core``); it
    is passed in rather than read out of ``base``, whose botocore session is private to boto3.
    Thread-safe: the sweep uses one instance from a thread pool.
    """

    def __init__(self, base: boto3.Session | None = None, role_name: str = REMEDIATION_ROLE_NAME,
                 clock: Callable[[], float] = time.time, session_name: str = SESSION_NAME,
                 config: Config = RETRY_CONFIG, loader: botocore.loaders.Loader | None = None,
                 anchor_region: str = "") -> None:
        self._base = base or boto3.Session()
        self._anchor = anchor_region
        self._refused: dict[str, str] = {}
        self._loader = loader
        self._role_name = role_name
        self._clock = clock
        self._session_name = session_name
        self._config = config
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._sts: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.assume_calls = 0

    def _sts_client(self, region: str) -> Any:
        if region not in self._sts:
            self._sts[region] = self._base.client("sts", region_name=region, config=self._config)
        return self._sts[region]

    def _assume(self, account: str, region: str) -> _Cached:
        try:
            response = self._sts_client(region).assume_role(
                RoleArn=role_arn(account, region, self._role_name),
                RoleSessionName=self._session_name,
                DurationSeconds=3600,
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == REGION_DISABLED_CODE:
                raise RegionDisabled(account, region, f"{code}: {error.response['Error'].get('Message', '')}") \
                    from error
            if code in ACCESS_DENIED_CODES:
                raise NotOnboarded(account, region, f"{code}: {error.response['Error'].get('Message', '')}") from error
            raise
        self.assume_calls += 1
        creds = response["Credentials"]
        expiration = creds["Expiration"]
        expires_at = expiration.timestamp() if hasattr(expiration, "timestamp") else self._clock() + 3600
        session = session_for_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"],
                                          region, self._loader)
        return _Cached(session, expires_at, {})

    def across_regions(self, anchor_region: str, config: Config = SWEEP_CONFIG) -> MemberSessions:
        """The same role, assumed once per account in ``anchor_region`` and used in every region (the sweep).

        ``OrgGuardRemediation`` is an IAM role (global) and credentials from any STS endpoint are valid in every
        region; the anchor is the hub's region, which the caller's account certainly has enabled. A refusal is
        remembered for the account: its other regions report it without asking STS again.
        """
        return type(self)(self._base, self._role_name, self._clock, self._session_name, config, self._loader,
                          anchor_region=anchor_region)

    def _entry(self, account: str, region: str) -> _Cached:
        where = self._anchor or region
        with self._lock:
            refused = self._refused.get(account)
            if refused is not None:
                raise NotOnboarded(account, region, refused)
            cached = self._cache.get((account, where))
            if cached is None or cached.expires_at - REFRESH_MARGIN_SECONDS <= self._clock():
                try:
                    cached = self._assume(account, where)
                except NotOnboarded as error:
                    if not self._anchor:
                        raise
                    self._refused[account] = error.reason
                    raise NotOnboarded(account, region, error.reason) from error
                self._cache[(account, where)] = cached
            return cached

    def session(self, account: str, region: str) -> boto3.Session:
        return self._entry(account, region).session

    def client(self, account: str, region: str, service: str) -> Any:
        entry = self._entry(account, region)
        with self._lock:
            if (service, region) not in entry.clients:
                entry.clients[(service, region)] = entry.session.client(service, region_name=region,
                                                                        config=self._config)
            return entry.clients[(service, region)]

    def forget(self, account: str, region: str) -> None:
        with self._lock:
            self._cache.pop((account, self._anchor or region), None)
