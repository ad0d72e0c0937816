"""`orgguard replay` rebuilds the account as the call left it, and says what it could not rebuild: the governed
regions, and instances (their tags from the response's tagSet, their network interfaces, what a launch cannot
show). Buckets: test_replay_fidelity_buckets.py.

Each test replays an event with ``Replayer`` inside the embedded AWS and then reads the replayed member
account. Real samples from ``../shared/cloudtrail-samples`` are used where one shows the case; where none
does, the record is authored from AWS's documented shape, and the test says so.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.replayed import ADMIN, DEFAULTS, governing, replayed, sample

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]


# --- 1. governed regions -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["panther__RunInstances__1.json", "spotlight__CreateVpc__1.json",
                                  "ctwatcher__CreateBucket__1.json"])
def test_an_event_outside_the_governed_regions_is_not_forwarded(name: str) -> None:
    event = sample(name)  # real: us-west-2, ap-northeast-1, ap-northeast-2; the defaults govern neither
    assert event["awsRegion"] not in DEFAULTS.organization.regions
    with replayed(event, DEFAULTS) as member:
        record = member.replayed.record
        assert member.instances() == [] and member.s3.list_buckets()["Buckets"] == []  # nothing was built
    assert (record["forwarded"], record["policy"], record["outcome"]) == (False, None, "ignored")
    assert record["actions"] == [] and record["notified"] is False
    assert record["note"].startswith(f"not forwarded: no spoke in {event['awsRegion']}")
    assert member.replayed.notification is None


def test_the_same_event_in_a_governed_region_is_forwarded() -> None:
    event = sample("panther__RunInstances__1.json")
    record = None
    with replayed(event, governing("us-east-1", event["awsRegion"])) as member:
        record = member.replayed.record
    assert (record["forwarded"], record["policy"], record["outcome"]) == (True, "ec2-compliance", "remediated")


# --- 2. instance tags from the response's tagSet -----------------------------------------------------

def test_instance_tags_come_from_the_response_tag_set_too() -> None:
    # Real: an EKS node group launched from a launch template; the request has no tagSpecificationSet,
    # the response's tagSet shows Name, eks:* and aws:* tags the template and the services added.
    event = sample("panther__RunInstances__1.json")
    assert "tagSpecificationSet" not in event["requestParameters"]
    settings = governing(event["awsRegion"], ec2_compliance={
        "required_tags": {"Name": "unnamed", "eks:cluster-name": "none", "Owner": "unassigned"}})
    with replayed(event, settings) as member:
        (instance,) = member.instances()
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        (create_tags,) = member.actions("ec2:CreateTags")
    assert tags["Name"] == "k8s-goat-cluster-ng-0ca246e9-Node"  # the user's value, never overwritten
    assert tags["eks:cluster-name"] == "k8s-goat-cluster"
    assert tags["aws:ec2launchtemplate:id"] == "lt-07a0b5cea4ece8ffd"  # set by AWS, kept as the instance has it
    assert "launch template lt-07a0b5cea4ece8ffd" in member.note  # named by that tag, not by the request
    assert create_tags["Tags"] == [{"Key": "Owner", "Value": "unassigned"}]  # only what the instance lacked
    assert tags["Owner"] == "unassigned"


def test_the_response_tag_set_decides_an_exemption() -> None:
    # Authored from the real ctwatcher__RunInstances__2.json: its tagSet gains the exemption tag (as a
    # launch template would add it), which the request's tagSpecificationSet does not show.
    event = copy.deepcopy(sample("ctwatcher__RunInstances__2.json"))
    event["recipientAccountId"] = "555555555555"
    event["userIdentity"]["accountId"] = "555555555555"
    (item,) = event["responseElements"]["instancesSet"]["items"]
    item["tagSet"]["items"].append({"key": "orgguard:exempt", "value": "ec2-compliance"})
    with replayed(event, governing(event["awsRegion"])) as member:
        record = member.replayed.record
    assert (record["outcome"], record["actions"]) == ("exempt", [])


# --- 3. network interfaces ---------------------------------------------------------------------------

def two_interface_launch(card: int, device: int) -> dict[str, Any]:
    """Authored from the real panther__RunInstances__1.json (one interface): a second interface is added
    in the shape AWS documents for RunInstances' networkInterfaceSet (its own subnet and group, at
    ``device`` on network ``card``), as a node with a pod network interface has."""
    event = copy.deepcopy(sample("panther__RunInstances__1.json"))
    (item,) = event["responseElements"]["instancesSet"]["items"]
    (primary,) = item["networkInterfaceSet"]["items"]
    second = copy.deepcopy(primary)
    second.update({"networkInterfaceId": "eni-0second000000000", "subnetId": "subnet-0pods0000000000",
                   "groupSet": {"items": [{"groupId": "sg-0pods0000000000", "groupName": "eks-pods"}]}})
    second["attachment"].update({"deviceIndex": device, "networkCardIndex": card,
                                 "attachmentId": "eni-attach-0second00000000"})
    item["networkInterfaceSet"]["items"].append(second)
    return event


@pytest.mark.parametrize(("card", "device"), [(0, 1), (1, 0)])
def test_an_instance_launched_with_two_interfaces_is_fixed_on_its_primary_interface(card: int, device: int) -> None:
    event = two_interface_launch(card, device)
    with replayed(event, governing(event["awsRegion"])) as member:
        (instance,) = member.instances()
        names = member.group_names()
        interfaces = {i["Attachment"]["DeviceIndex"]: i for i in instance["NetworkInterfaces"]}
        (modify,) = member.actions("ec2:ModifyNetworkInterfaceAttribute")
        assert member.actions("ec2:ModifyInstanceAttribute") == []
    assert sorted(interfaces) == [0, 1]
    primary, second = interfaces[0], interfaces[1]
    assert modify["NetworkInterfaceId"] == primary["NetworkInterfaceId"]
    assert sorted(names[g["GroupId"]] for g in primary["Groups"]) == sorted(
        ["eks-cluster-sg-k8s-goat-cluster-816437967", ADMIN])
    assert [names[g["GroupId"]] for g in second["Groups"]] == ["eks-pods"]  # untouched
    assert primary["SubnetId"] != second["SubnetId"]
    assert primary["VpcId"] == second["VpcId"] == instance["VpcId"]
    assert f"eni-03ac9043f76fab96c -> {primary['NetworkInterfaceId']}" in member.note
    assert f"eni-0second000000000 -> {second['NetworkInterfaceId']}" in member.note
    assert f"subnet-0pods0000000000 -> {second['SubnetId']}" in member.note
    assert "sg-0pods0000000000 -> " in member.note


def test_a_single_interface_instance_is_built_in_the_event_subnet_and_groups() -> None:
    # Real: one interface, its group on the interface and on the instance, its subnet on both.
    event = sample("spotlight__RunInstances__1.json")
    with replayed(event, governing(event["awsRegion"])) as member:
        (instance,) = member.instances()
        names = member.group_names()
        (modify,) = member.actions("ec2:ModifyInstanceAttribute")
    (interface,) = instance["NetworkInterfaces"]
    assert sorted(names[g["GroupId"]] for g in interface["Groups"]) == sorted(["onecloud-allow-oracle-sli", ADMIN])
    assert modify["InstanceId"] == instance["InstanceId"]
    assert f"subnet-0681d2c492225dea3 -> {instance['SubnetId']}" in member.note
    assert f"eni-075c0be5f383b8fd4 -> {interface['NetworkInterfaceId']}" in member.note


# --- 4. what a launch cannot show is said ---------------------------------------------------------------

def test_what_a_launch_cannot_show_is_said() -> None:
    # Authored from the real panther__RunInstances__3.json: its request gains a launch template (in the
    # shape of the real panther__RunInstances__4.json request) and tags for the volume.
    event = copy.deepcopy(sample("panther__RunInstances__3.json"))
    request = event["requestParameters"]
    request["launchTemplate"] = {"launchTemplateId": "lt-0abc1234def567890", "version": "3"}
    request["tagSpecificationSet"]["items"].append(
        {"resourceType": "volume", "tags": [{"key": "Backup", "value": "daily"}]})
    with replayed(event, governing("us-east-1")) as member:
        note = member.note
    assert "not rebuilt: " in note
    for said in ("launch template lt-0abc1234def567890", "the tags of volume", "security groups' rules",
                 "interfaces attached after the launch", "private addresses", "key pair"):
        assert said in note
    assert "the admin group was created in" in note
