"""Replaying real Block Public Access and bucket policy records (tests/events/records, see PROVENANCE.tsv) on the
embedded AWS: the seeded bucket, the outcome s3-public-access records, and the bucket afterwards; and a
CreateBucket that reaches both S3 guardrails, seeded once."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commands.replay import REPLAY_STRICTNESS
from handlers.guardrails.s3_public_access.access_block import FLAGS
from handlers.settings import load
from sandbox.aws.server import embedded_aws
from sandbox.replay.org import ACCESS_ROLE, role_session
from sandbox.replay.run import Replayed, Replayer, without_default_amis
from tests.support.members import public_access_flags

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

EVENTS = Path(__file__).resolve().parents[1] / "events" / "records"
DEFAULTS = load(None)
ALL_ON = dict.fromkeys(FLAGS, True)


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


@contextlib.contextmanager
def replayed(event: dict[str, Any]) -> Iterator[tuple[Replayed, Any]]:
    """Replay ``event``; the member account's S3 client stays usable inside the block."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_PROFILE", "nonexistent")
        with (embedded_aws(strictness=REPLAY_STRICTNESS) as aws, without_default_amis(),
              contextlib.closing(Replayer(aws, DEFAULTS)) as replayer):
            result = replayer.replay("test", event)
            assert not result.error, result.error
            member = role_session(aws.session(), event["recipientAccountId"], ACCESS_ROLE, event["awsRegion"])
            yield result, member.client("s3")


def test_delete_public_access_block_is_closed_again() -> None:
    event = sample("panther__DeleteBucketPublicAccessBlock__2.json")
    with replayed(event) as (result, s3):
        after = public_access_flags(s3, "corporate-documents")
    record = result.record
    assert (record["policy"], record["outcome"], record["notified"]) == ("s3-public-access", "remediated", True)
    assert record["actions"] == [{"action": "s3:PutPublicAccessBlock", "params": {
        "Bucket": "corporate-documents", "PublicAccessBlockConfiguration": ALL_ON}}]
    assert after == ALL_ON
    assert "seeded without a Block Public Access configuration" in record["note"]
    assert result.notification is not None and "public access blocked" in result.notification[0]


def test_put_public_access_block_with_every_flag_on_is_compliant() -> None:
    with replayed(sample("streamalert__PutBucketPublicAccessBlock__2.json")) as (result, s3):
        after = public_access_flags(s3, "test")
    assert (result.record["outcome"], result.record["actions"], result.record["notified"]) == ("compliant", [], False)
    assert after == ALL_ON


def test_put_public_access_block_with_every_flag_off_is_fixed() -> None:
    event = sample("streamalert__PutBucketPublicAccessBlock__2.json")
    for flag in FLAGS:  # the same record with the flags of its sibling sample (streamalert __1: all false)
        event["requestParameters"]["PublicAccessBlockConfiguration"][flag] = False
    with replayed(event) as (result, s3):
        after = public_access_flags(s3, "test")
    assert result.record["outcome"] == "remediated" and after == ALL_ON


def test_a_public_bucket_policy_is_reported_and_left_as_written() -> None:
    event = sample("streamalert__PutBucketPolicy__1.json")
    with replayed(event) as (result, s3):
        after = public_access_flags(s3, "test")
        policy = json.loads(s3.get_bucket_policy(Bucket="test")["Policy"])
    record = result.record
    assert (record["policy"], record["outcome"]) == ("s3-public-access", "remediated")
    assert "BlockPublicPolicy would have refused the call" in record["note"]
    assert after == ALL_ON
    assert policy == event["requestParameters"]["bucketPolicy"]  # never rewritten
    assert result.notification is not None and "Policy:   public" in result.notification[1]


def test_a_create_bucket_reaches_both_s3_guardrails_seeded_once() -> None:
    event = copy.deepcopy(sample("panther__DeleteBucketPublicAccessBlock__2.json"))
    event.update(eventName="CreateBucket", requestParameters={"bucketName": "team-new-bucket"})
    with replayed(event) as (result, s3):
        after = public_access_flags(s3, "team-new-bucket")
    record = result.record
    assert record["policy"] == "s3-encryption"  # the first guardrail's result stays at the top
    assert [(g["policy"], g["outcome"]) for g in record["guardrails"]] == [
        ("s3-encryption", record["outcome"]), ("s3-public-access", "compliant")]  # S3's default of 2024: all on
    assert after == ALL_ON
    assert "all four Block Public Access flags on" in record["note"]
