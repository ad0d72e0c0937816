"""A guardrail that exists only in the tests: every SQS queue has server-side encryption (SSE-SQS or KMS).

It is one module (and its e-mail template next to it), written only against the contract
(``handlers.guardrails.base``) and registered for a test with ``handlers.registry.registered``. Nothing else
in the repository names it: the tests that use it show that the spoke, the hub, the settings, the sweep,
replay and the e-mail all pick it up from the registry.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from handlers import outcome as oc
from handlers.cloudtrail_fields import params, response
from handlers.exemptions import tags_to_dict
from handlers.guardrails.base import Finding, Guardrail, Permission, Subject, SweepScope, console_domain
from handlers.outcome import Action
from handlers.settings_checks import MODES, Checker

if TYPE_CHECKING:
    from handlers.context import PolicyContext
    from handlers.events import ApiCallEvent
    from handlers.settings import Settings

QUEUE_ARN = "arn:${AWS::Partition}:sqs:*:${AWS::AccountId}:*"
GONE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


@dataclass(frozen=True)
class SqsEncryption:
    mode: str = "enforce"
    allow_unencrypted_prefix: str = ""  # queues named with this prefix may stay unencrypted ("" = none)


def _queue_name(url: str) -> str:
    return url.rstrip("/").rpartition("/")[2]


class SqsEncryptionGuardrail(Guardrail):
    id = "sqs-encryption"
    title = "SQS server-side encryption"
    severity = "medium"
    event_source = "sqs.amazonaws.com"
    event_names = ("CreateQueue", "SetQueueAttributes")
    resource_type = "AWS::SQS::Queue"
    settings_type = SqsEncryption
    template = "fake_guardrail.txt.j2"
    replay = "tests.support.fake_guardrail:seed_event"
    sweepable = True
    permissions = (
        Permission("sqs:GetQueueAttributes", (QUEUE_ARN,)),
        Permission("sqs:ListQueueTags", (QUEUE_ARN,)),
        Permission("sqs:SetQueueAttributes", (QUEUE_ARN,)),
        Permission("sqs:ListQueues", ("*",), scopable=False, why="ListQueues has no resource-level permissions"),
    )
    example = '# Every queue has server-side encryption.\nmode = "enforce"\nallow_unencrypted_prefix = ""\n'

    def resource_ids(self, detail: dict[str, Any]) -> list[str]:
        url = response(detail).get("queueUrl") or params(detail).get("queueUrl")
        return [url] if isinstance(url, str) and url else []

    def parse_settings(self, raw: dict[str, Any], checker: Checker, key: str) -> SqsEncryption:
        checker.unknown(raw, key, {"mode", "allow_unencrypted_prefix"})
        return SqsEncryption(checker.string(raw, key, "mode", "enforce", choices=MODES),
                             checker.string(raw, key, "allow_unencrypted_prefix", ""))

    def read(self, ctx: PolicyContext, resource_ids: list[str], known: dict[str, Any] | None = None,
             event: ApiCallEvent | None = None) -> dict[str, Any]:
        sqs = ctx.client("sqs")
        states: dict[str, Any] = {}
        for url in resource_ids:
            try:
                attributes = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["SqsManagedSseEnabled", "KmsMasterKeyId"])["Attributes"]
                tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
            except ClientError as error:
                if error.response.get("Error", {}).get("Code", "") not in GONE:
                    raise
                states[url] = None
                continue
            encrypted = attributes.get("SqsManagedSseEnabled") == "true" or bool(attributes.get("KmsMasterKeyId"))
            states[url] = {"encrypted": encrypted, "tags": tags_to_dict([{"Key": k, "Value": v}
                                                                          for k, v in tags.items()])}
        return states

    def evaluate(self, resource: str, state: Any, subject: Subject) -> Finding:
        if state is None:
            return Finding(resource, oc.GONE, "the queue no longer exists", notify=False)
        before = {"encrypted": state["encrypted"]}
        prefix = subject.standard.allow_unencrypted_prefix
        exempt = subject.exemption(state["tags"]) or (
            f"named {prefix}*" if prefix and _queue_name(resource).startswith(prefix) else None)
        if state["encrypted"]:
            return Finding(resource, oc.COMPLIANT, "server-side encryption is on", before, before)
        if exempt:
            return Finding(resource, oc.EXEMPT, f"exempt ({exempt})", before, before, notify=False)
        fix = Action("sqs:SetQueueAttributes", {"QueueUrl": resource, "Attributes": {"SqsManagedSseEnabled": "true"}})
        if not subject.enforcing:
            return Finding(resource, oc.REPORTED, "unencrypted (report mode: not changed)", before, before, [fix])
        return Finding(resource, oc.REMEDIATED, "turned on SSE-SQS", before, {"encrypted": True}, [fix])

    def list_resources(self, scope: SweepScope) -> dict[str, Any]:
        urls = scope.client("sqs").list_queues().get("QueueUrls", [])
        return {url: None for url in urls}

    def console_link(self, resource: str, region: str) -> str:
        return f"https://{region}.{console_domain(region)}/sqs/v3/home?region={region}#/queues/{resource}"


GUARDRAIL = SqsEncryptionGuardrail()


def seed_event(session: Any, event: ApiCallEvent, settings: Settings) -> Any:
    """The replay seeder: the queue the call created, unencrypted as the request asked."""
    from sandbox.replay.shapes import Seeded

    detail = copy.deepcopy(event.detail)
    name = params(detail).get("queueName") or _queue_name(str(response(detail).get("queueUrl", "")))
    sqs = session.client("sqs", region_name=event.region)
    url = sqs.create_queue(QueueName=name, Attributes={"SqsManagedSseEnabled": "false"})["QueueUrl"]
    detail.setdefault("responseElements", {})["queueUrl"] = url
    return Seeded(detail, [f"queue {name} seeded without encryption, as the request asked"])
