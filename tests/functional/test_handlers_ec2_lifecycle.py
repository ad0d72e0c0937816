"""ec2-compliance on moto as instances come and go: terminated or unknown instances are gone without
stopping the others, a throttled group change and a duplicate delivery act once, a CloudFormation instance gets a
drift hint, a fresh instance EC2 does not show yet (or that refuses a write) is retried while an old one is gone,
and refused writes fail only their own instances."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from handlers.audit import event_key
from handlers.errors import NotYetVisible, is_transient
from tests.support.ec2_compliance import ONE_INSTANCE, REQUIRED, TWO_INSTANCES, write_calls
from tests.support.events import run_instances_event
from tests.support.handlers import Hub, engine_client, fail_calls, run, runtime, settings_for
from tests.support.members import Member, instance_tags, interface_groups, launch, make_network
from tests.support.moto_env import client_error


def test_terminated_instances_are_gone(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net, count=2)
    member.client("ec2").terminate_instances(InstanceIds=ids)
    rt = runtime(hub, settings_for(member))
    calls = write_calls(rt, member)
    event = run_instances_event(TWO_INSTANCES, member, ids, net)

    assert run(event, "ec2-compliance", rt).outcome == "gone"
    assert calls["CreateTags"] == [] and calls["ModifyInstanceAttribute"] == []
    item = hub.event_item(event["eventID"])
    assert (item["outcome"], item["state"]) == ("gone", "done")
    assert all(i in item["resource"] for i in ids)


def test_unknown_instance_id_is_gone(hub: Hub, member: Member) -> None:
    net = make_network(member)
    rt = runtime(hub, settings_for(member))
    event = run_instances_event(ONE_INSTANCE, member, ["i-0123456789abcdef0"], net)

    assert run(event, "ec2-compliance", rt).outcome == "gone"
    assert hub.event_item(event["eventID"])["outcome"] == "gone"


def test_one_gone_instance_does_not_stop_the_others(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net, count=2)
    member.client("ec2").terminate_instances(InstanceIds=ids[:1])
    rt = runtime(hub, settings_for(member))

    assert run(run_instances_event(TWO_INSTANCES, member, ids, net), "ec2-compliance", rt).outcome == "remediated"
    assert instance_tags(member, ids[1]) == REQUIRED
    assert net.admin_group in interface_groups(member, ids[1])[0]


def test_throttled_group_change_is_retried_without_tagging_twice(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net, tags={"Owner": "carol"})
    rt = runtime(hub, settings_for(member))
    ec2 = engine_client(rt, member, "ec2")
    fail_calls(ec2.meta.events, "ec2", "ModifyInstanceAttribute", "RequestLimitExceeded", times=1, status=503)
    calls = write_calls(rt, member)
    event = run_instances_event(ONE_INSTANCE, member, ids, net)

    with pytest.raises(Exception, match="RequestLimitExceeded"):
        run(event, "ec2-compliance", rt)
    claim = hub.event_item(event["eventID"])  # handed over, not released: it carries what was done
    assert (claim["state"], claim["lease_until"]) == ("claimed", 0)
    [carried] = json.loads(claim["carried_actions"])
    assert carried == {"action": "ec2:CreateTags", "params": {"Resources": ids, "Tags": [
        {"Key": "CostCenter", "Value": "unknown"}]}}
    assert instance_tags(member, ids[0]) == {"Owner": "carol", "CostCenter": "unknown"}  # the tag call got through

    retry = run(event, "ec2-compliance", rt)

    assert retry.outcome == "remediated"
    assert len(calls["CreateTags"]) == 1  # the retry decided from live state: the tags were already there
    assert [c["InstanceId"] for c in calls["ModifyInstanceAttribute"]] == ids
    assert interface_groups(member, ids[0]) == {0: sorted([net.app_group, str(net.admin_group)])}
    item = hub.event_item(event["eventID"])
    assert [a["action"] for a in json.loads(item["actions"])] == ["ec2:CreateTags", "ec2:ModifyInstanceAttribute"]
    assert "carried_actions" not in item and item["state"] == "done"
    [mail] = hub.mail()
    assert mail.attributes["outcome"] == "remediated"
    assert "Already done by an earlier attempt" in mail.body and "ec2:CreateTags" in mail.body


def test_duplicate_run_instances_is_handled_once(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net)
    rt = runtime(hub, settings_for(member))
    calls = write_calls(rt, member)
    event = run_instances_event(ONE_INSTANCE, member, ids, net)

    outcomes = [run(event, "ec2-compliance", rt).outcome for _ in range(3)]

    assert outcomes == ["remediated", "skipped:duplicate", "skipped:duplicate"]
    assert [c["Resources"] for c in calls["CreateTags"]] == [ids]
    assert [c["InstanceId"] for c in calls["ModifyInstanceAttribute"]] == ids
    assert len(hub.mail()) == 1


def test_cloudformation_instance_gets_a_drift_hint(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net, tags={"aws:cloudformation:stack-name": "web-stack"})
    rt = runtime(hub, settings_for(member))

    assert run(run_instances_event(ONE_INSTANCE, member, ids, net), "ec2-compliance", rt).outcome == "remediated"

    [mail] = hub.mail()
    assert 'CloudFormation stack "web-stack"' in mail.body and "Drift" in mail.body


def launched_now(payload: dict[str, Any], seconds_ago: float = 5) -> dict[str, Any]:
    """The event as it arrives right after the launch (the samples are years old)."""
    record = payload.get("detail", payload)
    record["eventTime"] = dt.datetime.fromtimestamp(time.time() - seconds_ago, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return payload


def test_a_fresh_instance_ec2_does_not_show_yet_is_retried_not_gone(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net)
    rt = runtime(hub, settings_for(member))
    fail_calls(engine_client(rt, member, "ec2").meta.events, "ec2", "DescribeInstances",
               "InvalidInstanceID.NotFound", times=1)
    event = launched_now(run_instances_event(ONE_INSTANCE, member, ids, net))

    with pytest.raises(NotYetVisible, match=ids[0]) as raised:
        run(event, "ec2-compliance", rt)
    assert is_transient(raised.value)
    assert hub.item(event_key(event["eventID"])) is None  # nothing was done: the claim is released at once

    assert run(event, "ec2-compliance", rt).outcome == "remediated"
    assert instance_tags(member, ids[0]) == REQUIRED


def test_after_the_window_an_instance_ec2_does_not_show_is_gone(hub: Hub, member: Member) -> None:
    net = make_network(member)
    rt = runtime(hub, settings_for(member, {"ec2-compliance": {"fresh_instance_window_seconds": 60}}))
    event = launched_now(run_instances_event(ONE_INSTANCE, member, ["i-0123456789abcdef0"], net), seconds_ago=61)

    assert run(event, "ec2-compliance", rt).outcome == "gone"
    item = hub.event_item(event["eventID"])
    assert item["outcome"] == "gone" and "not found" in item["summary"]


def test_a_write_refused_for_a_fresh_instance_is_retried(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net)
    rt = runtime(hub, settings_for(member))
    fail_calls(engine_client(rt, member, "ec2").meta.events, "ec2", "CreateTags", "InvalidInstanceID.NotFound",
               times=1)
    event = launched_now(run_instances_event(ONE_INSTANCE, member, ids, net))

    with pytest.raises(NotYetVisible, match="CreateTags"):
        run(event, "ec2-compliance", rt)

    assert run(event, "ec2-compliance", rt).outcome == "remediated"
    assert instance_tags(member, ids[0]) == REQUIRED
    assert net.admin_group in interface_groups(member, ids[0])[0]


def test_a_pending_instance_that_refuses_its_groups_is_retried_and_keeps_its_tags(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net)
    rt = runtime(hub, settings_for(member))
    ec2 = engine_client(rt, member, "ec2")

    def still_pending(parsed: dict[str, Any], **_: Any) -> None:
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                instance["State"] = {"Code": 0, "Name": "pending"}

    ec2.meta.events.register("after-call.ec2.DescribeInstances", still_pending)
    fail_calls(ec2.meta.events, "ec2", "ModifyInstanceAttribute", "IncorrectInstanceState", times=1)
    calls = write_calls(rt, member)
    event = launched_now(run_instances_event(ONE_INSTANCE, member, ids, net))

    with pytest.raises(NotYetVisible, match="pending"):
        run(event, "ec2-compliance", rt)
    ec2.meta.events.unregister("after-call.ec2.DescribeInstances", still_pending)

    assert run(event, "ec2-compliance", rt).outcome == "remediated"
    assert len(calls["CreateTags"]) == 1
    item = hub.event_item(event["eventID"])
    assert [a["action"] for a in json.loads(item["actions"])] == ["ec2:CreateTags", "ec2:ModifyInstanceAttribute"]


def test_a_refused_create_tags_is_recorded_per_instance_from_a_re_read(hub: Hub, member: Member) -> None:
    """One CreateTags covers both instances; EC2 refuses it because one was terminated meanwhile. The message
    names no instance: the re-read tells which one is gone, and the other is tagged by a second call."""
    net = make_network(member)
    ids = launch(member, net, count=2)
    rt = runtime(hub, settings_for(member))
    ec2 = engine_client(rt, member, "ec2")
    terminated: list[str] = []

    def terminate_first(**_: Any) -> None:
        if not terminated:
            member.client("ec2").terminate_instances(InstanceIds=ids[:1])
            terminated.append(ids[0])
            raise client_error("InvalidInstanceID.NotFound", "CreateTags")

    ec2.meta.events.register("before-call.ec2.CreateTags", terminate_first)
    calls = write_calls(rt, member)
    event = run_instances_event(TWO_INSTANCES, member, ids, net)  # years old: no fresh window

    processed = run(event, "ec2-compliance", rt)

    assert processed.outcome == "remediated"
    assert [sorted(c["Resources"]) for c in calls["CreateTags"]] == [[ids[1]]]
    assert instance_tags(member, ids[1]) == REQUIRED
    item = hub.event_item(event["eventID"])
    after = json.loads(item["after"])
    assert after[ids[0]]["tags_added"] == {} and after[ids[1]]["tags_added"] == REQUIRED
    assert f"{ids[0]}: gone" in item["summary"] and "terminated" in item["summary"]
    assert f"{ids[1]}: remediated" in item["summary"]
    assert [c["InstanceId"] for c in calls["ModifyInstanceAttribute"]] == [ids[1]]


def test_a_write_refused_for_another_reason_fails_only_its_instances(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net, count=2)
    rt = runtime(hub, settings_for(member))
    ec2 = engine_client(rt, member, "ec2")
    refused: list[str] = []

    def refuse_first(params: dict[str, Any], **_: Any) -> None:
        if params.get("InstanceId") == ids[0]:
            refused.append(ids[0])
            raise client_error("UnauthorizedOperation", "ModifyInstanceAttribute")

    ec2.meta.events.register("before-parameter-build.ec2.ModifyInstanceAttribute", refuse_first)
    event = run_instances_event(TWO_INSTANCES, member, ids, net)

    processed = run(event, "ec2-compliance", rt)

    assert refused and processed.outcome == "failed:UnauthorizedOperation"
    assert all(instance_tags(member, i) == REQUIRED for i in ids)
    assert net.admin_group in interface_groups(member, ids[1])[0]
    assert net.admin_group not in interface_groups(member, ids[0])[0]
    summary = hub.event_item(event["eventID"])["summary"]
    assert f"{ids[0]}: failed:UnauthorizedOperation" in summary and f"{ids[1]}: remediated" in summary


def test_an_instance_at_the_tag_limit_fails_and_the_others_are_fixed(hub: Hub, member: Member) -> None:
    net = make_network(member)
    [full] = launch(member, net, tags={f"team-{i}": "x" for i in range(49)})
    [plain] = launch(member, net)
    rt = runtime(hub, settings_for(member))
    event = run_instances_event(TWO_INSTANCES, member, [full, plain], net)

    processed = run(event, "ec2-compliance", rt)

    assert processed.outcome == "failed:tag-limit"
    assert len(instance_tags(member, full)) == 49
    assert instance_tags(member, plain) == REQUIRED
    assert net.admin_group in interface_groups(member, full)[0]
    [mail] = hub.mail()
    assert f"{full}: failed:tag-limit" in mail.body and "49 tags" in mail.body and "50" in mail.body
