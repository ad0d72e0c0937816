"""The embedded AWS behaves as EC2 does where moto does not (sandbox/aws/ec2_consistency.py, ec2_interfaces.py):
new instances are not found by their first read, then pending, then running; an instance with several network
interfaces refuses instance-level group changes. With the parts off, moto's own behaviour comes back.

Most tests run without the IAM checks (they are not what is tested here, and they are slower); one runs fully
strict to show the parts answer after IAM has allowed the call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.ec2_consistency import ConsistencyWindow
from sandbox.aws.server import EmbeddedAws, embedded_aws
from sandbox.aws.strictness import Strictness

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

IMAGE = "ami-12c6146b"  # moto accepts any image id


@pytest.fixture()
def aws() -> Iterator[EmbeddedAws]:
    with embedded_aws(strictness=Strictness().without_iam()) as running:
        yield running


def launch(ec2: Any, count: int = 1, **extra: Any) -> list[str]:
    reservation = ec2.run_instances(ImageId=IMAGE, MinCount=count, MaxCount=count, InstanceType="t3.micro", **extra)
    return [i["InstanceId"] for i in reservation["Instances"]]


def refusal(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def state(ec2: Any, instance_id: str) -> dict[str, Any]:
    return dict(ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"])


# --- eventual consistency ------------------------------------------------------------------------------------------

def test_a_new_instance_is_not_found_by_its_first_read_in_ec2s_words_then_found(aws: EmbeddedAws) -> None:
    ec2 = aws.session().client("ec2")
    raw: dict[str, bytes] = {}
    ec2.meta.events.register("after-call.ec2.DescribeInstances",
                             lambda http_response, **_: raw.setdefault("body", http_response.content))
    (instance_id,) = launch(ec2)

    assert refusal(lambda: ec2.describe_instances(InstanceIds=[instance_id])) == (
        400, "InvalidInstanceID.NotFound", f"The instance ID '{instance_id}' does not exist")
    body = raw["body"].decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
                           "<Code>InvalidInstanceID.NotFound</Code>")
    assert "<RequestID>" in body

    (reservation,) = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    assert reservation["Instances"][0]["InstanceId"] == instance_id


def test_writes_naming_new_instances_are_refused_too_and_name_them_all(aws: EmbeddedAws) -> None:
    ec2 = aws.session().client("ec2")
    first, second = launch(ec2, count=2)
    tags = [{"Key": "Owner", "Value": "alice"}]

    assert refusal(lambda: ec2.create_tags(Resources=[first, second], Tags=tags)) == (
        400, "InvalidInstanceID.NotFound", f"The instance IDs '{first}, {second}' do not exist")
    ec2.create_tags(Resources=[first, second], Tags=tags)  # each was read once: both are visible now

    (third,) = launch(ec2)
    assert refusal(lambda: ec2.describe_instance_attribute(InstanceId=third, Attribute="instanceType"))[1] == \
        "InvalidInstanceID.NotFound"
    (fourth,) = launch(ec2)
    assert refusal(lambda: ec2.modify_instance_attribute(InstanceId=fourth, DisableApiTermination={"Value": True})
                   )[1] == "InvalidInstanceID.NotFound"
    ec2.modify_instance_attribute(InstanceId=fourth, DisableApiTermination={"Value": True})


def test_a_listing_is_not_refused_and_shows_a_new_instance_pending(aws: EmbeddedAws) -> None:
    ec2 = aws.session().client("ec2")
    (instance_id,) = launch(ec2)

    listed = {i["InstanceId"]: i["State"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}

    assert listed[instance_id] == {"Code": 0, "Name": "pending"}
    assert refusal(lambda: state(ec2, instance_id))[1] == "InvalidInstanceID.NotFound"  # still unseen by id


def test_a_new_instance_is_pending_then_running(aws: EmbeddedAws) -> None:
    ec2 = aws.session().client("ec2")
    reservation = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    (instance,) = reservation["Instances"]
    instance_id = instance["InstanceId"]
    assert instance["State"] == {"Code": 0, "Name": "pending"}  # RunInstances' own answer (moto says so too)

    assert refusal(lambda: state(ec2, instance_id))[1] == "InvalidInstanceID.NotFound"
    assert state(ec2, instance_id) == {"Code": 0, "Name": "pending"}
    assert state(ec2, instance_id) == {"Code": 16, "Name": "running"}


def test_the_windows_also_end_with_time() -> None:
    window = ConsistencyWindow(unseen_reads=100, unseen_seconds=5, pending_reads=100, pending_seconds=10)
    with embedded_aws(strictness=dataclasses.replace(Strictness().without_iam(), ec2_window=window)) as aws:
        part = aws.parts.ec2_consistency
        assert part is not None
        now = [1000.0]
        part.clock = lambda: now[0]
        ec2 = aws.session().client("ec2")
        (instance_id,) = launch(ec2)
        for _ in range(3):
            assert refusal(lambda: state(ec2, instance_id))[1] == "InvalidInstanceID.NotFound"
        now[0] += 5
        assert state(ec2, instance_id)["Name"] == "pending"
        assert state(ec2, instance_id)["Name"] == "pending"
        now[0] += 5
        assert state(ec2, instance_id)["Name"] == "running"


def test_settle_ends_every_window(aws: EmbeddedAws) -> None:
    ec2 = aws.session().client("ec2")
    (instance_id,) = launch(ec2)

    aws.parts.settle()

    assert state(ec2, instance_id) == {"Code": 16, "Name": "running"}


# --- several network interfaces ------------------------------------------------------------------------------------

@dataclasses.dataclass
class TwoInterfaces:
    instance_id: str
    primary: str  # interface ids by role
    secondary: str
    app: str  # group ids
    pods: str
    admin: str


def two_interfaces(ec2: Any) -> TwoInterfaces:
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    app, pods, admin = (ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
                        for name in ("app", "pods", "admins"))
    (instance,) = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, InstanceType="t3.micro", NetworkInterfaces=[
        {"DeviceIndex": 0, "SubnetId": subnet, "Groups": [app]},
        {"DeviceIndex": 1, "SubnetId": subnet, "Groups": [pods]}])["Instances"]
    by_device = {i["Attachment"]["DeviceIndex"]: i["NetworkInterfaceId"] for i in instance["NetworkInterfaces"]}
    return TwoInterfaces(instance["InstanceId"], by_device[0], by_device[1], app, pods, admin)


def groups_by_device(ec2: Any, instance_id: str) -> dict[int, list[str]]:
    (reservation,) = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return {i["Attachment"]["DeviceIndex"]: sorted(g["GroupId"] for g in i["Groups"])
            for i in reservation["Instances"][0]["NetworkInterfaces"]}


def test_instance_level_groups_are_refused_on_two_interfaces_and_the_primary_interface_takes_them() -> None:
    with embedded_aws() as aws:  # fully strict: IAM allows the calls, then EC2's behaviour answers
        ec2 = aws.session().client("ec2")
        launched = two_interfaces(ec2)
        aws.parts.settle()

        assert refusal(lambda: ec2.modify_instance_attribute(
            InstanceId=launched.instance_id, Groups=[launched.app, launched.admin])) == (
            400, "InvalidInstanceID", f"There are multiple interfaces attached to instance '{launched.instance_id}'. "
                                      "Please specify an interface ID for the operation instead.")
        assert refusal(lambda: ec2.modify_instance_attribute(
            InstanceId=launched.instance_id, SourceDestCheck={"Value": False}))[1] == "InvalidInstanceID"
        assert groups_by_device(ec2, launched.instance_id) == {0: [launched.app], 1: [launched.pods]}

        ec2.modify_network_interface_attribute(NetworkInterfaceId=launched.primary,
                                               Groups=[launched.app, launched.admin])

        assert groups_by_device(ec2, launched.instance_id) == {0: sorted([launched.app, launched.admin]),
                                                               1: [launched.pods]}


def test_a_single_interface_instance_takes_instance_level_groups(aws: EmbeddedAws) -> None:
    ec2 = aws.session().client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    admin = ec2.create_security_group(GroupName="admins", Description="admins", VpcId=vpc)["GroupId"]
    (instance_id,) = launch(ec2)
    aws.parts.settle()
    (before,) = groups_by_device(ec2, instance_id).values()

    ec2.modify_instance_attribute(InstanceId=instance_id, Groups=[*before, admin])

    assert groups_by_device(ec2, instance_id) == {0: sorted([*before, admin])}


# --- switched off: moto as it is ------------------------------------------------------------------------------------

def test_switched_off_moto_shows_new_instances_running_and_gives_instance_groups_to_every_interface() -> None:
    with embedded_aws(strictness=Strictness.lenient()) as aws:
        assert aws.parts.ec2_consistency is None and aws.parts.ec2_interfaces is None
        ec2 = aws.session().client("ec2")
        launched = two_interfaces(ec2)
        assert state(ec2, launched.instance_id) == {"Code": 16, "Name": "running"}

        ec2.modify_instance_attribute(InstanceId=launched.instance_id, Groups=[launched.app, launched.admin])

        both = sorted([launched.app, launched.admin])
        assert groups_by_device(ec2, launched.instance_id) == {0: both, 1: sorted([*both, launched.pods])}
