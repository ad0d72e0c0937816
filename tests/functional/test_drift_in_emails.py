"""Drift end to end on moto: a stack-owned instance (the tags CloudFormation puts on what it creates) is fixed
through AssumeRole; the e-mail names the stack and the logical id and gives the YAML to add, and the audit record
carries it for ``audit --drift``. (moto refuses ``aws:`` tags on buckets, and its CloudFormation does not tag the
buckets it creates: the bucket's snippet is covered by tests/unit/test_drift.py.)"""

from __future__ import annotations

import datetime as dt
import json

import boto3
import yaml

from handlers.batch.records import audit_records
from handlers.batch.sweep import sweep_target
from handlers.drift import render
from handlers.sessions import MemberSessions
from tests.support.events import run_instances_event
from tests.support.handlers import Hub, run, runtime, settings_for
from tests.support.members import Member, interface_groups, launch, make_network
from tests.support.moto_env import HUB_REGION

ONE_INSTANCE = "records/spotlight__RunInstances__1.json"
STACK = {"aws:cloudformation:stack-name": "team-app", "aws:cloudformation:logical-id": "WebServer"}


def test_a_stack_owned_instance_is_fixed_and_the_mail_gives_the_template_fix(hub: Hub, member: Member) -> None:
    net = make_network(member)
    [instance_id] = launch(member, net, tags={**STACK, "Owner": "alice"})
    rt = runtime(hub, settings_for(member))
    event = run_instances_event(ONE_INSTANCE, member, [instance_id], net)

    processed = run(event, "ec2-compliance", rt)

    assert processed.outcome == "remediated"
    assert interface_groups(member, instance_id) == {0: sorted([net.app_group, str(net.admin_group)])}
    item = hub.event_item(event["eventID"])
    assert item["stack_name"] == "team-app"
    [entry] = json.loads(item["iac"])
    assert (entry["resource"], entry["stack"], entry["logical_id"]) == (instance_id, "team-app", "WebServer")
    [mail] = hub.mail()
    for text in ('stack "team-app"', "WebServer (AWS::EC2::Instance)", "AWS::EC2::Instance",
                 'Tags.of(instance).add("CostCenter", "unknown")', "aws:cdk:path"):
        assert text in mail.body, text
    in_mail = yaml.safe_load("Resources:" + mail.body.split("\nResources:", 1)[1].split("\n\n", 1)[0])
    properties = {"Tags": [{"Key": "CostCenter", "Value": "unknown"}],
                  "SecurityGroupIds": [net.app_group, net.admin_group]}
    assert in_mail == {"Resources": {"WebServer": {"Type": "AWS::EC2::Instance", "Properties": properties}}}
    assert yaml.safe_load(render(entry)["cloudformation"]) == in_mail  # what audit --drift shows from the record


def test_an_instance_no_stack_owns_gets_no_snippet(hub: Hub, member: Member) -> None:
    net = make_network(member)
    [instance_id] = launch(member, net, tags={"Owner": "alice"})
    rt = runtime(hub, settings_for(member))
    event = run_instances_event(ONE_INSTANCE, member, [instance_id], net)

    assert run(event, "ec2-compliance", rt).outcome == "remediated"

    item = hub.event_item(event["eventID"])
    assert "iac" not in item and "stack_name" not in item
    [mail] = hub.mail()
    assert "Drift:" not in mail.body


def test_the_sweep_fixes_a_stack_owned_instance_and_its_audit_record_carries_the_fix(hub: Hub, member: Member) -> None:
    net = make_network(member)
    [instance_id] = launch(member, net, tags={**STACK, "Owner": "alice", "CostCenter": "42"})
    clients = MemberSessions(boto3.Session(region_name=HUB_REGION)).across_regions(HUB_REGION)

    result = sweep_target(clients, settings_for(member), member.account, member.region, ["ec2-compliance"],
                          fix=True, today=dt.date(2030, 1, 15))

    [finding] = [f for f in result.findings if f.resource == instance_id]
    assert finding.outcome == "remediated" and finding.iac is not None
    assert finding.iac["properties"] == {"SecurityGroupIds": [net.app_group, net.admin_group]}
    [(_, record)] = audit_records(result, "run-1", "sweep", "me")
    assert record["stack_name"] == "team-app" and record["iac"] == [finding.iac]
