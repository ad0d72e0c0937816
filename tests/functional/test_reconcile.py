"""The scheduled reconcile's Lambda handlers on moto, called as Lambda calls them, with the environment the
hub stack gives them: the start fans out one SQS message per account and region; the worker sweeps its
account-region, fixes, audits and mails one summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers import registry
from handlers.adapters import reconcile as reconcile_lambda
from handlers.batch import reconcile
from handlers.contract import ENV_AUDIT_TABLE, ENV_RECONCILE_QUEUE_URL, ENV_SETTINGS, ENV_TOPIC_ARN
from handlers.notify import Notifier, Renderer
from handlers.sessions import MemberSessions, NotOnboarded
from handlers.settings import Settings
from tests.support.handlers import Hub, settings_for
from tests.support.members import Member, bucket_encryption, make_bucket
from tests.support.moto_env import HUB_REGION, MEMBER_REGION

KMS_STANDARD = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True,
                 "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]
SCHEDULED_EVENT = {"version": "0", "id": "5f1b2c3d-1111-2222-3333-444455556666",
                   "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
                   "time": "2030-01-15T03:00:00Z",
                   "region": HUB_REGION, "resources": ["arn:aws:events:us-east-1:123456789012:rule/x"],
                   "detail": {}}


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, hq: Hub) -> Iterator[pytest.MonkeyPatch]:
    """What the hub stack sets for the reconcile functions; each test starts cold."""
    monkeypatch.setenv(ENV_AUDIT_TABLE, hq.table_name)
    monkeypatch.setenv(ENV_TOPIC_ARN, hq.topic_arn)
    reconcile_lambda.RUNTIME.reset()
    yield monkeypatch
    reconcile_lambda.RUNTIME.reset()


def use_settings(env: pytest.MonkeyPatch, settings: Settings) -> None:
    env.setenv(ENV_SETTINGS, settings.to_json())


def message(spoke: Member, run: str = "reconcile-20300115T030000Z-5f1b2c3d",
            policies: tuple[str, ...] = ("s3-encryption", "ec2-compliance")) -> dict[str, Any]:
    return {"Records": [{"messageId": "m-1", "eventSource": "aws:sqs",
                         "attributes": {"ApproximateReceiveCount": "1"},
                         "body": json.dumps({"kind": reconcile.MESSAGE_KIND, "run": run,
                                             "account": spoke.account, "name": spoke.name,
                                             "region": spoke.region, "policies": list(policies)})}]}


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return bodies
        for item in batch:
            bodies.append(json.loads(item["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=item["ReceiptHandle"])


# --- start -----------------------------------------------------------------------------------------------


def test_start_queues_one_message_per_governed_account_and_region(hq: Hub, spoke: Member,
                                                                  lambda_env: pytest.MonkeyPatch) -> None:
    org = hq.session.client("organizations")
    others = [org.create_account(AccountName=f"team-{i}", Email=f"team-{i}@example.com")
              ["CreateAccountStatus"]["AccountId"] for i in range(5)]
    exempt = others.pop()
    queue_url = hq.sqs.create_queue(QueueName="orgguard-reconcile")["QueueUrl"]
    use_settings(lambda_env, settings_for(spoke, exemptions={"accounts": [exempt]}))
    lambda_env.setenv(ENV_RECONCILE_QUEUE_URL, queue_url)

    result = reconcile_lambda.start_handler(SCHEDULED_EVENT, None)

    bodies = drain(hq.sqs, queue_url)
    expected = {(a, r) for a in [spoke.account, *others] for r in (HUB_REGION, MEMBER_REGION)}
    assert {(b["account"], b["region"]) for b in bodies} == expected
    assert len(bodies) == len(expected) == result["queued"]
    assert {b["run"] for b in bodies} == {"reconcile-20300115T030000Z-5f1b2c3d"}
    assert all(b["policies"] == list(registry.sweepable_ids()) for b in bodies)
    assert {b["name"] for b in bodies if b["account"] == spoke.account} == {spoke.name}


def test_sqs_entries_that_failed_are_sent_again() -> None:
    class FlakyQueue:
        def __init__(self) -> None:
            self.delivered: list[str] = []
            self.calls = 0

        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
            self.calls += 1
            assert len(Entries) <= 10
            if self.calls == 1:
                self.delivered.extend(e["MessageBody"] for e in Entries[:7])
                return {"Failed": [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"}
                                   for e in Entries[7:]]}
            self.delivered.extend(e["MessageBody"] for e in Entries)
            return {"Successful": []}

    queue = FlakyQueue()
    messages = [{"n": i} for i in range(23)]
    assert reconcile.queue_messages(queue, "url", messages, sleep=lambda _: None) == 23
    assert sorted(json.loads(b)["n"] for b in queue.delivered) == list(range(23))


# --- worker ----------------------------------------------------------------------------------------------


def test_worker_fixes_its_account_region_audits_and_mails_one_summary(hq: Hub, spoke: Member,
                                                                      lambda_env: pytest.MonkeyPatch) -> None:
    buckets = [make_bucket(spoke, f"legacy-{i}") for i in range(3)]
    good = make_bucket(spoke, "good", encryption=KMS_STANDARD[0])
    use_settings(lambda_env, settings_for(spoke))

    result = reconcile_lambda.worker_handler(message(spoke), None)

    summary = result["results"][0]
    assert (summary["status"], summary["counts"]["remediated"], summary["notified"]) == ("done", 3, True)
    assert all(bucket_encryption(spoke, b) == KMS_STANDARD for b in buckets)
    run = "reconcile-20300115T030000Z-5f1b2c3d"
    for bucket in buckets:
        item = hq.item(f"sweep#{run}#{spoke.account}#{spoke.region}#s3-encryption#{bucket}")
        assert item is not None and item["outcome"] == "remediated" and item["source"] == "reconcile"
    assert hq.item(f"sweep#{run}#{spoke.account}#{spoke.region}#s3-encryption#{good}") is None
    mail = hq.mail()
    assert len(mail) == 1
    assert mail[0].subject == f"[OrgGuard] {spoke.name}: sweep 3 fixed, 0 reported"
    assert all(f"{b}: fixed" in mail[0].body for b in buckets)
    assert mail[0].attributes["account"] == spoke.account

    again = reconcile_lambda.worker_handler(message(spoke), None)

    assert again["results"][0]["counts"]["compliant"] == 4 and not again["results"][0]["notified"]
    assert len(hq.mail()) == 1


def test_a_redelivered_report_is_not_mailed_twice(hq: Hub, spoke: Member,
                                                  lambda_env: pytest.MonkeyPatch) -> None:
    make_bucket(spoke, "legacy")
    use_settings(lambda_env, settings_for(spoke, {"s3-encryption": {"mode": "report"}}))

    first = reconcile_lambda.worker_handler(message(spoke), None)
    second = reconcile_lambda.worker_handler(message(spoke), None)

    assert first["results"][0]["counts"]["reported"] == second["results"][0]["counts"]["reported"] == 1
    assert bucket_encryption(spoke, "legacy") is None
    assert len(hq.mail()) == 1


def test_worker_drops_a_message_it_cannot_read_and_records_it(hq: Hub, spoke: Member,
                                                              lambda_env: pytest.MonkeyPatch) -> None:
    use_settings(lambda_env, settings_for(spoke))
    body = {"kind": reconcile.MESSAGE_KIND, "account": "12", "region": "x"}
    bad = {"Records": [{"body": json.dumps(body)}]}

    result = reconcile_lambda.worker_handler(bad, None)

    assert result["results"][0]["outcome"] == "rejected:bad-message"
    rejected = [k for k in hq.keys() if k.startswith("rejected#")]  # noqa: SIM118 (Hub.keys() scans)
    assert len(rejected) == 1
    assert hq.mail() == []


def test_worker_records_what_it_fixed_then_asks_for_a_retry_on_a_transient_failure(
        hq: Hub, spoke: Member, lambda_env: pytest.MonkeyPatch) -> None:
    make_bucket(spoke, "legacy")
    use_settings(lambda_env, settings_for(spoke))

    def throttled(self: Any, scope: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"},
                           "ResponseMetadata": {"HTTPStatusCode": 503}}, "DescribeInstances")

    lambda_env.setattr(type(registry.guardrail("ec2-compliance")), "list_resources", throttled)

    with pytest.raises(reconcile.RetryLater, match="RequestLimitExceeded"):
        reconcile_lambda.worker_handler(message(spoke), None)

    assert bucket_encryption(spoke, "legacy") == KMS_STANDARD
    run = "reconcile-20300115T030000Z-5f1b2c3d"
    assert hq.item(f"sweep#{run}#{spoke.account}#{spoke.region}#s3-encryption#legacy") is not None
    target = hq.item(f"sweep#{run}#{spoke.account}#{spoke.region}#target")
    assert target is not None and target["outcome"] == "failed:RequestLimitExceeded"


def test_an_account_that_is_not_onboarded_is_told_once_a_day(hq: Hub, spoke: Member) -> None:
    class Refusing(MemberSessions):
        def _assume(self, account: str, region: str) -> Any:
            raise NotOnboarded(account, region, "AccessDenied: not trusted")

    settings = settings_for(spoke)
    notifier = Notifier(hq.sns, hq.topic_arn, Renderer(user_dir=""))
    rt = reconcile.WorkerRuntime(settings, Refusing(boto3.Session(region_name=HUB_REGION)), HUB_REGION,
                                 hq.dynamodb, hq.table_name, notifier)
    bodies = [json.loads(message(spoke)["Records"][0]["body"]) for _ in range(2)]
    bodies[1]["region"] = HUB_REGION

    results = [reconcile.work(json.dumps(body), rt) for body in bodies]

    assert [r["status"] for r in results] == ["not-onboarded", "not-onboarded"]
    mail = hq.mail()
    assert len(mail) == 1 and "not onboarded" in mail[0].body and f"onboard {spoke.account}" in mail[0].body
    run = bodies[0]["run"]
    assert all(hq.item(f"sweep#{run}#{spoke.account}#{b['region']}#target") is not None for b in bodies)


def test_a_worker_out_of_time_queues_the_rest_and_every_resource_is_swept_once(
        hq: Hub, spoke: Member, lambda_env: pytest.MonkeyPatch) -> None:
    buckets = sorted(make_bucket(spoke, f"legacy-{i}") for i in range(5))
    make_bucket(spoke, "good", encryption=KMS_STANDARD[0])
    queue_url = hq.sqs.create_queue(QueueName="orgguard-reconcile")["QueueUrl"]
    use_settings(lambda_env, settings_for(spoke))
    lambda_env.setenv(ENV_RECONCILE_QUEUE_URL, queue_url)
    lambda_env.setattr(reconcile_lambda, "PAGE_SIZE", 2)

    class OutOfTime:
        """A context whose invocation is always near its end: each part may check one page only."""

        aws_request_id = "req-1"

        def get_remaining_time_in_millis(self) -> int:
            return 1000

    parts = [reconcile_lambda.worker_handler(message(spoke, policies=("s3-encryption",)), OutOfTime())["results"][0]]
    while True:
        pending = drain(hq.sqs, queue_url)
        if not pending:
            break
        assert len(pending) == 1
        parts.append(reconcile_lambda.worker_handler({"Records": [{"body": json.dumps(pending[0])}]},
                                              OutOfTime())["results"][0])

    assert [p["part"] for p in parts] == [1, 2, 3]
    names = sorted([*buckets, "good"])  # swept in name order, two a part
    assert [p["continued_at"] for p in parts] == [{"policy": "s3-encryption", "after": names[1]},
                                                  {"policy": "s3-encryption", "after": names[3]}, None]
    assert [p["resumed_at"] for p in parts] == [None, parts[0]["continued_at"], parts[1]["continued_at"]]
    assert all(sum(p["counts"].values()) <= 2 for p in parts)
    assert sum(p["counts"]["remediated"] for p in parts) == len(buckets)  # each fixed once, none twice
    assert sum(sum(p["counts"].values()) for p in parts) == len(buckets) + 1  # each bucket swept once
    assert all(bucket_encryption(spoke, b) == KMS_STANDARD for b in buckets)


def test_without_a_deadline_the_worker_sweeps_everything_in_one_part(hq: Hub, spoke: Member,
                                                                      lambda_env: pytest.MonkeyPatch) -> None:
    for i in range(5):
        make_bucket(spoke, f"legacy-{i}")
    queue_url = hq.sqs.create_queue(QueueName="orgguard-reconcile")["QueueUrl"]
    use_settings(lambda_env, settings_for(spoke))
    lambda_env.setenv(ENV_RECONCILE_QUEUE_URL, queue_url)
    lambda_env.setattr(reconcile_lambda, "PAGE_SIZE", 2)

    class Plenty:
        def get_remaining_time_in_millis(self) -> int:
            return 900_000

    [summary] = reconcile_lambda.worker_handler(message(spoke, policies=("s3-encryption",)), Plenty())["results"]

    assert summary["continued_at"] is None and summary["counts"]["remediated"] == 5
    assert drain(hq.sqs, queue_url) == []


@pytest.mark.parametrize("resume", [{"policy": "vpc-created", "after": ""}, {"policy": "s3-encryption", "after": 5},
                                    "s3-encryption"])
def test_a_continuation_that_cannot_be_read_is_dropped(hq: Hub, spoke: Member, lambda_env: pytest.MonkeyPatch,
                                                       resume: Any) -> None:
    use_settings(lambda_env, settings_for(spoke))
    body = json.loads(message(spoke)["Records"][0]["body"])
    body["resume"] = resume

    result = reconcile_lambda.worker_handler({"Records": [{"body": json.dumps(body)}]}, None)

    assert result["results"][0]["outcome"] == "rejected:bad-message"
