"""vpc-created end to end on moto: a real CreateVpc record about a VPC in a member account, the hub reading
it through AssumeRole, and the e-mail an admin gets (captured from the topic)."""

from __future__ import annotations

import pytest

from tests.support.events import vpc_event
from tests.support.handlers import MEMBER_NAME, Hub, run, runtime, settings_for
from tests.support.members import Member, make_network

IAM_USER_SAMPLE = "records/spotlight__CreateVpc__1.json"
ASSUMED_ROLE_SAMPLE = "records/panther__CreateVpc__1.json"


@pytest.mark.parametrize("sample", [IAM_USER_SAMPLE, ASSUMED_ROLE_SAMPLE])
def test_new_vpc_is_reported_with_what_an_admin_needs(hub: Hub, member: Member, sample: str) -> None:
    net = make_network(member, cidr="10.42.0.0/16", tags={"Name": "nginx-vpc"})
    rt = runtime(hub, settings_for(member))
    event = vpc_event(sample, member, net.vpc_id, "10.42.0.0/16")
    creator = event["userIdentity"]["arn"]

    processed = run(event, "vpc-created", rt)

    assert processed.outcome == "reported"
    assert processed.actions == []
    [mail] = hub.mail()
    assert mail.attributes == {"account": member.account, "policy": "vpc-created", "outcome": "reported",
                               "severity": "low"}
    assert len(mail.subject) <= 100 and mail.subject.isascii() and mail.subject.isprintable()
    assert net.vpc_id in mail.subject and "10.42.0.0/16" in mail.subject
    for text in (net.vpc_id, "10.42.0.0/16", '"nginx-vpc"', creator, member.account, MEMBER_NAME, member.region,
                 event["eventTime"], "CreateVpc", f"VpcId={net.vpc_id}"):
        assert text in mail.body, text
    assert member.account in creator  # the actor was retargeted to the member account too
    item = hub.event_item(event["eventID"])
    assert (item["outcome"], item["resource"], item["actor"]) == ("reported", net.vpc_id, creator)
    assert (item["account"], item["region"], item["policy"]) == (member.account, member.region, "vpc-created")
    assert '"cidr": "10.42.0.0/16"' in item["after"]


def test_vpc_deleted_before_the_event_is_gone(hub: Hub, member: Member) -> None:
    net = make_network(member, cidr="10.43.0.0/16", admin_group=False)
    ec2 = member.client("ec2")
    ec2.delete_security_group(GroupId=net.app_group)
    ec2.delete_subnet(SubnetId=net.subnet_id)
    ec2.delete_vpc(VpcId=net.vpc_id)
    rt = runtime(hub, settings_for(member))
    event = vpc_event(IAM_USER_SAMPLE, member, net.vpc_id, "10.43.0.0/16")

    assert run(event, "vpc-created", rt).outcome == "gone"

    item = hub.event_item(event["eventID"])
    assert (item["outcome"], item["resource"], item["state"]) == ("gone", net.vpc_id, "done")
    [mail] = hub.mail()  # a VPC that came and went is still news to the admins
    assert mail.attributes["outcome"] == "gone"
    assert net.vpc_id in mail.body and "10.43.0.0/16" in mail.body


def test_exempt_vpc_is_not_mailed(hub: Hub, member: Member) -> None:
    net = make_network(member, tags={"orgguard:exempt": "vpc-created"})
    rt = runtime(hub, settings_for(member))
    event = vpc_event(IAM_USER_SAMPLE, member, net.vpc_id, "10.20.0.0/16")

    assert run(event, "vpc-created", rt).outcome == "exempt"
    assert hub.event_item(event["eventID"])["outcome"] == "exempt"
    assert hub.mail() == []


def test_off_mode_is_not_mailed(hub: Hub, member: Member) -> None:
    net = make_network(member)
    rt = runtime(hub, settings_for(member, {"vpc-created": {"mode": "off"}}))

    assert run(vpc_event(IAM_USER_SAMPLE, member, net.vpc_id, "10.20.0.0/16"), "vpc-created", rt).outcome == \
        "skipped:policy-off"
    assert hub.mail() == []


def test_vpc_from_a_stack_gets_a_drift_hint(hub: Hub, member: Member) -> None:
    net = make_network(member, tags={"aws:cloudformation:stack-name": "network-stack"})
    rt = runtime(hub, settings_for(member))

    assert run(vpc_event(ASSUMED_ROLE_SAMPLE, member, net.vpc_id, "10.20.0.0/16"), "vpc-created", rt).outcome == \
        "reported"
    [mail] = hub.mail()
    assert 'CloudFormation stack "network-stack"' in mail.body


def test_failed_create_vpc_is_skipped(hub: Hub, member: Member) -> None:
    net = make_network(member)
    rt = runtime(hub, settings_for(member))
    event = vpc_event(IAM_USER_SAMPLE, member, net.vpc_id, "10.20.0.0/16")
    event["errorCode"] = "Client.VpcLimitExceeded"

    assert run(event, "vpc-created", rt).outcome == "skipped:error-code"
    assert rt.members.assume_calls == 0
    assert hub.mail() == []
