"""Reading the synthesized hub template: resources of a type, what a ``Ref``/``Fn::GetAtt`` points at, an
``Fn::Join`` as a string, and every policy statement of a role."""

from __future__ import annotations

from typing import Any

ORGANIZATION_REF = {"Ref": "OrganizationId"}


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def getatt_target(value: Any) -> str:
    """The logical id an ``Fn::GetAtt`` or ``Ref`` points at."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    raise AssertionError(f"not a reference: {value!r}")


def joined(value: Any) -> str:
    """An ``Fn::Join`` of strings and pseudo-parameter refs, as an ``Fn::Sub``-style string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(joined(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    raise AssertionError(f"cannot join {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_of_role(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    statements = []
    for policy in of_type(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    role = template["Resources"][role_id]["Properties"]
    for inline in role.get("Policies", []):
        statements.extend(inline["PolicyDocument"]["Statement"])
    return statements
