"""Read a deployed CloudFormation template: resolve ``Ref``/``Fn::GetAtt``/``Fn::Sub`` to the real names.

The sandbox takes what it needs from the synthesized hub template itself (the rules' patterns and targets,
the functions' handlers and environments, what moto's CloudFormation skips), so it cannot drift from the
hub. This resolver turns the template's intrinsic functions into the names and ARNs of the deployed stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")

# ARN formats of the resource types the hub uses, from the physical id ({id}) CloudFormation reports.
_ARN_FORMATS = {
    "AWS::Lambda::Function": "arn:{partition}:lambda:{region}:{account}:function:{id}",
    "AWS::IAM::Role": "arn:{partition}:iam::{account}:role/{id}",
    "AWS::DynamoDB::Table": "arn:{partition}:dynamodb:{region}:{account}:table/{id}",
    "AWS::Events::EventBus": "arn:{partition}:events:{region}:{account}:event-bus/{id}",
    "AWS::Logs::LogGroup": "arn:{partition}:logs:{region}:{account}:log-group:{id}:*",
}
# Where the physical id is not the name CloudFormation would report, the name comes from this property.
_NAME_PROPERTIES = {"AWS::Events::EventBus": "Name"}


class TemplateError(ValueError):
    """The template uses something the resolver cannot resolve."""


@dataclass
class TemplateResolver:
    template: dict[str, Any]
    account: str
    region: str
    physical_ids: dict[str, str] = field(default_factory=dict)  # logical id -> physical id
    parameters: dict[str, str] = field(default_factory=dict)
    partition: str = "aws"

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template.get("Resources", {}))

    def of_type(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == resource_type:
                yield logical_id, resource

    def properties(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources[logical_id].get("Properties", {}))

    def physical_id(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"the template has no resource {logical_id}")
        name_property = _NAME_PROPERTIES.get(resource["Type"])
        if name_property and isinstance(resource.get("Properties", {}).get(name_property), str):
            return str(resource["Properties"][name_property])
        physical = self.physical_ids.get(logical_id, "")
        if not physical:
            raise TemplateError(f"{logical_id} ({resource['Type']}) was not created by the stack")
        return physical

    def _pseudo(self, name: str) -> str | None:
        return {"AWS::AccountId": self.account, "AWS::Region": self.region, "AWS::Partition": self.partition,
                "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": ""}.get(name)

    def ref(self, name: str) -> str:
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self.parameters[name]
        declared = self.template.get("Parameters", {}).get(name)
        if declared is not None:
            if "Default" not in declared:
                raise TemplateError(f"parameter {name} has no value")
            return str(declared["Default"])
        return self.physical_id(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource_type = self.resources.get(logical_id, {}).get("Type", "")
        physical = self.physical_id(logical_id)
        values = {"partition": self.partition, "region": self.region, "account": self.account}
        if resource_type == "AWS::SQS::Queue":
            name = physical.rstrip("/").rsplit("/", 1)[-1]
            return {"Arn": f"arn:{self.partition}:sqs:{self.region}:{self.account}:{name}", "QueueName": name,
                    "QueueUrl": physical}[attribute]
        if resource_type == "AWS::SNS::Topic":
            return {"TopicArn": physical, "TopicName": physical.rsplit(":", 1)[-1]}[attribute]
        if resource_type == "AWS::Events::Rule" and attribute == "Arn":
            bus = self.resolve(self.properties(logical_id).get("EventBusName", "default"))
            path = physical if bus in ("", "default") else f"{bus}/{physical}"
            return f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{path}"
        if attribute == "Arn" and resource_type in _ARN_FORMATS:
            return _ARN_FORMATS[resource_type].format(id=physical, **values)
        if attribute == "Name" and resource_type == "AWS::Events::EventBus":
            return physical
        raise TemplateError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute} ({resource_type})")

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function in ``value`` (a template fragment) to plain data."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                return self._sub(text, variables)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(i) for i in self.resolve(items))
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::"):
                raise TemplateError(f"the sandbox cannot resolve {key}")
        return {k: self.resolve(v) for k, v in value.items()}


def referenced_logical_id(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names, or None."""
    if isinstance(value, dict) and len(value) == 1:
        (key, argument), = value.items()
        if key == "Ref" and isinstance(argument, str):
            return argument
        if key == "Fn::GetAtt":
            return str(argument[0] if isinstance(argument, list) else argument.split(".", 1)[0])
    return None
