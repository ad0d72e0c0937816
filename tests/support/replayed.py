"""What the replay fidelity tests share: a CloudTrail sample by name, settings governing some regions, and one
event replayed with ``Replayer`` inside the embedded AWS, the replayed member account's clients usable while it
runs (``replayed``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from handlers.settings import Settings, load, validate
from sandbox.aws.server import embedded_aws
from sandbox.replay.org import ACCESS_ROLE, role_session
from sandbox.replay.run import Replayed, Replayer, without_default_amis

from .samples import SAMPLES, require_samples

RECORDS = SAMPLES / "records"
DEFAULTS = load(None)
ADMIN = DEFAULTS.policies.ec2_compliance.admin_security_group.name


def sample(name: str) -> dict[str, Any]:
    path = RECORDS / name
    require_samples(path)
    record = json.loads(path.read_text())
    assert isinstance(record, dict)
    return record


def governing(*regions: str, **policies: dict[str, Any]) -> Settings:
    raw: dict[str, Any] = {"organization": {"regions": list(regions)}}
    if policies:
        raw["policies"] = {name.replace("_", "-"): value for name, value in policies.items()}
    return validate(raw, "test settings")


@dataclass
class Member:
    replayed: Replayed
    ec2: Any
    s3: Any

    @property
    def note(self) -> str:
        return str(self.replayed.record.get("note", ""))

    def actions(self, name: str) -> list[dict[str, Any]]:
        return [a["params"] for a in self.replayed.record["actions"] if a["action"] == name]

    def instances(self) -> list[dict[str, Any]]:
        return [i for r in self.ec2.describe_instances()["Reservations"] for i in r["Instances"]]

    def group_names(self) -> dict[str, str]:
        return {g["GroupId"]: g["GroupName"] for g in self.ec2.describe_security_groups()["SecurityGroups"]}


@contextlib.contextmanager
def replayed(event: dict[str, Any], settings: Settings) -> Iterator[Member]:
    """Replay ``event``; the member account's clients stay usable inside the block."""
    account = event["recipientAccountId"]
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_PROFILE", "nonexistent")
        with (embedded_aws() as aws, without_default_amis(),
              contextlib.closing(Replayer(aws, settings)) as replayer):
            result = replayer.replay("test", event)
            assert not result.error, result.error
            if result.record["forwarded"]:
                member = role_session(aws.session(), account, ACCESS_ROLE, event["awsRegion"])
            else:  # nothing was built, the account is not even in an organization: read it as its root user
                member = aws.root_session(account, event["awsRegion"])
            yield Member(result, member.client("ec2"), member.client("s3"))
