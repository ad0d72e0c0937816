"""Resource types moto's CloudFormation skips, taught to it where the strict sandbox depends on them.

``AWS::SQS::QueuePolicy``: moto accepts it and creates nothing. The hub's policies are created afterwards by
``sandbox/world/moto_gaps.py``, but the spoke's stacks come from StackSets, which moto deploys inside its own process.
With IAM enforced, the spoke's dead-letter queue would then refuse EventBridge (a same-account service principal
needs the queue policy), so a misdelivered event would be lost where AWS keeps it. This part makes moto's
CloudFormation create the policy, in every stack, through the same SQS backend call SetQueueAttributes uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_saved: dict[str, Callable[..., Any]] = {}


class QueuePolicy:
    """What moto's CloudFormation needs of a resource model (``create_from_cloudformation_json`` and the ids)."""

    def __init__(self, queue_urls: list[str], document: dict[str, Any], account_id: str, region: str) -> None:
        self.queue_urls = queue_urls
        self.document = document
        self.account_id = account_id
        self.region = region

    @property
    def physical_resource_id(self) -> str:
        return "|".join(self.queue_urls)

    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return False

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **_: Any) -> QueuePolicy:
        properties = cloudformation_json.get("Properties", {})
        policy = cls([str(q) for q in properties.get("Queues", [])], dict(properties.get("PolicyDocument", {})),
                     account_id, region_name)
        policy.apply(json.dumps(policy.document))
        return policy

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: QueuePolicy, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> QueuePolicy:
        original_resource.apply("")
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str) -> None:
        properties = cloudformation_json.get("Properties", {})
        cls([str(q) for q in properties.get("Queues", [])], {}, account_id, region_name).apply("")

    def apply(self, policy: str) -> None:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.account_id][self.region]
        for url in self.queue_urls:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            if name in backend.queues:
                backend.set_queue_attributes(name, {"Policy": policy})

    def delete(self, account_id: str, region_name: str) -> None:
        self.apply("")


TAUGHT: dict[str, type] = {"AWS::SQS::QueuePolicy": QueuePolicy}


def install() -> None:
    from moto.cloudformation import parsing

    if "resource_class_from_type" in _saved:
        return
    original = parsing.resource_class_from_type
    _saved["resource_class_from_type"] = original

    def resource_class_from_type(resource_type: str) -> Any:
        return TAUGHT.get(resource_type) or original(resource_type)

    parsing.resource_class_from_type = resource_class_from_type


def uninstall() -> None:
    from moto.cloudformation import parsing

    original = _saved.pop("resource_class_from_type", None)
    if original is not None:
        parsing.resource_class_from_type = original
