"""`orgguard replay` rebuilds the account as the call left it, and says what it could not rebuild.

Each test replays an event with ``Replayer`` inside the embedded AWS and then reads the replayed member
account. Real samples from ``../shared/cloudtrail-samples`` are used where one shows the case; where none
does, the record is authored from AWS's documented shape, and the test says so.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers.settings import Settings, load, validate
from sandbox.aws.server import embedded_aws
from sandbox.replay.org import ACCESS_ROLE, role_session
from sandbox.replay.run import Replayed, Replayer, without_default_amis
from tests.support.samples import require_samples

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

RECORDS = Path(__file__).resolve().parents[2].parent / "shared" / "cloudtrail-samples" / "records"
DEFAULTS = load(None)
ADMIN = DEFAULTS.policies.ec2_compliance.admin_security_group.name


def sample(name: str) -> dict[str, Any]:
    path = RECORDS / name
    require_samples(path)
    record = json.loads(path.read_text())
    assert isinstance(record, dict)
    return record


def governing(*regions: str, **policies: dict[str, Any]) -> Settings:
    raw: dict[str, Any] = {"organization": {"regions": list(regions)}}
    if policies:
        raw["policies"] = {name.replace("_", "-"): value for name, value in policies.items()}
    return validate(raw, "test settings")


@dataclass
class Member:
    replayed: Replayed
    ec2: Any
    s3: Any

    @property
    def note(self) -> str:
        return str(self.replayed.record.get("note", ""))

    def actions(self, name: str) -> list[dict[str, Any]]:
        return [a["params"] for a in self.replayed.record["actions"] if a["action"] == name]

    def instances(self) -> list[dict[str, Any]]:
        return [i for r in self.ec2.describe_instances()["Reservations"] for i in r["Instances"]]

    def group_names(self) -> dict[str, str]:
        return {g["GroupId"]: g["GroupName"] for g in self.ec2.describe_security_groups()["SecurityGroups"]}


@contextlib.contextmanager
def replayed(event: dict[str, Any], settings: Settings) -> Iterator[Member]:
    """Replay ``event``; the member account's clients stay usable inside the block."""
    account = event["recipientAccountId"]
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_PROFILE", "nonexistent")
        with (embedded_aws() as aws, without_default_amis(),
              contextlib.closing(Replayer(aws, settings)) as replayer):
            result = replayer.replay("test", event)
            assert not result.error, result.error
            if result.record["forwarded"]:
                member = role_session(aws.session(), account, ACCESS_ROLE, event["awsRegion"])
            else:  # nothing was built, the account is not even in an organization: read it as its root user
                member = aws.root_session(account, event["awsRegion"])
            yield Member(result, member.client("ec2"), member.client("s3"))


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


# --- 4. bucket tags -----------------------------------------------------------------------------------

def tagged_bucket(tags: Any) -> dict[str, Any]:
    """Authored from the real ctwatcher__CreateBucket__1.json: no sample creates a bucket with tags, so
    ``CreateBucketConfiguration.Tags`` is added as botocore's S3 model defines it (a ``TagSet`` list of
    ``Tag`` with ``Key`` and ``Value``) rendered the way CloudTrail renders S3's XML (one ``Tag`` is an
    object, several an array)."""
    event = copy.deepcopy(sample("ctwatcher__CreateBucket__1.json"))
    event["recipientAccountId"] = "666666666666"
    event["userIdentity"]["accountId"] = "666666666666"
    event["requestParameters"]["CreateBucketConfiguration"]["Tags"] = {"Tag": tags}
    return event


def test_bucket_tags_come_from_create_bucket_configuration() -> None:
    event = tagged_bucket([{"Key": "team", "Value": "data"}, {"Key": "orgguard:exempt", "Value": "s3-encryption"}])
    with replayed(event, governing(event["awsRegion"])) as member:
        tagging = member.s3.get_bucket_tagging(Bucket="cloudtrailwatcher-000000000000")["TagSet"]
        record = member.replayed.record
    assert {t["Key"]: t["Value"] for t in tagging} == {"team": "data", "orgguard:exempt": "s3-encryption"}
    assert (record["outcome"], record["actions"]) == ("exempt", [])


def test_one_bucket_tag_is_an_object_not_a_list() -> None:
    event = tagged_bucket({"Key": "team", "Value": "data"})
    with replayed(event, governing(event["awsRegion"])) as member:
        tagging = member.s3.get_bucket_tagging(Bucket="cloudtrailwatcher-000000000000")["TagSet"]
        record = member.replayed.record
    assert tagging == [{"Key": "team", "Value": "data"}]
    assert record["outcome"] == "remediated"


# --- 5. what replay assumes: faithful, or said ----------------------------------------------------------

def test_a_bucket_gets_the_default_encryption_s3_gave_on_the_day() -> None:
    # Real: a 2024 DeleteBucketEncryption resets the bucket to SSE-S3; under an AES256 standard that does
    # not ask for the SSE-C block (the bucket predates April 2026) that is compliant. The same call replayed
    # as of 2022 leaves no configuration, which is not.
    event = sample("panther__DeleteBucketEncryption__1.json")
    aes256 = governing("us-east-1", s3_encryption={"algorithm": "AES256", "blocked_encryption_types": []})
    with replayed(event, aes256) as member:
        bucket = event["requestParameters"]["bucketName"]
        rules = member.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        after_2023 = member.replayed.record
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert after_2023["outcome"] == "compliant"
    assert "SSE-S3" in after_2023["note"] and "tags" in after_2023["note"]  # tags are not in the event
    with replayed({**event, "eventTime": "2022-06-01T00:00:00Z"}, aes256) as member:
        before_2023 = member.replayed.record
    assert before_2023["outcome"] == "remediated"
    assert "before 5 January 2023" in before_2023["note"]


SSE_S3_RULE = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}


@pytest.mark.parametrize(("day", "expected", "said"), [
    ("2022-03-12", None, "before 5 January 2023"),
    ("2024-05-01", SSE_S3_RULE, "until April 2026"),
    ("2026-05-01", {**SSE_S3_RULE, "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}, "since April 2026"),
])
def test_a_created_bucket_keeps_the_default_s3_gave_it_on_its_day(day: str, expected: Any, said: str) -> None:
    # The real ctwatcher CreateBucket (2022), exempt by tag so OrgGuard leaves the seeded bucket as it is, on
    # three days: the embedded AWS gives every new bucket today's default, replay gives it the day's.
    event = tagged_bucket({"Key": "orgguard:exempt", "Value": "s3-encryption"})
    event["eventTime"] = f"{day}T07:03:21Z"
    with replayed(event, governing(event["awsRegion"])) as member:
        try:
            rules = member.s3.get_bucket_encryption(Bucket="cloudtrailwatcher-000000000000")[
                "ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError"
            rules = [None]
        record = member.replayed.record
    assert record["outcome"] == "exempt"
    assert rules == [expected]
    assert said in record["note"]


def test_a_kms_key_the_embedded_aws_does_not_have_is_said() -> None:
    # Authored in the shape of the real panther__PutBucketEncryption__1.json, with a customer key.
    event = copy.deepcopy(sample("panther__PutBucketEncryption__1.json"))
    key = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    event["requestParameters"]["ServerSideEncryptionConfiguration"] = {
        "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
        "Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                 "BucketKeyEnabled": True}}
    with replayed(event, governing("us-east-1")) as member:
        note = member.note
    assert f"KMS key {key} is not created" in note


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
