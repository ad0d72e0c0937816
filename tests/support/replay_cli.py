"""`orgguard replay` as the e2e tests run it: in-process through ``deploy.main``, with no credentials and a
profile that does not exist, its JSON lines parsed; the defaults the replay enforces."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import deploy
from handlers.settings import load

DEFAULTS = load(None)
REQUIRED_TAGS = DEFAULTS.policies.ec2_compliance.required_tags


def user(account: str) -> dict[str, str]:
    return {"type": "IAMUser", "accountId": account, "arn": f"arn:aws:iam::{account}:user/dev"}


def bucket_event(name: str, configuration: dict[str, Any] | None = None, event_id: str = "ev-1",
                 account: str = "333333333333") -> dict[str, Any]:
    request: dict[str, Any] = {"bucketName": "replay-test-bucket",
                               "Host": "replay-test-bucket.s3.amazonaws.com"}
    if configuration is not None:
        request["ServerSideEncryptionConfiguration"] = {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                                        **configuration}
    return {"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": name, "eventID": event_id,
            "eventTime": "2024-05-01T10:00:00Z", "awsRegion": "eu-west-1", "recipientAccountId": account,
            "userIdentity": user(account),
            "requestParameters": request, "responseElements": None}


def governing(path: Path, *regions: str) -> Path:
    """A config whose organization governs ``regions`` (a spoke in each), everything else the defaults."""
    path.write_text(f"[organization]\nregions = {json.dumps(sorted(set(regions)))}\n")
    return path


@contextlib.contextmanager
def no_credentials() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_PROFILE", "nonexistent")
        yield


def run_replay(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with no_credentials(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = deploy.main(["replay", *args])
    return code, out.getvalue(), err.getvalue()


def replay_json(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    code, out, err = run_replay("--json", *args)
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err
