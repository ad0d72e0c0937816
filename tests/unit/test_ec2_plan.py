"""The EC2 decision (pure): the fewest write calls that add what is missing and never overwrite."""

from __future__ import annotations

import datetime as dt

from handlers.guardrails.ec2_compliance.instances import Instance, Interface, event_age, parse_instance
from handlers.guardrails.ec2_compliance.plan import Step, overall, plan
from handlers.guardrails.ec2_compliance.settings import Ec2Compliance
from handlers.guardrails.ec2_compliance.writer import judge_refused_write
from handlers.outcome import Action

STANDARD = Ec2Compliance()  # Owner=unassigned, CostCenter=unknown; group "administrators"; at most 5 groups
VPC, ADMIN = "vpc-0aaa1111", "sg-0admin000"
OWNER_TAG = {"Key": "Owner", "Value": "unassigned"}
COST_TAG = {"Key": "CostCenter", "Value": "unknown"}


def instance(instance_id: str, tags: dict[str, str] | None = None, groups: tuple[str, ...] = ("sg-0app00000",),
             interfaces: int = 1, state: str = "running", vpc: str = VPC) -> Instance:
    enis = tuple(Interface(f"eni-{instance_id[2:]}{i}", i, groups if i == 0 else ("sg-0other000",))
                 for i in range(interfaces))
    return Instance(instance_id, state, vpc, dict(tags or {}), enis, groups)


def make_plan(*instances: Instance, ids: list[str] | None = None, admin: str | None = ADMIN,
              exemptions: dict[str, str | None] | None = None, standard: Ec2Compliance = STANDARD):
    by_id = {i.instance_id: i for i in instances}
    return plan(by_id, ids if ids is not None else list(by_id), standard, {VPC: admin}, exemptions or {})


def test_only_missing_tags_are_added_and_values_are_never_overwritten() -> None:
    result = make_plan(instance("i-1", {"Owner": "alice", "Name": "web"}))
    [item] = result.instances
    assert item.tags_to_add == {"CostCenter": "unknown"}
    [create_tags] = [a for a in result.actions if a.action == "ec2:CreateTags"]
    assert create_tags.params == {"Resources": ["i-1"], "Tags": [COST_TAG]}
    assert all(t["Key"] != "Owner" for a in result.actions for t in a.params.get("Tags", []))


def test_an_empty_value_set_by_the_user_is_kept() -> None:
    result = make_plan(instance("i-1", {"Owner": "", "CostCenter": ""}, groups=("sg-0app00000", ADMIN)))
    assert result.actions == [] and result.instances[0].status == "compliant"


def test_instances_sharing_their_missing_tags_get_one_call() -> None:
    result = make_plan(instance("i-1"), instance("i-2"), instance("i-3"))
    tag_calls = [a for a in result.actions if a.action == "ec2:CreateTags"]
    assert len(tag_calls) == 1
    assert tag_calls[0].params["Resources"] == ["i-1", "i-2", "i-3"]
    assert sorted(tag_calls[0].params["Tags"], key=lambda t: t["Key"]) == [COST_TAG, OWNER_TAG]


def test_one_call_per_distinct_missing_set() -> None:
    result = make_plan(instance("i-1"), instance("i-2", {"Owner": "bob"}), instance("i-3"),
                       instance("i-4", {"Owner": "carol", "CostCenter": "42"}))
    calls = {tuple(a.params["Resources"]): a.params["Tags"] for a in result.actions if a.action == "ec2:CreateTags"}
    assert set(calls) == {("i-1", "i-3"), ("i-2",)}
    assert calls[("i-2",)] == [COST_TAG]
    assert sorted(calls[("i-1", "i-3")], key=lambda t: t["Key"]) == [COST_TAG, OWNER_TAG]


def test_groups_are_existing_plus_admin_in_order() -> None:
    result = make_plan(instance("i-1", groups=("sg-0b0000000", "sg-0a0000000")))
    [modify] = [a for a in result.actions if a.action == "ec2:ModifyInstanceAttribute"]
    assert modify.params == {"InstanceId": "i-1", "Groups": ["sg-0b0000000", "sg-0a0000000", ADMIN]}
    assert result.instances[0].groups_before == ["sg-0b0000000", "sg-0a0000000"]
    assert result.instances[0].groups_after == ["sg-0b0000000", "sg-0a0000000", ADMIN]


def test_instance_already_in_the_admin_group_is_not_modified() -> None:
    result = make_plan(instance("i-1", groups=(ADMIN,)))
    assert not [a for a in result.actions if a.action.startswith("ec2:Modify")]


def test_multi_interface_instance_changes_the_primary_interface() -> None:
    result = make_plan(instance("i-1", interfaces=3))
    [modify] = [a for a in result.actions if a.action.startswith("ec2:Modify")]
    assert modify.action == "ec2:ModifyNetworkInterfaceAttribute"
    assert modify.params == {"NetworkInterfaceId": "eni-10", "Groups": ["sg-0app00000", ADMIN]}


def test_write_calls_come_tags_first_then_groups() -> None:
    result = make_plan(instance("i-1"), instance("i-2"))
    assert [a.action for a in result.actions] == ["ec2:CreateTags", "ec2:ModifyInstanceAttribute",
                                                  "ec2:ModifyInstanceAttribute"]


def test_too_many_groups_fails_without_touching_groups_but_still_tags() -> None:
    five = tuple(f"sg-0{i}00000000" for i in range(5))
    result = make_plan(instance("i-1", groups=five))
    [item] = result.instances
    assert item.status == "failed:too-many-groups" and "5" in item.note
    assert item.groups_after == list(five)
    assert [a.action for a in result.actions] == ["ec2:CreateTags"]
    limit_six = Ec2Compliance(max_groups_per_interface=6)
    assert make_plan(instance("i-1", groups=five), standard=limit_six).instances[0].status == "remediated"


def test_vpc_without_admin_group_fails_but_still_tags() -> None:
    result = make_plan(instance("i-1"), admin=None)
    [item] = result.instances
    assert item.status == "failed:no-admin-group" and VPC in item.note
    assert [a.action for a in result.actions] == ["ec2:CreateTags"]
    assert overall(result.instances, enforcing=True) == "failed:no-admin-group"


def test_gone_and_terminated_instances() -> None:
    result = make_plan(instance("i-2", state="terminated"), instance("i-3", state="shutting-down"),
                       ids=["i-1", "i-2", "i-3"])
    assert [p.status for p in result.instances] == ["gone", "gone", "gone"]
    assert result.actions == []
    assert overall(result.instances, enforcing=True) == "gone"
    mixed = make_plan(instance("i-2"), ids=["i-1", "i-2"])
    assert [p.status for p in mixed.instances] == ["gone", "remediated"]
    assert overall(mixed.instances, enforcing=True) == "remediated"


def test_exempt_instance_gets_nothing() -> None:
    result = make_plan(instance("i-1"), instance("i-2"), exemptions={"i-1": "tag orgguard:exempt=all", "i-2": None})
    assert [p.status for p in result.instances] == ["exempt", "remediated"]
    assert all("i-1" not in str(a.params) for a in result.actions)
    assert overall(result.instances[:1], enforcing=True) == "exempt"


def test_overall_outcome() -> None:
    compliant = make_plan(instance("i-1", {"Owner": "a", "CostCenter": "b"}, groups=(ADMIN,)))
    assert overall(compliant.instances, enforcing=True) == "compliant"
    needs_work = make_plan(instance("i-1"))
    assert overall(needs_work.instances, enforcing=True) == "remediated"
    assert overall(needs_work.instances, enforcing=False) == "reported"


def test_stack_name_is_kept_for_the_drift_hint() -> None:
    result = make_plan(instance("i-1", {"aws:cloudformation:stack-name": "web"}))
    assert result.instances[0].stack_name == "web"


def test_parse_instance_reads_interfaces_and_tags() -> None:
    raw = {"InstanceId": "i-1", "State": {"Name": "running"}, "VpcId": VPC,
           "Tags": [{"Key": "Owner", "Value": "x"}],
           "SecurityGroups": [{"GroupId": "sg-0a"}],
           "NetworkInterfaces": [
               {"NetworkInterfaceId": "eni-b", "Attachment": {"DeviceIndex": 1}, "Groups": [{"GroupId": "sg-0b"}]},
               {"NetworkInterfaceId": "eni-a", "Attachment": {"DeviceIndex": 0}, "Groups": [{"GroupId": "sg-0a"}]}]}
    parsed = parse_instance(raw)
    assert parsed.tags == {"Owner": "x"} and parsed.primary_groups == ("sg-0a",)
    assert [i.eni_id for i in parsed.interfaces] == ["eni-b", "eni-a"]
    bare = parse_instance({"InstanceId": "i-2", "SecurityGroups": [{"GroupId": "sg-0c"}]})
    assert bare.primary_groups == ("sg-0c",) and bare.state == "" and bare.tags == {}


def test_the_primary_interface_is_network_card_0_device_index_0() -> None:
    """An instance with two network cards has a device index 0 on each: the primary is the one on card 0."""
    raw = {"InstanceId": "i-1", "State": {"Name": "running"}, "VpcId": VPC, "SecurityGroups": [],
           "NetworkInterfaces": [
               {"NetworkInterfaceId": "eni-card1", "Groups": [{"GroupId": "sg-0card1000"}],
                "Attachment": {"DeviceIndex": 0, "NetworkCardIndex": 1}},
               {"NetworkInterfaceId": "eni-card0-dev1", "Groups": [{"GroupId": "sg-0dev10000"}],
                "Attachment": {"DeviceIndex": 1, "NetworkCardIndex": 0}},
               {"NetworkInterfaceId": "eni-card0", "Groups": [{"GroupId": "sg-0app00000"}],
                "Attachment": {"DeviceIndex": 0, "NetworkCardIndex": 0}}]}
    parsed = parse_instance(raw)
    assert parsed.primary_interface is not None and parsed.primary_interface.eni_id == "eni-card0"
    assert parsed.primary_groups == ("sg-0app00000",)

    result = make_plan(parsed)

    [modify] = [a for a in result.actions if a.action.startswith("ec2:Modify")]
    assert modify.action == "ec2:ModifyNetworkInterfaceAttribute"
    assert modify.params == {"NetworkInterfaceId": "eni-card0", "Groups": ["sg-0app00000", ADMIN]}
    assert result.instances[0].groups_before == ["sg-0app00000"]


def test_network_card_index_defaults_to_0() -> None:
    raw = {"InstanceId": "i-1", "NetworkInterfaces": [
        {"NetworkInterfaceId": "eni-1", "Attachment": {"DeviceIndex": 1}, "Groups": []},
        {"NetworkInterfaceId": "eni-0", "Attachment": {"DeviceIndex": 0}, "Groups": [{"GroupId": "sg-0a"}]}]}
    assert parse_instance(raw).primary_interface == Interface("eni-0", 0, ("sg-0a",), 0)


def test_several_interfaces_without_a_primary_one_fail_without_a_group_change() -> None:
    odd = Instance("i-1", "running", VPC, {}, (Interface("eni-a", 1, ("sg-0a",)), Interface("eni-b", 0, ("sg-0b",), 1)),
                   ("sg-0a",))
    result = make_plan(odd)
    assert result.instances[0].status == "failed:no-primary-interface"
    assert [a.action for a in result.actions] == ["ec2:CreateTags"]


def test_an_instance_that_would_exceed_50_tags_fails_and_the_others_proceed() -> None:
    full = {f"k{i}": "v" for i in range(49)}  # 49 + the 2 missing required tags > 50
    near = {f"k{i}": "v" for i in range(48)}  # 48 + 2 = 50: allowed
    reserved = {**{f"k{i}": "v" for i in range(48)}, "aws:cloudformation:stack-name": "s",
                "aws:autoscaling:groupName": "g"}  # aws: tags do not count

    result = make_plan(instance("i-1", full), instance("i-2", near), instance("i-3", reserved), instance("i-4"))

    by_id = {p.instance_id: p for p in result.instances}
    assert by_id["i-1"].status == "failed:tag-limit"
    assert "49 tags" in by_id["i-1"].note and "2 required" in by_id["i-1"].note and "50" in by_id["i-1"].note
    assert by_id["i-1"].tags_to_add == {} and by_id["i-1"].missing_tags == ["CostCenter", "Owner"]
    assert [by_id[i].status for i in ("i-2", "i-3", "i-4")] == ["remediated"] * 3
    [create_tags] = [a for a in result.actions if a.action == "ec2:CreateTags"]
    assert sorted(create_tags.params["Resources"]) == ["i-2", "i-3", "i-4"]
    # the admin group is still added to the instance whose tags could not be
    assert {"InstanceId": "i-1", "Groups": ["sg-0app00000", ADMIN]} in [a.params for a in result.actions]
    assert overall(result.instances, enforcing=True) == "failed:tag-limit"


TAGS_STEP = Step(Action("ec2:CreateTags", {"Resources": ["i-1", "i-2", "i-3"], "Tags": [OWNER_TAG]}),
                 ("i-1", "i-2", "i-3"), "tags")


def test_a_refused_write_is_attributed_by_the_re_read_not_by_the_message() -> None:
    live = {"i-2": instance("i-2", state="terminated"), "i-3": instance("i-3")}
    verdicts = judge_refused_write(TAGS_STEP, ["i-1", "i-2", "i-3"], live, "InvalidInstanceID.NotFound",
                                   fresh=False)
    assert {i: v.kind for i, v in verdicts.items()} == {"i-1": "gone", "i-2": "gone", "i-3": "again"}
    assert "terminated" in verdicts["i-2"].note


def test_a_refused_write_within_the_window_is_retried_later() -> None:
    live = {"i-2": instance("i-2"), "i-3": instance("i-3")}
    verdicts = judge_refused_write(TAGS_STEP, ["i-1", "i-2", "i-3"], live, "InvalidInstanceID.NotFound",
                                   fresh=True)
    assert verdicts["i-1"].kind == "retry-later"
    pending = judge_refused_write(Step(Action("ec2:ModifyInstanceAttribute", {"InstanceId": "i-1",
                                                                               "Groups": [ADMIN]}), ("i-1",),
                                       "groups"),
                                  ["i-1"], {"i-1": instance("i-1", state="pending")}, "IncorrectInstanceState",
                                  fresh=True)
    assert pending["i-1"].kind == "retry-later"
    late = judge_refused_write(Step(Action("ec2:ModifyInstanceAttribute", {"InstanceId": "i-1", "Groups": [ADMIN]}),
                                    ("i-1",), "groups"),
                               ["i-1"], {"i-1": instance("i-1", state="pending")}, "IncorrectInstanceState",
                               fresh=False)
    assert late["i-1"].kind == "failed"


def test_a_refusal_no_instance_explains_fails_each_or_waits() -> None:
    live = {i: instance(i) for i in ("i-1", "i-2", "i-3")}
    after = judge_refused_write(TAGS_STEP, ["i-1", "i-2", "i-3"], live, "InvalidInstanceID.NotFound", fresh=False)
    assert {v.kind for v in after.values()} == {"failed"}
    within = judge_refused_write(TAGS_STEP, ["i-1", "i-2", "i-3"], live, "InvalidInstanceID.NotFound", fresh=True)
    assert {v.kind for v in within.values()} == {"retry-later"}


def test_a_refused_write_whose_effect_is_there_is_in_place() -> None:
    live = {"i-1": instance("i-1", {"Owner": "alice"}), "i-2": instance("i-2", state="shutting-down")}
    verdicts = judge_refused_write(TAGS_STEP, ["i-1", "i-2"], live, "InvalidInstanceID.NotFound", fresh=False)
    assert {i: v.kind for i, v in verdicts.items()} == {"i-1": "in-place", "i-2": "gone"}


def test_event_age() -> None:
    launch = dt.datetime(2030, 1, 15, 3, 0, tzinfo=dt.UTC).timestamp()
    assert event_age("2030-01-15T03:00:00Z", launch + 42) == 42
    assert event_age("2030-01-15T03:00:00.500Z", launch + 42) == 41.5
    assert event_age("2030-01-15T03:00:00", launch) == 0
    assert event_age("yesterday", launch) is None
