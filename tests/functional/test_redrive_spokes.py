"""``orgguard redrive`` on moto finds the spokes' dead-letter queues in the member accounts (through the member
access role, where the regional StackSet has instances) besides the hub's, replays what they hold through the
handlers, and leaves a message whose event names another account than its queue's."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

import commands.redrive
import deploy
from handlers.contract import CANARY_DETAIL_TYPE, CANARY_SOURCE, FORWARD_DLQ_NAME, TABLE_PARTITION_KEY
from handlers.settings import Settings
from tests.reliability import samples
from tests.support.organization import HOME_REGION, OTHER_REGION, REGIONS, FakeOrganization, session_in
from tests.support.rollout import ROLLOUT_MARKS, FakeHub, build_hub, roll_out

pytestmark = ROLLOUT_MARKS


@pytest.fixture
def hub(organization: FakeOrganization, management_session: boto3.Session, settings: Settings) -> FakeHub:
    roll_out(management_session, settings)
    return build_hub(settings)


def canary_event(account: str, region: str) -> dict[str, Any]:
    """What EventBridge dead-letters when the canary rule cannot put the event on the hub bus."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": CANARY_DETAIL_TYPE, "source": CANARY_SOURCE,
            "account": account, "time": "2026-05-01T12:00:00Z", "region": region, "resources": [],
            "detail": {"canary_id": str(uuid.uuid4()), "account": account, "region": region}}


def dead_letter(account: str, region: str, event: dict[str, Any]) -> str:
    sqs = session_in(account, region).client("sqs")
    url = str(sqs.get_queue_url(QueueName=FORWARD_DLQ_NAME)["QueueUrl"])
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event), MessageAttributes={
        "ERROR_CODE": {"DataType": "String", "StringValue": "NO_PERMISSIONS"}})
    return url


def left_in(account: str, region: str) -> int:
    sqs = session_in(account, region).client("sqs")
    url = sqs.get_queue_url(QueueName=FORWARD_DLQ_NAME)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def config(organization: FakeOrganization, tmp_path: Any) -> str:
    path = tmp_path / "orgguard.toml"
    path.write_text(
        "[organization]\n"
        f'management_account = "{organization.management}"\n'
        f'hub_account = "{organization.account("hub")}"\n'
        f'hub_region = "{HOME_REGION}"\n'
        f'regions = ["{HOME_REGION}", "{OTHER_REGION}"]\n'
        f'target_ous = ["{organization.ou("Workloads")}"]\n'
        "include_management_account = false\n"
        "[notifications]\n"
        'emails = ["cloud-admins@example.com"]\n'
    )
    return str(path)


def test_spoke_dead_letters_are_replayed_and_a_foreign_one_is_left(
    organization: FakeOrganization, management_session: boto3.Session, hub: FakeHub, tmp_path: Any, capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(commands.redrive, "aws_session", lambda args, settings: management_session)
    app1, app2 = organization.account("app-1"), organization.account("app-2")
    own = canary_event(app1, OTHER_REGION)
    dead_letter(app1, OTHER_REGION, own)
    dead_letter(app1, OTHER_REGION, canary_event(app2, OTHER_REGION))  # not app-1's: the spoke never sent it
    bucket = f"redrive-spoke-{app2}"
    session_in(app2, HOME_REGION).client("s3").create_bucket(Bucket=bucket)
    created = samples.bucket_call(samples.CREATE_BUCKET, app2, HOME_REGION, bucket)
    dead_letter(app2, HOME_REGION, created)

    code = deploy.main(["redrive", "--config", config(organization, tmp_path), "--json"])

    document = json.loads(capsys.readouterr().out)
    assert code == 1, "the foreign message stays, and the exit status says so"
    by_queue: dict[str, list[dict[str, Any]]] = {}
    for message in document["messages"]:
        by_queue.setdefault(message["queue"], []).append(message)
    spoke_queues = {q for q in document["queues"] if FORWARD_DLQ_NAME in q}
    assert len(spoke_queues) == len(organization.accounts_in("Workloads")) * len(REGIONS)
    replayed = {(m["account"], m["deleted"]) for m in by_queue[f"{app1}/{OTHER_REGION}/{FORWARD_DLQ_NAME}"]}
    assert replayed == {(app1, True), (app2, False)}
    (foreign,) = [m for m in by_queue[f"{app1}/{OTHER_REGION}/{FORWARD_DLQ_NAME}"] if not m["deleted"]]
    assert "names account" in foreign["note"]
    (bucket_replay,) = by_queue[f"{app2}/{HOME_REGION}/{FORWARD_DLQ_NAME}"]
    # the spoke never forwarded it: every guardrail that names a CreateBucket gets it (moto: no Block Public Access)
    assert (bucket_replay["policy"], bucket_replay["outcome"], bucket_replay["deleted"]) == (
        "s3-encryption, s3-public-access", "s3-encryption: remediated, s3-public-access: remediated", True)

    # The hub recorded the canary, and the bucket in app-2 now meets the standard: replays acted for real.
    item = hub.session.client("dynamodb").get_item(
        TableName=hub.settings.hub.table_name, Key={TABLE_PARTITION_KEY: {"S": f"canary#{own['detail']['canary_id']}"}})
    assert item["Item"]["account"]["S"] == app1
    encryption = session_in(app2, HOME_REGION).client("s3").get_bucket_encryption(Bucket=bucket)
    assert encryption["ServerSideEncryptionConfiguration"]["Rules"]
    assert left_in(app1, OTHER_REGION) == 1 and left_in(app2, HOME_REGION) == 0


def test_hub_only_leaves_the_spoke_queues_alone(
    organization: FakeOrganization, management_session: boto3.Session, hub: FakeHub, tmp_path: Any, capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(commands.redrive, "aws_session", lambda args, settings: management_session)
    app1 = organization.account("app-1")
    dead_letter(app1, HOME_REGION, canary_event(app1, HOME_REGION))

    assert deploy.main(["redrive", "--config", config(organization, tmp_path), "--json", "--hub-only"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document["messages"] == [] and not any(FORWARD_DLQ_NAME in q for q in document["queues"])
    assert left_in(app1, HOME_REGION) == 1
