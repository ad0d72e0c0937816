"""The spoke template tests' configs (one per config shape the templates must handle, each validated),
the hub account and operator roles in them, and readers of a rendered template."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from handlers.settings import Settings, validate

PARTITION = "${AWS::Partition}"
HUB_ACCOUNT = "222222222222"


OPERATOR_ROLES = [
    f"arn:aws:iam::{HUB_ACCOUNT}:role/Platform",
    f"arn:aws:iam::{HUB_ACCOUNT}:role/ops/Security",
]


CONFIGS: dict[str, dict[str, Any]] = {
    "one-region": {"organization": {"regions": ["us-east-1"]}},
    "several-regions": {
        "organization": {"regions": ["us-east-1", "eu-west-1", "ap-southeast-2", "eu-central-1"]},
    },
    "kms-key-set": {"policies": {"s3-encryption": {"kms_key": "alias/org-s3-{account}-{region}"}}},
    "aes256-no-kms-key": {"policies": {"s3-encryption": {"algorithm": "AES256"}}},
    "operator-roles": {"organization": {"operator_roles": OPERATOR_ROLES}},
    "home-region-not-first": {
        "organization": {"hub_region": "us-west-2", "regions": ["eu-west-1", "eu-central-1", "us-west-2"],
                         "home_region": "eu-central-1"},
        "hub": {"bus_name": "guardrails.bus"},
    },
    "hub-outside-governed-regions": {
        "organization": {"hub_region": "ca-central-1", "regions": ["sa-east-1", "ap-northeast-1"]},
    },
    "govcloud": {
        "organization": {"hub_region": "us-gov-west-1", "regions": ["us-gov-west-1", "us-gov-east-1"],
                         "operator_roles": [f"arn:aws-us-gov:iam::{HUB_ACCOUNT}:role/Platform"]},
    },
}


def settings_for(name: str) -> Settings:
    return validate(CONFIGS[name], f"config {name}")


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == resource_type}


def walk_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from walk_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_strings(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
