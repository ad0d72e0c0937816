"""Start moto in server mode on 127.0.0.1 (a free port) and point boto3 at it, for the block's duration.

Everything inside the block talks to the embedded AWS through the real AWS endpoint resolution
(``AWS_ENDPOINT_URL``), with dummy credentials of the management account. The caller's AWS environment
(profile, keys, endpoint) is set aside, so nothing can reach a real account, and is restored afterwards.

Requests pass the gateway (``sandbox/aws/gateway.py``) before moto sees them; ``Strictness`` says which of the
named parts that make moto behave as AWS does are on (all of them unless a caller turns one off).
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.aws.gateway import Gateway
from sandbox.aws.strictness import Strictness, StrictParts

MANAGEMENT_ACCOUNT = "123456789012"  # moto's default account: the credentials below act as it
ROOT_STAND_IN = "sandbox-root"  # the IAM user whose keys moto maps to an account; IAM sees its root user
_ENV_PREFIXES = ("AWS_",)
_LOCK = threading.Lock()  # moto keeps its state per process: one embedded AWS at a time


@dataclass(frozen=True)
class EmbeddedAws:
    endpoint: str
    region: str
    parts: StrictParts

    def session(self, region: str | None = None) -> boto3.Session:
        """A session acting as the management account."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                             region_name=region or self.region)

    def service_session(self, service: str, source_account: str = "", source_arn: str = "",
                        region: str | None = None) -> boto3.Session:
        """A session acting as an AWS service principal (``lambda.amazonaws.com``), for the sandbox playing it."""
        key = self.parts.principals.service_key(service, source_account, source_arn)
        return boto3.Session(aws_access_key_id=key, aws_secret_access_key="service", region_name=region or self.region)

    def root_session(self, account: str, region: str | None = None) -> boto3.Session:
        """A session acting as ``account``'s root user (for an organization whose management account is not
        moto's default one): moto learns the account from an access key it holds in that account."""
        if account == MANAGEMENT_ACCOUNT:
            return self.session(region)
        from moto.iam.models import iam_backends

        from sandbox.aws.iam.principals import Principal

        backend = iam_backends[account]["aws"]
        if ROOT_STAND_IN not in backend.users:
            backend.create_user(region or self.region, ROOT_STAND_IN)
        key = backend.create_access_key(ROOT_STAND_IN)
        self.parts.principals.record(key.access_key_id, Principal.root(account))
        return boto3.Session(aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                             region_name=region or self.region)

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        forget_org_memberships()
        self.parts.reset()


def forget_org_memberships() -> None:
    """moto's reset leaves its process-wide member -> management map behind; an account registered as a
    member earlier could then not create an organization of its own (AlreadyInOrganizationException)."""
    from moto.organizations.models import organizations_backends

    organizations_backends.master_accounts.clear()


class _Server:
    """moto's threaded server (``ThreadedMotoServer``) with the gateway in front of moto's application."""

    def __init__(self, gateway: Gateway) -> None:
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, gateway, threaded=True,
                                                   request_handler=_request_handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


def _request_handler() -> Any:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    return MotoRequestHandler


def _moto_app() -> Any:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


@contextmanager
def embedded_aws(region: str = "us-east-1", strictness: Strictness | None = None) -> Iterator[EmbeddedAws]:
    """The embedded AWS, strict as AWS is unless ``strictness`` turns parts off (``Strictness.lenient()``)."""
    from sandbox.aws.moto_s3 import returns_blocked_encryption_types

    returns_blocked_encryption_types()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines in the demo's output

    with _LOCK:
        saved = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
        for key in saved:
            del os.environ[key]
        parts = StrictParts.build(strictness or Strictness())
        server = _Server(Gateway(_moto_app(), parts.in_order()))
        server.start()
        aws = EmbeddedAws(server.endpoint, region, parts)
        os.environ.update({
            "AWS_ENDPOINT_URL": aws.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        })
        try:
            aws.reset()
            parts.install()
            yield aws
        finally:
            parts.uninstall()
            server.stop()
            for key in [k for k in os.environ if k.startswith(_ENV_PREFIXES)]:
                del os.environ[key]
            os.environ.update(saved)
