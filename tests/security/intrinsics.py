"""Resolve CloudFormation intrinsics in a synthesized template to plausible concrete strings.

Policy linters read JSON policies, not ``Fn::Join`` trees, so before linting every ``Ref``, ``Fn::GetAtt``,
``Fn::Sub``, ``Fn::Join``, ``Fn::If`` (conditions evaluated), ``Fn::Split`` and ``Fn::Select`` becomes what
CloudFormation would produce in the given account and region: resource names from their name properties,
ARNs in each service's format, parameters from their values or defaults.
"""

from __future__ import annotations

import re
from typing import Any

PSEUDO = ("AWS::Partition", "AWS::AccountId", "AWS::Region", "AWS::URLSuffix", "AWS::StackName", "AWS::NoValue")
NAME_PROPERTY = {
    "AWS::IAM::Role": "RoleName", "AWS::SQS::Queue": "QueueName", "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName", "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName", "AWS::Events::EventBus": "Name", "AWS::Events::Rule": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
}
ARN_FORMAT = {
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{n}",
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{n}",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{n}",
    "AWS::DynamoDB::Table": "arn:{p}:dynamodb:{r}:{a}:table/{n}",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{n}",
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{n}:*",
    "AWS::Events::EventBus": "arn:{p}:events:{r}:{a}:event-bus/{n}",
    "AWS::Events::Rule": "arn:{p}:events:{r}:{a}:rule/{n}",
    "AWS::CloudWatch::Alarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{n}",
}
_NO_VALUE = object()


class UnresolvedIntrinsic(ValueError):
    """The template uses an intrinsic or a reference this resolver cannot turn into a string."""


class Resolver:
    def __init__(self, template: dict[str, Any], account: str, region: str,
                 parameters: dict[str, str] | None = None, partition: str = "aws") -> None:
        self.template = template
        self.account, self.region, self.partition = account, region, partition
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in
                           template.get("Parameters", {}).items()}
        self.parameters.update(parameters or {})
        self._conditions: dict[str, bool] = {}

    # -- names and ARNs -------------------------------------------------------------------------------------

    def resource_type(self, logical_id: str) -> str:
        if logical_id not in self.resources:
            raise UnresolvedIntrinsic(f"no resource {logical_id}")
        return str(self.resources[logical_id]["Type"])

    def name(self, logical_id: str) -> str:
        kind = self.resource_type(logical_id)
        value = (self.resources[logical_id].get("Properties") or {}).get(NAME_PROPERTY.get(kind, ""))
        return str(self.resolve(value)) if value is not None else logical_id

    def arn(self, logical_id: str) -> str:
        kind = self.resource_type(logical_id)
        if kind not in ARN_FORMAT:
            raise UnresolvedIntrinsic(f"no ARN format for {kind} ({logical_id})")
        if kind == "AWS::Events::Rule":  # rules on a custom bus carry the bus name in their ARN
            bus = str(self.resolve((self.resources[logical_id].get("Properties") or {}).get("EventBusName",
                                                                                             "default")))
            if bus != "default":
                return f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{bus}/{self.name(logical_id)}"
        return ARN_FORMAT[kind].format(p=self.partition, a=self.account, r=self.region, n=self.name(logical_id))

    def ref(self, name: str) -> Any:
        pseudo = {"AWS::Partition": self.partition, "AWS::AccountId": self.account, "AWS::Region": self.region,
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "orgguard", "AWS::NoValue": _NO_VALUE}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        kind = self.resource_type(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.name(name)}"
        if kind == "AWS::SNS::Topic":
            return self.arn(name)
        return self.name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute in ("Arn", "TopicArn"):
            return self.arn(logical_id)
        if attribute in ("Name", "QueueName", "TopicName"):
            return self.name(logical_id)
        if attribute == "QueueUrl":
            return str(self.ref(logical_id))
        raise UnresolvedIntrinsic(f"GetAtt {logical_id}.{attribute}")

    # -- conditions -------------------------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self._evaluate(self.template.get("Conditions", {})[name]))
        return self._conditions[name]

    def _evaluate(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            (function, args), = expression.items()
            if function == "Fn::Equals":
                return bool(self.resolve(args[0]) == self.resolve(args[1]))
            if function == "Fn::Not":
                return not self._evaluate(args[0])
            if function == "Fn::And":
                return all(self._evaluate(a) for a in args)
            if function == "Fn::Or":
                return any(self._evaluate(a) for a in args)
            if function == "Condition":
                return self.condition(args)
        raise UnresolvedIntrinsic(f"condition {expression!r}")

    # -- values -------------------------------------------------------------------------------------------------

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.resources:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, args), = value.items()
            if key == "Ref":
                return self.ref(args)
            if key == "Fn::GetAtt":
                logical_id, attribute = args if isinstance(args, list) else args.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                text, variables = (args, {}) if isinstance(args, str) else (args[0], args[1])
                return self._sub(text, variables)
            if key == "Fn::Join":
                return str(args[0]).join(str(self.resolve(part)) for part in self.resolve(args[1]))
            if key == "Fn::If":
                return self.resolve(args[1] if self.condition(args[0]) else args[2])
            if key == "Fn::Split":
                return str(self.resolve(args[1])).split(str(args[0]))
            if key == "Fn::Select":
                return self.resolve(args[1])[int(self.resolve(args[0]))]
            if key.startswith("Fn::") or key == "Condition":
                raise UnresolvedIntrinsic(f"{key} is not supported")
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not _NO_VALUE}
