"""The CloudTrail emulator renders RunInstances' request as CloudTrail does (compared with real records in
tests/events): network interfaces under ``networkInterfaceSet``, each with its groups as ``groupSet`` items."""

from __future__ import annotations

import json
from pathlib import Path

import botocore.session

from sandbox.world.cloudtrail import run_instances_request

EVENTS = Path(__file__).resolve().parents[1] / "events"
RUN_INSTANCES = botocore.session.get_session().get_service_model("ec2").operation_model("RunInstances")


def test_network_interfaces_are_rendered_as_network_interface_set_items_with_group_sets() -> None:
    params = {"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro", "NetworkInterfaces": [
        {"DeviceIndex": 0, "SubnetId": "subnet-1", "Groups": ["sg-web"], "AssociatePublicIpAddress": True},
        {"DeviceIndex": 1, "SubnetId": "subnet-1", "Groups": ["sg-db", "sg-ops"]}]}

    rendered = run_instances_request(RUN_INSTANCES, params)

    assert "networkInterface" not in rendered
    assert rendered["networkInterfaceSet"] == {"items": [
        {"associatePublicIpAddress": True, "deviceIndex": 0, "subnetId": "subnet-1",
         "groupSet": {"items": [{"groupId": "sg-web"}]}},
        {"deviceIndex": 1, "subnetId": "subnet-1",
         "groupSet": {"items": [{"groupId": "sg-db"}, {"groupId": "sg-ops"}]}}]}


def test_the_rendering_has_the_keys_of_a_real_record() -> None:
    real = json.loads((EVENTS / "records" / "spotlight__RunInstances__1.json").read_text())["requestParameters"]
    (real_interface,) = real["networkInterfaceSet"]["items"]
    params = {"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1, "NetworkInterfaces": [
        {"DeviceIndex": 0, "SubnetId": "subnet-1", "Description": "Primary network interface",
         "DeleteOnTermination": True, "AssociatePublicIpAddress": True, "Groups": ["sg-1"], "Ipv6AddressCount": 0}]}

    (interface,) = run_instances_request(RUN_INSTANCES, params)["networkInterfaceSet"]["items"]

    assert set(interface) == set(real_interface)
    assert interface["groupSet"].keys() == real_interface["groupSet"].keys()
