"""ec2-compliance end to end on moto, what an instance ends up with: missing tags and the admin group added
while what is there is kept (one call per distinct tag set, the primary interface's groups changed), compliant
instances left alone, report and off modes, exemptions, a VPC without the admin group, a full interface, and the
admin group found by tag or id; the member's instances are read back afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.ec2_compliance import ONE_INSTANCE, REQUIRED, TWO_INSTANCES, WITH_TAG_SPEC, write_calls
from tests.support.events import run_instances_event
from tests.support.handlers import Hub, engine_client, fail_calls, run, runtime, settings_for
from tests.support.members import Member, describe_instance, instance_tags, interface_groups, launch, make_network


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
