"""Drift: the fix for the infrastructure as code (pure; no YAML library, it runs in the Lambda asset).

When OrgGuard changes a resource that a CloudFormation stack owns (the resource's ``aws:cloudformation:stack-name``
and ``aws:cloudformation:logical-id`` tags), the stack's next update would undo the change. A guardrail's
``iac_fix`` says which properties the resource must declare so that it does not (an ``IacFix``, built from the
state the fix left, not from a second copy of the rules); this module turns it into what the owner pastes: a
CloudFormation YAML fragment and, since OrgGuard does not read stack templates, the CDK equivalent in case the
stack was made by the CDK.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

STACK_TAG = "aws:cloudformation:stack-name"
LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./:-]*")
_YAML_WORDS = {"yes", "no", "on", "off", "true", "false", "null", "y", "n"}


@dataclass(frozen=True)
class IacFix:
    """The properties a stack-owned resource must declare so that the next deploy keeps OrgGuard's fix.

    ``properties`` are CloudFormation properties, whole (what the template must say); ``added`` is the part the
    fix added (CDK constructs are additive: the CDK snippet adds only that; empty: the same as ``properties``).
    """

    resource_type: str
    properties: dict[str, Any]
    added: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"resource_type": self.resource_type, "properties": self.properties, "added": self.added}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> IacFix:
        return cls(str(raw.get("resource_type", "")), dict(raw.get("properties") or {}), dict(raw.get("added") or {}))


def public_access_block_snippet() -> IacFix:
    """s3-public-access's fix as infrastructure as code: the bucket blocks every kind of public access."""
    return IacFix("AWS::S3::Bucket", {"PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}})


def drift_entry(resource: str, stack: str, logical_id: str, fix: IacFix) -> dict[str, Any]:
    """What an audit record keeps of one stack-owned resource's fix (enough to render it without AWS)."""
    return {"resource": resource, "stack": stack, "logical_id": logical_id, **fix.to_dict()}


# --- YAML -----------------------------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def yaml_lines(value: Any, indent: int = 0) -> list[str]:
    """Block-style YAML for dicts, lists and scalars (the subset CloudFormation properties use)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines += [f"{pad}{_scalar(key)}:", *yaml_lines(item, indent + 2)]
            else:
                lines.append(f"{pad}{_scalar(key)}: {_empty_or_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                nested = yaml_lines(item, indent + 2)
                lines += [f"{pad}- {nested[0].lstrip()}", *nested[1:]]
            else:
                lines.append(f"{pad}- {_empty_or_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return lines


def _empty_or_scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def cloudformation_yaml(logical_id: str, fix: IacFix) -> str:
    """The resource with the properties to add, as a ``Resources:`` fragment of a YAML template."""
    resource = {"Type": fix.resource_type, "Properties": fix.properties}
    return "\n".join(yaml_lines({"Resources": {logical_id or "Resource": resource}})) + "\n"


# --- CDK (Python) -----------------------------------------------------------------------------------------


def _kms_key(key: str) -> str:
    if ":key/" in key:
        return f'kms.Key.from_key_arn(self, "OrgGuardKey", {json.dumps(key)})'
    if "alias/" in key:
        return f'kms.Alias.from_alias_name(self, "OrgGuardKey", {json.dumps("alias/" + key.split("alias/", 1)[1])})'
    return ('kms.Key.from_key_arn(self, "OrgGuardKey", Stack.of(self).format_arn(service="kms", resource="key", '
            f"resource_name={json.dumps(key)}))")


_ENCRYPTION = {("aws:kms", False): "KMS_MANAGED", ("aws:kms", True): "KMS", ("AES256", False): "S3_MANAGED",
               ("aws:kms:dsse", False): "DSSE_MANAGED", ("aws:kms:dsse", True): "DSSE"}


def _bucket_encryption(config: dict[str, Any]) -> list[str]:
    rules = config.get("ServerSideEncryptionConfiguration") or [{}]
    rule = rules[0]
    default = rule.get("ServerSideEncryptionByDefault") or {}
    algorithm, key = str(default.get("SSEAlgorithm", "AES256")), str(default.get("KMSMasterKeyID", ""))
    args = [f"encryption=s3.BucketEncryption.{_ENCRYPTION.get((algorithm, bool(key)), 'S3_MANAGED')}"]
    if key:
        args.append(f"encryption_key={_kms_key(key)}")
    if "BucketKeyEnabled" in rule:
        args.append(f"bucket_key_enabled={bool(rule['BucketKeyEnabled'])}")
    blocked = (rule.get("BlockedEncryptionTypes") or {}).get("EncryptionType") or []
    if blocked:
        types = ", ".join(f"s3.BlockedEncryptionType.{str(t).replace('-', '_')}" for t in blocked)
        args.append(f"blocked_encryption_types=[{types}]")
    return args


def _public_access(config: dict[str, Any]) -> list[str]:
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    if all(config.get(name) is True for name in names):
        return ["block_public_access=s3.BlockPublicAccess.BLOCK_ALL"]
    snake = {n: re.sub(r"(?<!^)([A-Z])", r"_\1", n).lower() for n in names}
    return ["block_public_access=s3.BlockPublicAccess(" + ", ".join(
        f"{snake[n]}={bool(config[n])}" for n in names if n in config) + ")"]


_BUCKET_PROPS = {"BucketEncryption": _bucket_encryption, "PublicAccessBlockConfiguration": _public_access}


def _bucket(added: dict[str, Any]) -> tuple[list[str], list[str]]:
    args = [arg for name, render in _BUCKET_PROPS.items() if name in added for arg in render(added[name])]
    rest = [name for name in added if name not in _BUCKET_PROPS]
    if not args:
        return [], rest
    return ["bucket = s3.Bucket(self, ...,  # the construct of this bucket: add these arguments",
            *(f"    {arg}," for arg in args), ")"], rest


def _instance(added: dict[str, Any]) -> tuple[list[str], list[str]]:
    lines = ["# instance: the ec2.Instance construct of this resource"]
    for index, group in enumerate(added.get("SecurityGroupIds") or []):
        lines.append(f"instance.add_security_group(ec2.SecurityGroup.from_security_group_id("
                     f'self, "OrgGuardGroup{index}", {json.dumps(group)}))')
    for tag in added.get("Tags") or []:
        lines.append(f"Tags.of(instance).add({json.dumps(tag['Key'])}, {json.dumps(tag['Value'])})")
    return lines, [name for name in added if name not in ("SecurityGroupIds", "Tags")]


_CDK = {"AWS::S3::Bucket": _bucket, "AWS::EC2::Instance": _instance}


def _overrides(fix: IacFix, names: list[str]) -> list[str]:
    """What no L2 argument says: CloudFormation's own property, through the construct's escape hatch."""
    return [f"{_variable(fix)}.node.default_child.add_property_override("
            f"{json.dumps(name)}, {fix.properties.get(name, fix.added.get(name))!r})" for name in names]


def _variable(fix: IacFix) -> str:
    return {"AWS::S3::Bucket": "bucket", "AWS::EC2::Instance": "instance"}.get(fix.resource_type, "resource")


def cdk_snippet(fix: IacFix) -> str:
    """The same fix in a CDK (Python) app: L2 arguments where the construct has them, else property overrides."""
    added = fix.added or fix.properties
    render = _CDK.get(fix.resource_type)
    lines, rest = render(added) if render is not None else ([], list(added))
    return "\n".join([*lines, *_overrides(fix, rest)]) + "\n"


def cdk_note(stack: str) -> str:
    return (f'If the stack "{stack}" was made by the CDK (its template has aws:cdk:path metadata; OrgGuard does not '
            "read stack templates), change the construct in the CDK app instead of the template; the next "
            "`cdk deploy` would otherwise undo the fix.")


def render(entry: dict[str, Any]) -> dict[str, Any]:
    """An audit record's drift entry as the e-mail and ``audit --drift`` show it."""
    fix = IacFix.from_dict(entry)
    stack, logical_id = str(entry.get("stack", "")), str(entry.get("logical_id", ""))
    return {"resource": str(entry.get("resource", "")), "stack": stack, "logical_id": logical_id,
            "resource_type": fix.resource_type, "cloudformation": cloudformation_yaml(logical_id, fix),
            "cdk": cdk_snippet(fix), "cdk_note": cdk_note(stack)}


def first_rendered(entries: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The e-mail's ``iac``: the first stack-owned resource's fix, or None."""
    return render(entries[0]) if entries else None
