"""Every IAM policy document a synthesized template carries, resolved, with what it is attached to.

Identity policies (a role's inline policies and ``AWS::IAM::Policy``), trust policies, and resource policies
(queue, topic and bus policies; a Lambda permission as the statement it adds to the function's policy).
A resource type is either known to carry a policy or declared policy-free here, so a new kind of policy
in a template cannot slip past the checks unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .intrinsics import Resolver

POLICY_FREE_TYPES = frozenset({
    "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::SNS::Subscription", "AWS::DynamoDB::Table",
    "AWS::Lambda::Function", "AWS::Lambda::EventInvokeConfig", "AWS::Lambda::EventSourceMapping",
    "AWS::Logs::LogGroup", "AWS::Events::EventBus", "AWS::Events::Rule", "AWS::CloudWatch::Alarm",
    "AWS::CDK::Metadata",
})
POLICY_TYPES = frozenset({
    "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy",
    "AWS::Events::EventBusPolicy", "AWS::Lambda::Permission",
})


@dataclass(frozen=True)
class Document:
    template: str  # "spoke" or "hub"
    source: str  # the logical id that carries the document
    kind: str  # "identity", "trust" or "resource"
    owners: tuple[str, ...]  # logical ids of the roles (identity, trust) or resources (resource) it governs
    document: dict[str, Any]

    @property
    def statements(self) -> list[dict[str, Any]]:
        statements = self.document.get("Statement", [])
        return statements if isinstance(statements, list) else [statements]

    @property
    def label(self) -> str:
        return f"{self.template}:{self.source} ({self.kind})"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _logical_ids(values: Any, resolver: Resolver) -> tuple[str, ...]:
    """Logical ids named by ``Ref`` (or by name) in a list of references."""
    found = []
    for value in as_list(values):
        if isinstance(value, dict) and "Ref" in value:
            found.append(str(value["Ref"]))
        elif isinstance(value, dict) and "Fn::GetAtt" in value:
            found.append(str(value["Fn::GetAtt"][0]))
        else:
            name = str(resolver.resolve(value))
            found.extend(lid for lid in resolver.resources if resolver.name(lid) == name)
    return tuple(found)


def documents(name: str, template: dict[str, Any], resolver: Resolver) -> list[Document]:
    docs: list[Document] = []
    for logical_id, resource in template.get("Resources", {}).items():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        kind = resource["Type"]
        props = resource.get("Properties") or {}
        if kind in POLICY_FREE_TYPES:
            continue
        if kind not in POLICY_TYPES:
            raise AssertionError(f"{name}:{logical_id}: {kind} is neither known to carry a policy nor policy-free")
        if kind == "AWS::IAM::Role":
            docs.append(Document(name, logical_id, "trust", (logical_id,),
                                 resolver.resolve(props["AssumeRolePolicyDocument"])))
            for policy in props.get("Policies", []):
                docs.append(Document(name, logical_id, "identity", (logical_id,),
                                     resolver.resolve(policy["PolicyDocument"])))
            if props.get("ManagedPolicyArns"):
                raise AssertionError(f"{name}:{logical_id}: managed policies are not reviewed by these tests")
        elif kind == "AWS::IAM::Policy":
            docs.append(Document(name, logical_id, "identity", _logical_ids(props.get("Roles", []), resolver),
                                 resolver.resolve(props["PolicyDocument"])))
        elif kind == "AWS::SQS::QueuePolicy":
            docs.append(Document(name, logical_id, "resource", _logical_ids(props["Queues"], resolver),
                                 resolver.resolve(props["PolicyDocument"])))
        elif kind == "AWS::SNS::TopicPolicy":
            docs.append(Document(name, logical_id, "resource", _logical_ids(props["Topics"], resolver),
                                 resolver.resolve(props["PolicyDocument"])))
        elif kind == "AWS::Events::EventBusPolicy":
            statement = props.get("Statement")
            document = {"Version": "2012-10-17", "Statement": [statement]} if statement else props["Policy"]
            docs.append(Document(name, logical_id, "resource", _logical_ids(props.get("EventBusName"), resolver),
                                 resolver.resolve(document)))
        elif kind == "AWS::Lambda::Permission":
            docs.append(Document(name, logical_id, "resource", _logical_ids(props["FunctionName"], resolver),
                                 resolver.resolve(lambda_permission_document(props))))
    return docs


def lambda_permission_document(props: dict[str, Any]) -> dict[str, Any]:
    """The statement ``AddPermission`` puts in the function's resource policy."""
    principal = props["Principal"]
    statement: dict[str, Any] = {
        "Sid": "LambdaPermission", "Effect": "Allow", "Action": props["Action"], "Resource": props["FunctionName"],
        "Principal": {"Service": principal} if str(principal).endswith(".amazonaws.com") else {"AWS": principal},
    }
    condition: dict[str, Any] = {}
    if "SourceArn" in props:
        condition["ArnLike"] = {"AWS:SourceArn": props["SourceArn"]}
    if "SourceAccount" in props:
        condition["StringEquals"] = {"AWS:SourceAccount": props["SourceAccount"]}
    if "PrincipalOrgID" in props:
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = props["PrincipalOrgID"]
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def condition_keys(statement: dict[str, Any]) -> set[str]:
    """Condition keys of a statement, lower-cased (IAM condition keys are case-insensitive)."""
    keys: set[str] = set()
    for operator_block in (statement.get("Condition") or {}).values():
        keys.update(str(k).lower() for k in operator_block)
    return keys


def principals(statement: dict[str, Any]) -> list[tuple[str, str]]:
    """(type, value) pairs; a bare ``"*"`` principal is ("AWS", "*")."""
    principal = statement.get("Principal")
    if principal == "*":
        return [("AWS", "*")]
    pairs: list[tuple[str, str]] = []
    for kind, values in (principal or {}).items():
        pairs.extend((kind, str(v)) for v in as_list(values))
    return pairs
