"""``set_logical_id``: give a construct's CloudFormation resource a stable logical id."""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import Construct


def set_logical_id(construct: Construct, logical_id: str) -> CfnResource:
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to name {logical_id}")
    child.override_logical_id(logical_id)
    return child
