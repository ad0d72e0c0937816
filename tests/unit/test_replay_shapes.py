"""Replay's readers of CloudTrail's JSON renderings: tags, dates, network interfaces, bucket tags.

The records here are authored in the shapes CloudTrail gives (the real ones are exercised end to end in
tests/e2e/test_replay*.py).
"""

from __future__ import annotations

from datetime import date

import pytest

from sandbox.replay.ec2 import moto_device_indexes
from sandbox.replay.ec2_network import EventInterface, event_interfaces
from sandbox.replay.s3 import creation_tags, encryption_configuration
from sandbox.replay.shapes import SeedError, event_date, tag_pairs


def test_tags_in_every_rendering() -> None:
    assert tag_pairs({"items": [{"key": "Name", "value": "web"}]}) == {"Name": "web"}  # EC2 tagSet
    assert tag_pairs([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]) == {"a": "1", "b": "2"}
    assert tag_pairs({"Tag": {"Key": "team", "Value": "data"}}) == {"team": "data"}  # S3, one tag
    assert tag_pairs({"Tag": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}]}) == {"a": "1", "b": ""}
    assert tag_pairs({}) == {} and tag_pairs(None) == {} and tag_pairs("null") == {}


def test_event_dates_iso_and_test_data_shapes() -> None:
    assert event_date({"eventTime": "2024-05-01T10:00:00Z"}) == date(2024, 5, 1)
    assert event_date({"eventTime": "2024-12-12 16:04:32.000000000"}) == date(2024, 12, 12)
    assert event_date({"eventTime": "yesterday"}) is None
    assert event_date({}) is None


def eni(eni_id: str, device: object, card: object = None, groups: tuple[str, ...] = ()) -> dict[str, object]:
    attachment: dict[str, object] = {"deviceIndex": device}
    if card is not None:
        attachment["networkCardIndex"] = card
    return {"networkInterfaceId": eni_id, "subnetId": f"subnet-{eni_id}", "attachment": attachment,
            "groupSet": {"items": [{"groupId": g, "groupName": g} for g in groups]}}


def test_interfaces_come_primary_first_with_their_own_subnets_and_groups() -> None:
    item = {"instanceId": "i-1", "subnetId": "subnet-eni-a",
            "networkInterfaceSet": {"items": [eni("b", "1", 0, ("sg-b",)), eni("a", 0, 0, ("sg-a",)),
                                              eni("c", 0, 1)]}}
    interfaces = event_interfaces(item, {}, [])
    assert [(i.eni_id, i.device_index, i.card_index, i.subnet_id) for i in interfaces] == [
        ("a", 0, 0, "subnet-a"), ("b", 1, 0, "subnet-b"), ("c", 0, 1, "subnet-c")]
    assert [i.groups for i in interfaces] == [(("sg-a", "sg-a"),), (("sg-b", "sg-b"),), ()]
    assert interfaces[0].primary and not interfaces[2].primary  # device 0 on card 1 is not the primary


def test_without_a_network_interface_set_the_instance_has_one_from_its_own_fields() -> None:
    item = {"instanceId": "i-1", "subnetId": "subnet-1"}
    request = {"groupSet": {"items": [{"groupId": "sg-req"}]}}
    (interface,) = event_interfaces(item, request, [])
    assert (interface.eni_id, interface.subnet_id, interface.device_index) == ("", "subnet-1", 0)
    assert interface.groups == (("sg-req", ""),)


def test_a_primary_interface_without_groups_takes_the_instance_groups() -> None:
    item = {"instanceId": "i-1", "groupSet": {"items": [{"groupId": "sg-i", "groupName": "web"}]},
            "networkInterfaceSet": {"items": [eni("a", 0)]}}
    (interface,) = event_interfaces(item, {}, [])
    assert interface.groups == (("sg-i", "web"),)


def test_a_missing_device_index_is_taken_from_the_position_and_said() -> None:
    notes: list[str] = []
    item = {"instanceId": "i-1", "networkInterfaceSet": {"items": [eni("a", None), eni("b", None)]}}
    assert [i.device_index for i in event_interfaces(item, {}, notes)] == [0, 1]
    assert any("interface a has no deviceIndex: taken as 0" in n for n in notes)


def test_interfaces_without_a_primary_one_cannot_be_built() -> None:
    item = {"instanceId": "i-1", "networkInterfaceSet": {"items": [eni("a", 1), eni("b", 2)]}}
    with pytest.raises(SeedError, match="no primary one"):
        event_interfaces(item, {}, [])


def test_bucket_creation_tags_drop_the_reserved_prefix_and_say_so() -> None:
    notes: list[str] = []
    request = {"CreateBucketConfiguration": {"Tags": {"Tag": [{"Key": "team", "Value": "data"},
                                                              {"Key": "aws:cloudformation:stack-name",
                                                               "Value": "s"}]}}}
    assert creation_tags(request, notes) == [{"Key": "team", "Value": "data"}]
    assert notes == ["bucket tags with the reserved aws: prefix not seeded: aws:cloudformation:stack-name"]
    assert creation_tags({"CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}, notes) == []


def test_encryption_configuration_reads_one_rule_as_an_object() -> None:
    request = {"ServerSideEncryptionConfiguration": {"Rule": {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/k"},
        "BucketKeyEnabled": "true"}}}
    assert encryption_configuration(request) == {"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/k"},
        "BucketKeyEnabled": True}]}


def test_interfaces_on_other_network_cards_take_free_device_indexes_in_moto() -> None:
    notes: list[str] = []
    interfaces = [EventInterface("a", "s", 0, 0, ()), EventInterface("b", "s", 1, None, ()),
                  EventInterface("c", "s", 0, 1, ())]
    assert moto_device_indexes(interfaces, notes) == [0, 1, 2]
    assert notes == ["interface c (network card 1, device 0) built as device 2 on card 0: the embedded AWS "
                     "(moto) has one device index space for all network cards"]


def test_two_interfaces_at_one_device_index_of_one_card_are_refused() -> None:
    with pytest.raises(SeedError, match="share a device index"):
        moto_device_indexes([EventInterface("a", "s", 0, 0, ()), EventInterface("b", "s", 0, None, ())], [])
