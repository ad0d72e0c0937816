"""The embedded AWS refuses what AWS refuses: IAM evaluated on every call, with the policies the templates declare.

The world is the reliability sandbox (organization, the hub from the synthesized template, the spoke by the real
rollout). Each refusal must be the error AWS gives, in the service's own protocol.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers.contract import FORWARD_DLQ_NAME, HUB_HANDLER_ROLE_NAME
from handlers.registry import FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME, remediation_permissions
from sandbox.aws.iam import resources as r
from sandbox.aws.iam.actions import OPERATIONS, all_actions
from sandbox.aws.iam.simulator import Simulator
from sandbox.world.cloudtrail import CloudTrail
from sandbox.world.identities import Identity, assume_role
from sandbox.world.lambda_runner import LAMBDA_SERVICE
from tests.reliability.sandbox_world import Sandbox, running_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    engine = Simulator()
    yield engine
    engine.close()


def test_every_action_of_the_table_exists_in_aws_service_authorization_data(simulator: Simulator) -> None:
    unknown, _ = simulator.check_actions(all_actions())
    assert unknown == []


def test_actions_without_resource_level_permissions_and_only_those_are_asked_on_star(simulator: Simulator) -> None:
    _, wildcard_only = simulator.check_actions(all_actions())
    wrong = [(operation, action) for operation, checks in OPERATIONS.items() for action, build in checks
             if (action in wildcard_only) != (build is r.everything)]
    assert wrong == []


def test_the_remediation_role_actions_are_all_judged_by_the_sandbox(simulator: Simulator) -> None:
    declared = {p.action for p in remediation_permissions()}
    unknown, _ = simulator.check_actions(sorted(declared))
    assert unknown == []
    assert declared <= set(all_actions()), "every action the spoke grants is one the sandbox can ask about"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


def _handler(sandbox: Sandbox, region: str = "us-east-1") -> Identity:
    """The hub Lambdas' role, assumed as Lambda assumes it."""
    service = sandbox.aws.service_session(LAMBDA_SERVICE, sandbox.org.hub_account)
    return assume_role(service, sandbox.org.hub_account, HUB_HANDLER_ROLE_NAME, "orgguard", region)


def _error(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def test_a_hub_role_that_is_neither_the_handler_nor_an_operator_cannot_assume_the_remediation_role(
        sandbox: Sandbox) -> None:
    hub_admin = sandbox.admin(sandbox.org.hub_account, "us-east-1").session()
    management = f"arn:aws:iam::{sandbox.org.management_account}:root"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": management}}]}
    iam = hub_admin.client("iam")
    iam.create_role(RoleName="DataScience", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="DataScience", PolicyName="assume-anything", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    other = assume_role(sandbox.management, sandbox.org.hub_account, "DataScience", "curious", "us-east-1")
    member = sandbox.org.members[0]
    with pytest.raises(ClientError) as denied:
        assume_role(other.session(), member, REMEDIATION_ROLE_NAME, "curious", "us-east-1")
    target = f"arn:aws:iam::{member}:role/{REMEDIATION_ROLE_NAME}"
    assert _error(denied) == ("AccessDenied", f"User: {other.arn} is not authorized to perform: sts:AssumeRole on "
                                              f"resource: {target} because no resource-based policy allows the "
                                              "sts:AssumeRole action")
    assert assume_role(_handler(sandbox).session(), member, REMEDIATION_ROLE_NAME, "orgguard", "us-east-1")


def test_an_account_outside_the_organization_cannot_put_events_on_the_hub_bus(sandbox: Sandbox) -> None:
    stranger = "999988887777"  # no organization knows it; moto lets it act once it has credentials
    bus_arn = sandbox.hub.output("BusArn")
    identity = sandbox.aws.parts.principals
    key = "AKIASTRANGER0000001"
    from sandbox.aws.iam.principals import Principal

    identity.record(key, Principal.root(stranger))
    events = boto3.Session(aws_access_key_id=key, aws_secret_access_key="x", region_name="us-east-1").client("events")
    with pytest.raises(ClientError) as denied:
        events.put_events(Entries=[{"Source": "stranger.app", "DetailType": "x", "Detail": "{}",
                                    "EventBusName": bus_arn}])
    code, message = _error(denied)
    assert code == "AccessDeniedException"
    assert message == (f"User: arn:aws:iam::{stranger}:root is not authorized to perform: events:PutEvents on "
                       f"resource: {bus_arn} because no resource-based policy allows the events:PutEvents action")


def test_the_remediation_role_cannot_go_beyond_its_declared_actions(sandbox: Sandbox) -> None:
    member = sandbox.org.members[0]
    sandbox.member(member, "us-east-1").client("s3").create_bucket(Bucket=f"precious-{member}")
    remediation = assume_role(_handler(sandbox).session(), member, REMEDIATION_ROLE_NAME, "orgguard", "us-east-1")
    s3 = remediation.session().client("s3")
    assert _declared_action_works(s3, f"precious-{member}")
    with pytest.raises(ClientError) as denied:
        s3.delete_bucket(Bucket=f"precious-{member}")
    assert _error(denied) == ("AccessDenied", f"User: {remediation.arn} is not authorized to perform: "
                                              f's3:DeleteBucket on resource: "arn:aws:s3:::precious-{member}" '
                                              "because no identity-based policy allows the s3:DeleteBucket action")
    ec2 = remediation.session().client("ec2")
    with pytest.raises(ClientError) as refused:
        ec2.terminate_instances(InstanceIds=["i-0123456789abcdef0"])
    code, message = _error(refused)
    assert code == "UnauthorizedOperation" and message.startswith("You are not authorized to perform this operation.")
    assert sandbox.member(member, "us-east-1").client("s3").head_bucket(Bucket=f"precious-{member}")


def _declared_action_works(s3: object, bucket: str) -> bool:
    """s3:GetEncryptionConfiguration is declared: S3 answers (whatever the configuration), IAM does not refuse."""
    try:
        s3.get_bucket_encryption(Bucket=bucket)  # type: ignore[attr-defined]
    except ClientError as error:
        return str(error.response["Error"]["Code"]) not in ("AccessDenied", "AccessDeniedException")
    return True


def test_a_delivery_the_forwarder_role_cannot_make_goes_straight_to_the_spoke_dlq(sandbox: Sandbox) -> None:
    """EventBridge sends a permission failure to the target's DLQ without retrying it; the hub sees nothing."""
    member, region = sandbox.org.members[1], "eu-west-1"
    admin = sandbox.member(member, region)
    iam = admin.client("iam")
    saved = iam.get_role(RoleName=FORWARDER_ROLE_NAME)["Role"]["AssumeRolePolicyDocument"]
    closed = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "ec2.amazonaws.com"}}]}
    iam.update_assume_role_policy(RoleName=FORWARDER_ROLE_NAME, PolicyDocument=json.dumps(closed))
    delivered = len(sandbox.flow.deliveries)
    try:
        trail = CloudTrail()
        identity = sandbox.admin(member, region)
        trail.watch(identity, region).client("s3").create_bucket(
            Bucket=f"unseen-{member}", CreateBucketConfiguration={"LocationConstraint": region})
        sandbox.flow.pump()
    finally:
        iam.update_assume_role_policy(RoleName=FORWARDER_ROLE_NAME, PolicyDocument=json.dumps(saved))
    assert len(sandbox.flow.deliveries) == delivered, "nothing reached the hub"
    sqs = admin.client("sqs")
    url = sqs.get_queue_url(QueueName=FORWARD_DLQ_NAME)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    (message,) = [m for m in messages if json.loads(m["Body"])["detail"]["eventName"] == "CreateBucket"]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert attributes["TARGET_ARN"] == sandbox.hub.output("BusArn")
    assert attributes["RULE_ARN"] == f"arn:aws:events:{region}:{member}:rule/orgguard-forward"
    assert FORWARDER_ROLE_NAME in attributes["ERROR_MESSAGE"]


def test_the_protection_scp_stops_a_member_administrator_and_not_the_stackset(sandbox: Sandbox) -> None:
    """Last in the module: ``stackset --protect`` attaches the SCP to the target OUs of the shared sandbox."""
    import dataclasses
    import io

    from sandbox.aws.iam.evaluate import Question, simulation
    from sandbox.aws.iam.principals import Principal
    from spoke.scp import POLICY_NAME
    from stacksets.operations import Waiter
    from stacksets.protection import unprotect
    from stacksets.rollout import Rollout

    def rollout(settings: object, protect: bool) -> object:
        return Rollout(sandbox.management, settings, "SELF", stream=io.StringIO(),  # type: ignore[arg-type]
                       make_waiter=lambda api: Waiter(api, io.StringIO(), poll_seconds=0.1)).run(protect=protect)

    protected = rollout(sandbox.settings, protect=True)
    assert protected.ok and protected.protection is not None  # type: ignore[attr-defined]
    member, region = sandbox.org.members[0], "us-east-1"
    admin = sandbox.admin(member, region)
    try:
        events = admin.session(region).client("events")
        with pytest.raises(ClientError) as denied:
            events.delete_rule(Name="orgguard-forward")
        rule = f"arn:aws:events:{region}:{member}:rule/orgguard-forward"
        assert _error(denied) == ("AccessDeniedException",
                                  f"User: {admin.arn} is not authorized to perform: events:DeleteRule on resource: "
                                  f"{rule} with an explicit deny in a service control policy")
        with pytest.raises(ClientError) as trust:
            admin.session(region).client("iam").update_assume_role_policy(
                RoleName=REMEDIATION_ROLE_NAME, PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        assert _error(trust)[0] == "AccessDenied"
        assert events.describe_rule(Name="orgguard-forward")["State"] == "ENABLED"
        # The StackSets execution role (AdministratorAccess, like every stacksets-exec role) may still change the
        # spoke; the same permissions on another role may not: the SCP is the only difference.
        simulator = sandbox.aws.parts.iam.simulator  # type: ignore[union-attr]
        administrator = [{"name": "AdministratorAccess", "policy": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]
        for role, allowed in (("stacksets-exec-0123456789abcdef", True), ("PlatformAdmin", False)):
            principal = Principal.session(f"arn:aws:iam::{member}:role/{role}", "change")
            document = simulation(Question(principal, "events:DeleteRule", rule, region, member))
            document["identityPolicies"] = administrator
            assert simulator.decide(document).allowed is allowed, (role, POLICY_NAME)
        # ... and a StackSet update goes through with the policy attached.
        changed = dataclasses.replace(sandbox.settings, organization=dataclasses.replace(
            sandbox.settings.organization, operator_roles=()))
        updated = rollout(changed, protect=True)
        assert updated.ok, updated.to_dict()  # type: ignore[attr-defined]
    finally:
        unprotect(sandbox.management)
        rollout(sandbox.settings, protect=False)
