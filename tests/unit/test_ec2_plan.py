"""The EC2 decision (pure): the fewest write calls that add what is missing and never overwrite."""

from __future__ import annotations

from handlers.policies.ec2_compliance import Instance, Interface, overall, parse_instance, plan
from handlers.settings import Ec2Compliance

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
