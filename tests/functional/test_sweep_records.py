"""handlers.batch.sweep on moto, what a sweep leaves behind: its audit records, written to the hub table in
batches (unprocessed items sent again), and the summary mail naming the account, the counts and each resource."""

from __future__ import annotations

from typing import Any

from handlers.batch.records import SweepFinding, TargetResult, audit_records, write_audit
from handlers.batch.summary import render_summary, summary_attributes, summary_context
from handlers.batch.sweep import sweep_target
from handlers.notify import Renderer
from handlers.organization import Account
from tests.support.handlers import Hub, settings_for
from tests.support.members import Member, make_bucket
from tests.support.moto_env import HUB_REGION
from tests.support.sweep import KMS_STANDARD, TODAY, clients_for


def test_audit_records_land_in_the_table_in_batches(hq: Hub, spoke: Member) -> None:
    for i in range(30):
        make_bucket(spoke, f"plain-{i:02d}")
    make_bucket(spoke, "good", encryption=KMS_STANDARD[0])
    result = sweep_target(clients_for(), settings_for(spoke), spoke.account, spoke.region, ["s3-encryption"],
                          fix=True, today=TODAY)

    written = write_audit(hq.dynamodb, hq.table_name, audit_records(result, "run-1", "sweep", "tester"), 30)

    keys = [key for key in hq.keys() if key.startswith("sweep#run-1#")]  # noqa: SIM118 (Hub.keys() scans)
    assert written == len(keys) == 30
    item = hq.item(f"sweep#run-1#{spoke.account}#{spoke.region}#s3-encryption#plain-07")
    assert item is not None
    assert (item["outcome"], item["account"], item["policy"], item["actor"]) == (
        "remediated", spoke.account, "s3-encryption", "tester")
    assert item["time"].endswith("Z") and item["expires_at"] > 0
    assert "PutBucketEncryption" in item["actions"]


def test_unprocessed_audit_items_are_sent_again() -> None:
    class Flaky:
        def __init__(self) -> None:
            self.sent: list[str] = []
            self.calls = 0

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            self.calls += 1
            requests = RequestItems["t"]
            if self.calls == 1:
                self.sent.extend(r["PutRequest"]["Item"]["pk"]["S"] for r in requests[:10])
                return {"UnprocessedItems": {"t": requests[10:]}}
            self.sent.extend(r["PutRequest"]["Item"]["pk"]["S"] for r in requests)
            return {"UnprocessedItems": {}}

    client = Flaky()
    records = [(f"k{i}", {"outcome": "remediated", "before": {"a": 1}}) for i in range(20)]
    write_audit(client, "t", records, 1, sleep=lambda _: None)
    assert sorted(client.sent) == sorted(f"k{i}" for i in range(20))


def test_summary_mail_names_the_account_counts_and_each_resource(hq: Hub, spoke: Member) -> None:
    make_bucket(spoke, "plain-data")
    make_bucket(spoke, "good", encryption=KMS_STANDARD[0])
    settings = settings_for(spoke, organization={
        "management_account": "123456789012", "hub_account": "123456789012", "hub_region": HUB_REGION,
        "regions": [HUB_REGION, spoke.region], "account_names": {spoke.account: "workloads-prod"}})
    result = sweep_target(clients_for(), settings, spoke.account, spoke.region, ["s3-encryption"], fix=True,
                          today=TODAY)
    unreachable = TargetResult(spoke.account, HUB_REGION, "failed:AccessDenied",
                               error="s3-encryption: denied")

    context = summary_context(settings, Account(spoke.account, ""), [result, unreachable], "run-1",
                              "scheduled reconcile", "2030-01-15 03:00 UTC", ["s3-encryption"])
    subject, body = render_summary(Renderer(user_dir=""), context)
    attributes = summary_attributes(spoke.account, [result, unreachable])

    assert subject == "[OrgGuard] workloads-prod: sweep 1 fixed, 0 reported, 1 failed"
    assert spoke.account in body and spoke.region in body
    assert "plain-data: fixed" in body
    assert "good" not in body.split("Resources:")[1]
    assert "2 resource(s): 1 compliant, 1 fixed" in body
    assert f"{HUB_REGION}: failed (AccessDenied) - s3-encryption: denied" in body
    assert attributes["policy"] == {"DataType": "String.Array", "StringValue": '["s3-encryption"]'}
    assert attributes["outcome"]["StringValue"] == '["failed", "remediated"]'
    assert attributes["severity"]["StringValue"] == "high"
    assert attributes["account"]["StringValue"] == spoke.account


def test_summary_mail_warns_of_drift_for_a_fixed_stack_resource(spoke: Member) -> None:
    fixed = SweepFinding(spoke.account, spoke.region, "s3-encryption", "stack-data", "remediated",
                    "changed from no default encryption configuration to SSE-KMS", stack_name="data-stack")
    context = summary_context(settings_for(spoke), Account(spoke.account, "prod"),
                              [TargetResult(spoke.account, spoke.region, findings=[fixed])], "run-1",
                              "scheduled reconcile", "2030-01-15 03:00 UTC", ["s3-encryption"])

    _, body = render_summary(Renderer(user_dir=""), context)

    assert 'CloudFormation stack "data-stack"' in body
