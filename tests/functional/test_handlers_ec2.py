"""ec2-compliance end to end on moto: real RunInstances records, the hub acting in a member account through
AssumeRole, and the member's instances (tags, security groups per interface) read back afterwards."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from handlers.audit import event_key
from handlers.errors import NotYetVisible, is_transient
from tests.support.events import run_instances_event
from tests.support.handlers import Hub, engine_client, fail_calls, record_calls, run, runtime, settings_for
from tests.support.members import Member, describe_instance, instance_tags, interface_groups, launch, make_network
from tests.support.moto_env import client_error

TWO_INSTANCES = "records/custodian__RunInstances__3.json"  # Root via Auto Scaling, launches 2 instances
WITH_TAG_SPEC = "records/ctwatcher__RunInstances__1.json"  # IAM user, tagSpecificationSet Name=test
ONE_INSTANCE = "records/spotlight__RunInstances__1.json"
REQUIRED = {"Owner": "unassigned", "CostCenter": "unknown"}


def write_calls(rt: Any, member: Member) -> dict[str, list[dict[str, Any]]]:
    ec2 = engine_client(rt, member, "ec2")
    return {op: record_calls(ec2, op) for op in ("CreateTags", "ModifyInstanceAttribute",
                                                 "ModifyNetworkInterfaceAttribute")}


def test_instances_get_missing_tags_and_the_admin_group_keeping_what_is_there(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net, count=2, tags={"Owner": "alice", "Name": "web"})
    rt = runtime(hub, settings_for(member))
    calls = write_calls(rt, member)
    event = run_instances_event(TWO_INSTANCES, member, ids, net)

    processed = run(event, "ec2-compliance", rt)

    assert processed.outcome == "remediated"
    for instance_id in ids:
        assert instance_tags(member, instance_id) == {"Owner": "alice", "Name": "web", "CostCenter": "unknown"}
        assert interface_groups(member, instance_id) == {0: sorted([net.app_group, str(net.admin_group)])}
    [create_tags] = calls["CreateTags"]  # both instances lack the same tags: one call for both
    assert sorted(create_tags["Resources"]) == sorted(ids)
    assert create_tags["Tags"] == [{"Key": "CostCenter", "Value": "unknown"}]
    assert sorted(c["InstanceId"] for c in calls["ModifyInstanceAttribute"]) == sorted(ids)
    assert all(c["Groups"] == [net.app_group, net.admin_group] for c in calls["ModifyInstanceAttribute"])
    assert calls["ModifyNetworkInterfaceAttribute"] == []
    item = hub.event_item(event["eventID"])
    assert (item["outcome"], item["account"], item["region"]) == ("remediated", member.account, member.region)
    assert item["actor"] == f"arn:aws:iam::{member.account}:root"
    assert all(i in item["resource"] for i in ids)
    before, after = json.loads(item["before"]), json.loads(item["after"])
    assert all(before[i] == {"groups": [net.app_group], "missing_tags": ["CostCenter"]} for i in ids)
    assert all(after[i] == {"groups": [net.app_group, net.admin_group], "tags_added": {"CostCenter": "unknown"}}
               for i in ids)
    [mail] = hub.mail()
    assert mail.attributes == {"account": member.account, "policy": "ec2-compliance", "outcome": "remediated",
                               "severity": "medium"}
    assert len(mail.subject) <= 100 and mail.subject.isascii() and " ROOT " in mail.subject  # root use is flagged
    for text in [*ids, "CostCenter=unknown", f"Admin group: {net.admin_group} in {net.vpc_id}", member.account,
                 member.region, "Who:      the root user", f"ARN:      arn:aws:iam::{member.account}:root"]:
        assert text in mail.body, text


def test_tags_from_the_launch_request_are_kept(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net, count=2, tags={"Name": "test"})
    rt = runtime(hub, settings_for(member))

    assert run(run_instances_event(WITH_TAG_SPEC, member, ids, net), "ec2-compliance", rt).outcome == "remediated"

    for instance_id in ids:
        assert instance_tags(member, instance_id) == {"Name": "test", **REQUIRED}


def test_instances_missing_different_tags_get_one_call_per_distinct_set(hub: Hub, member: Member) -> None:
    net = make_network(member)
    tagged = launch(member, net, tags={"Owner": "bob"})
    bare = launch(member, net, count=2)
    rt = runtime(hub, settings_for(member))
    calls = write_calls(rt, member)

    processed = run(run_instances_event(TWO_INSTANCES, member, tagged + bare, net), "ec2-compliance", rt)

    assert processed.outcome == "remediated"
    assert instance_tags(member, tagged[0]) == {"Owner": "bob", "CostCenter": "unknown"}
    assert all(instance_tags(member, i) == REQUIRED for i in bare)
    by_resources = {tuple(sorted(c["Resources"])): c["Tags"] for c in calls["CreateTags"]}
    assert by_resources == {
        (tagged[0],): [{"Key": "CostCenter", "Value": "unknown"}],
        tuple(sorted(bare)): [{"Key": "CostCenter", "Value": "unknown"}, {"Key": "Owner", "Value": "unassigned"}],
    }


def test_multi_interface_instance_changes_its_primary_interface(hub: Hub, member: Member) -> None:
    net = make_network(member)
    [instance_id] = launch(member, net, interfaces=2)
    rt = runtime(hub, settings_for(member))
    calls = write_calls(rt, member)

    event = run_instances_event(ONE_INSTANCE, member, [instance_id], net)
    processed = run(event, "ec2-compliance", rt)

    assert processed.outcome == "remediated"
    groups = interface_groups(member, instance_id)
    assert groups == {0: sorted([net.app_group, str(net.admin_group)]), 1: [net.app_group]}
    assert calls["ModifyInstanceAttribute"] == []
    [modify] = calls["ModifyNetworkInterfaceAttribute"]
    assert modify["Groups"] == [net.app_group, net.admin_group]
    summary = hub.event_item(event["eventID"])["summary"]
    assert f"added admin group to primary interface {modify['NetworkInterfaceId']}" in summary


def test_an_interface_attached_after_the_read_moves_the_group_change_to_the_primary_interface(
        hub: Hub, member: Member) -> None:
    net = make_network(member)
    [instance_id] = launch(member, net)
    rt = runtime(hub, settings_for(member))
    ec2 = engine_client(rt, member, "ec2")
    attached: list[str] = []

    def attach_second_interface(**_: Any) -> None:  # as EKS's VPC CNI does right after a launch
        if not attached:
            own = member.client("ec2")
            eni = own.create_network_interface(SubnetId=net.subnet_id, Groups=[net.app_group])["NetworkInterface"]
            own.attach_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=instance_id,
                                         DeviceIndex=1)
            attached.append(eni["NetworkInterfaceId"])

    ec2.meta.events.register("before-call.ec2.ModifyInstanceAttribute", attach_second_interface)
    # What EC2 answers then (moto accepts it): code InvalidInstanceID, "There are multiple interfaces attached ..."
    fail_calls(ec2.meta.events, "ec2", "ModifyInstanceAttribute", "InvalidInstanceID", times=1)
    calls = write_calls(rt, member)

    event = run_instances_event(ONE_INSTANCE, member, [instance_id], net)

    assert run(event, "ec2-compliance", rt).outcome == "remediated"
    assert calls["ModifyInstanceAttribute"] == []
    [modify] = calls["ModifyNetworkInterfaceAttribute"]
    primary = describe_instance(member, instance_id)["NetworkInterfaces"]
    assert modify["NetworkInterfaceId"] == next(i["NetworkInterfaceId"] for i in primary
                                                if i["Attachment"]["DeviceIndex"] == 0)
    assert modify["Groups"] == [net.app_group, net.admin_group]
    assert interface_groups(member, instance_id) == {0: sorted([net.app_group, str(net.admin_group)]),
                                                     1: [net.app_group]}
    assert f"the group goes on the primary interface {modify['NetworkInterfaceId']}" in \
        hub.event_item(event["eventID"])["summary"]


def test_compliant_instance_is_not_written_to(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net, groups=[net.app_group, str(net.admin_group)], tags={"Owner": "a", "CostCenter": "b"})
    rt = runtime(hub, settings_for(member))
    calls = write_calls(rt, member)
    event = run_instances_event(ONE_INSTANCE, member, ids, net)

    assert run(event, "ec2-compliance", rt).outcome == "compliant"
    assert calls == {"CreateTags": [], "ModifyInstanceAttribute": [], "ModifyNetworkInterfaceAttribute": []}
    assert instance_tags(member, ids[0]) == {"Owner": "a", "CostCenter": "b"}
    assert hub.event_item(event["eventID"])["outcome"] == "compliant"
    assert hub.mail() == []


def test_report_mode_changes_nothing(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net)
    rt = runtime(hub, settings_for(member, {"ec2-compliance": {"mode": "report"}}))
    event = run_instances_event(ONE_INSTANCE, member, ids, net)

    processed = run(event, "ec2-compliance", rt)

    assert (processed.outcome, processed.actions) == ("reported", [])
    assert instance_tags(member, ids[0]) == {}
    assert interface_groups(member, ids[0]) == {0: [net.app_group]}
    item = hub.event_item(event["eventID"])
    assert item["outcome"] == "reported" and "ec2:CreateTags" not in item["actions"]
    [mail] = hub.mail()
    assert mail.attributes["outcome"] == "reported" and "report mode" in mail.body


def test_off_mode_skips(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ids = launch(member, net)
    rt = runtime(hub, settings_for(member, {"ec2-compliance": {"mode": "off"}}))

    assert run(run_instances_event(ONE_INSTANCE, member, ids, net), "ec2-compliance", rt).outcome == \
        "skipped:policy-off"
    assert rt.members.assume_calls == 0
    assert instance_tags(member, ids[0]) == {}
    assert hub.mail() == []


@pytest.mark.parametrize(("tags", "outcome"), [
    ({"orgguard:exempt": "ec2-compliance"}, "exempt"),
    ({"orgguard:exempt": "all", "orgguard:exempt-until": "2999-12-31"}, "exempt"),
    ({"orgguard:exempt": "all", "orgguard:exempt-until": "2020-01-01"}, "remediated"),
    ({"orgguard:exempt": "all", "orgguard:exempt-until": "someday"}, "remediated"),
    ({"orgguard:exempt": "s3-encryption"}, "remediated"),
])
def test_exemption_tag(hub: Hub, member: Member, tags: dict[str, str], outcome: str) -> None:
    net = make_network(member)
    ids = launch(member, net, tags=tags)
    rt = runtime(hub, settings_for(member))

    assert run(run_instances_event(ONE_INSTANCE, member, ids, net), "ec2-compliance", rt).outcome == outcome

    if outcome == "exempt":
        assert instance_tags(member, ids[0]) == tags
        assert interface_groups(member, ids[0]) == {0: [net.app_group]}
    else:
        assert instance_tags(member, ids[0]) == {**tags, **REQUIRED}
        assert net.admin_group in interface_groups(member, ids[0])[0]


def test_vpc_without_admin_group_fails_but_still_tags_and_notifies(hub: Hub, member: Member) -> None:
    net = make_network(member, admin_group=False)
    ids = launch(member, net)
    rt = runtime(hub, settings_for(member))
    event = run_instances_event(ONE_INSTANCE, member, ids, net)

    processed = run(event, "ec2-compliance", rt)

    assert processed.outcome == "failed:no-admin-group"
    assert instance_tags(member, ids[0]) == REQUIRED
    assert interface_groups(member, ids[0]) == {0: [net.app_group]}
    item = hub.event_item(event["eventID"])
    assert (item["outcome"], item["severity"], item["state"]) == ("failed:no-admin-group", "high", "done")
    [mail] = hub.mail()
    assert mail.attributes["outcome"] == "failed:no-admin-group" and mail.attributes["severity"] == "high"
    assert net.vpc_id in mail.body


def test_interface_already_full_of_groups_is_not_changed(hub: Hub, member: Member) -> None:
    net = make_network(member)
    ec2 = member.client("ec2")
    five = [ec2.create_security_group(GroupName=f"g{i}", Description="g", VpcId=net.vpc_id)["GroupId"]
            for i in range(5)]
    ids = launch(member, net, groups=five)
    rt = runtime(hub, settings_for(member))

    processed = run(run_instances_event(ONE_INSTANCE, member, ids, net), "ec2-compliance", rt)

    assert processed.outcome == "failed:too-many-groups"
    assert interface_groups(member, ids[0]) == {0: sorted(five)}
    assert instance_tags(member, ids[0]) == REQUIRED


@pytest.mark.parametrize("finder", ["tag", "ids"])
def test_admin_group_found_by_tag_or_explicit_id(hub: Hub, member: Member, finder: str) -> None:
    net = make_network(member, admin_group=False)
    ec2 = member.client("ec2")
    admin = ec2.create_security_group(
        GroupName="ops-access", Description="ops", VpcId=net.vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "Role", "Value": "admin"}]}])["GroupId"]
    spec = ({"tag": {"Role": "admin"}} if finder == "tag" else
            {"ids": {f"{member.account}/{member.region}/{net.vpc_id}": admin}})
    ids = launch(member, net)
    rt = runtime(hub, settings_for(member, {"ec2-compliance": {"admin_security_group": spec}}))

    assert run(run_instances_event(ONE_INSTANCE, member, ids, net), "ec2-compliance", rt).outcome == "remediated"
    assert interface_groups(member, ids[0]) == {0: sorted([net.app_group, admin])}


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
