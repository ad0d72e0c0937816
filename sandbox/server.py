"""Start moto in server mode on 127.0.0.1 (a free port) and point boto3 at it, for the block's duration.

Everything inside the block talks to the embedded AWS through the real AWS endpoint resolution
(``AWS_ENDPOINT_URL``), with dummy credentials of the management account. The caller's AWS environment
(profile, keys, endpoint) is set aside, so nothing can reach a real account, and is restored afterwards.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3

MANAGEMENT_ACCOUNT = "123456789012"  # moto's default account: the credentials below act as it
_ENV_PREFIXES = ("AWS_",)
_LOCK = threading.Lock()  # moto keeps its state per process: one embedded AWS at a time


@dataclass(frozen=True)
class EmbeddedAws:
    endpoint: str
    region: str

    def session(self, region: str | None = None) -> boto3.Session:
        """A session acting as the management account."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                             region_name=region or self.region)

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        forget_org_memberships()


def forget_org_memberships() -> None:
    """moto's reset leaves its process-wide member -> management map behind; an account registered as a
    member earlier could then not create an organization of its own (AlreadyInOrganizationException)."""
    from moto.organizations.models import organizations_backends

    organizations_backends.master_accounts.clear()


@contextmanager
def embedded_aws(region: str = "us-east-1") -> Iterator[EmbeddedAws]:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from sandbox.moto_s3 import returns_blocked_encryption_types

    returns_blocked_encryption_types()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines in the demo's output

    with _LOCK:
        saved = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
        for key in saved:
            del os.environ[key]
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        aws = EmbeddedAws(f"http://{host}:{port}", region)
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
            yield aws
        finally:
            server.stop()
            for key in [k for k in os.environ if k.startswith(_ENV_PREFIXES)]:
                del os.environ[key]
            os.environ.update(saved)
