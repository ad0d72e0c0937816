"""A small CloudTrail emulator: the management events of watched sessions, on each account's default bus.

moto emits no CloudTrail events. ``CloudTrail.watch(identity)`` returns a boto3 session whose EC2 and S3
calls are recorded as CloudTrail would record them (``userIdentity`` of the caller, ``requestParameters``
and ``responseElements`` in CloudTrail's rendering of the wire format, ``errorCode`` for a failed call),
and each record of a call that changes something is put on the default event bus of the caller's account
and region as the "AWS API Call via CloudTrail" event. From there the account's real rules (the spoke)
take over. Read-only calls (Describe*, Get*, List*) are recorded but not delivered: EventBridge hands
them only to rules in the state ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS``.

Rendering follows the service models botocore ships: EC2 responses use the XML element names with lists
as ``{"items": [...]}`` (empty lists as ``{}``) and timestamps in epoch milliseconds; S3 requests carry
``bucketName``, ``Host``, the sub-resource markers of the URI and the XML payload, with a null response.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import botocore
from botocore.model import ListShape, OperationModel, Shape, StructureShape

from handlers.registry import CLOUDTRAIL_DETAIL_TYPE
from sandbox.world.identities import Identity

RECORDED_SERVICES = ("ec2", "s3")
EVENT_VERSION = "1.09"
SOURCE_IP = "198.51.100.24"  # a documentation address: the "user's" machine
S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Head")
# CloudTrail's event name where it is not the API operation's (S3's Block Public Access calls)
EVENT_NAMES = {"s3": {"PutPublicAccessBlock": "PutBucketPublicAccessBlock",
                      "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
                      "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock"}}
_PARAMS_KEY = "sandbox_cloudtrail_params"


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _epoch_millis(value: Any) -> Any:
    return int(value.timestamp() * 1000) if isinstance(value, dt.datetime) else value


def ec2_wire(shape: Shape | None, value: Any) -> Any:
    """A boto3 value in CloudTrail's JSON rendering of EC2's XML (element names, ``items`` lists)."""
    if shape is None:
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        rendered = {}
        for name, member in shape.members.items():
            if name in value:
                rendered[member.serialization.get("name", _lower_first(name))] = ec2_wire(member, value[name])
        return rendered
    if isinstance(shape, ListShape) and isinstance(value, list):
        return {"items": [ec2_wire(shape.member, item) for item in value]} if value else {}
    if shape.type_name == "timestamp":
        return _epoch_millis(value)
    return value


def _xml_json(shape: Shape, value: Any) -> Any:
    """S3's XML payload as CloudTrail shows it: element names; a repeated element is an array, one an object."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        rendered: dict[str, Any] = {}
        for name, member in shape.members.items():
            if name not in value:
                continue
            if isinstance(member, ListShape) and member.serialization.get("flattened"):
                items = [_xml_json(member.member, item) for item in value[name]]
                rendered[member.serialization.get("name", name)] = items[0] if len(items) == 1 else items
            else:
                rendered[member.serialization.get("name", name)] = _xml_json(member, value[name])
        return rendered
    if isinstance(shape, ListShape) and isinstance(value, list):
        items = [_xml_json(shape.member, item) for item in value]
        element = shape.member.serialization.get("name", shape.member.name)
        return {element: items[0] if len(items) == 1 else items}
    return value


def s3_request(operation: OperationModel, params: dict[str, Any], region: str) -> dict[str, Any]:
    bucket = str(params.get("Bucket", ""))
    host = f"{bucket}.s3.amazonaws.com" if region == "us-east-1" else f"{bucket}.s3.{region}.amazonaws.com"
    rendered: dict[str, Any] = {"bucketName": bucket, "Host": host}
    _, _, query = operation.http.get("requestUri", "").partition("?")
    for marker in filter(None, query.split("&")):
        rendered[marker.split("=", 1)[0]] = ""
    payload = operation.input_shape.serialization.get("payload") if operation.input_shape else None
    if payload and payload in params and operation.input_shape is not None:
        member = operation.input_shape.members[payload]
        body = _xml_json(member, params[payload])
        if isinstance(body, dict):
            body["xmlns"] = S3_XMLNS
        rendered[member.serialization.get("name", payload)] = body
    if operation.name == "PutBucketPolicy":  # CloudTrail shows the policy document itself, parsed
        try:
            rendered["bucketPolicy"] = json.loads(str(params.get("Policy", "")))
        except ValueError:
            rendered["bucketPolicy"] = str(params.get("Policy", ""))
    return rendered


def run_instances_request(operation: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    """RunInstances' request as CloudTrail renders it: the image and counts grouped under ``instancesSet``."""
    launch = {"imageId": params.get("ImageId", ""), "minCount": params.get("MinCount"),
              "maxCount": params.get("MaxCount")}
    if "KeyName" in params:
        launch["keyName"] = params["KeyName"]
    rest = {k: v for k, v in params.items() if k not in ("ImageId", "MinCount", "MaxCount", "KeyName")}
    rendered: dict[str, Any] = {"instancesSet": {"items": [launch]}}
    rendered.update(ec2_wire(operation.input_shape, rest))
    if "SecurityGroupIds" in params:
        rendered.pop("SecurityGroupId", None)
        rendered["groupSet"] = {"items": [{"groupId": g} for g in params["SecurityGroupIds"]]}
    if "NetworkInterfaces" in params and operation.input_shape is not None:
        rendered.pop("networkInterface", None)
        rendered["networkInterfaceSet"] = {"items": [
            _interface_request(operation.input_shape.members["NetworkInterfaces"], i)
            for i in params["NetworkInterfaces"]]}
    if "TagSpecifications" in params:
        rendered.pop("TagSpecification", None)
        rendered["tagSpecificationSet"] = {"items": [
            {"resourceType": spec.get("ResourceType", ""),
             "tags": [{"key": t["Key"], "value": t["Value"]} for t in spec.get("Tags", [])]}
            for spec in params["TagSpecifications"]]}
    rendered.setdefault("monitoring", {"enabled": False})
    rendered.setdefault("disableApiTermination", False)
    return rendered


def _interface_request(shape: Shape, interface: dict[str, Any]) -> dict[str, Any]:
    """One of RunInstances' NetworkInterfaces as CloudTrail shows it: its groups as ``groupSet`` items."""
    member = shape.member if isinstance(shape, ListShape) else shape
    rest = {k: v for k, v in interface.items() if k != "Groups"}
    rendered = ec2_wire(member, rest)
    item = dict(rendered) if isinstance(rendered, dict) else {}
    if "Groups" in interface:
        item["groupSet"] = {"items": [{"groupId": g} for g in interface["Groups"]]}
    return item


def ec2_request(operation: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    if operation.name == "RunInstances":
        return run_instances_request(operation, params)
    rendered = ec2_wire(operation.input_shape, params)
    return rendered if isinstance(rendered, dict) else {}


def error_code(service: str, code: str, status: int) -> str:
    """EC2 prefixes its error codes in CloudTrail with ``Client.`` or ``Server.``; S3 does not."""
    if service == "ec2":
        return f"{'Server' if status >= 500 else 'Client'}.{code}"
    return code


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_record(identity: Identity, region: str, operation: OperationModel, params: dict[str, Any],
                 parsed: dict[str, Any], status: int) -> dict[str, Any]:
    """The CloudTrail record of one call (pure; ``parsed`` is botocore's parsed response)."""
    service = operation.service_model.endpoint_prefix
    metadata = parsed.get("ResponseMetadata", {})
    request_id = str(metadata.get("RequestId", "")) or str(uuid.uuid4())
    failed = status >= 300
    if service == "s3":
        request = s3_request(operation, params, region)
        response: dict[str, Any] | None = None
    else:
        request = ec2_request(operation, params)
        response = None if failed else {"requestId": request_id, **ec2_wire(operation.output_shape, parsed)}
        if response is not None:
            response.pop("ResponseMetadata", None)
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity.user_identity(),
        "eventTime": _now(),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": EVENT_NAMES.get(service, {}).get(operation.name, operation.name),
        "awsRegion": region,
        "sourceIPAddress": SOURCE_IP,
        "userAgent": f"Boto3/{boto3.__version__} md/Botocore#{botocore.__version__} (OrgGuard sandbox)",
    }
    if failed:
        error = parsed.get("Error", {})
        record["errorCode"] = error_code(service, str(error.get("Code", "Unknown")), status)
        record["errorMessage"] = str(error.get("Message", ""))
    record.update({
        "requestParameters": request,
        "responseElements": response,
        "requestID": request_id,
        "eventID": str(uuid.uuid4()),
        "readOnly": operation.name.startswith(READ_ONLY_PREFIXES),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": identity.account,
        "eventCategory": "Management",
    })
    if service == "s3":
        record["additionalEventData"] = {"SignatureVersion": "SigV4", "AuthenticationMethod": "AuthHeader",
                                         "bytesTransferredIn": 0, "bytesTransferredOut": 0}
    return record


class CloudTrail:
    """Records the EC2 and S3 calls of watched sessions and delivers them to the default buses.

    ``records`` keeps every record in order (the demo and the tests look events up by ``eventID``);
    ``deliver`` is replaced in tests that only want the records.
    """

    def __init__(self, deliver: Callable[[Identity, dict[str, Any]], None] | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self._deliver = deliver or DefaultBus()
        self._lock = threading.Lock()

    def watch(self, identity: Identity, region: str | None = None) -> boto3.Session:
        """A session acting as ``identity`` whose EC2 and S3 calls CloudTrail records."""
        session = identity.session(region)
        events = session.events
        for service in RECORDED_SERVICES:
            events.register(f"provide-client-params.{service}.*", _remember_params)
            events.register(f"after-call.{service}.*",
                            lambda **kwargs: self._record(identity, **kwargs))
        return session

    def _record(self, identity: Identity, http_response: Any, parsed: dict[str, Any], model: OperationModel,
                context: dict[str, Any], **_: Any) -> None:
        params = context.get(_PARAMS_KEY, {})
        region = str(context.get("client_region") or identity.region)
        record = build_record(identity, region, model, params, parsed, int(http_response.status_code))
        with self._lock:
            self.records.append(record)
        if not record["readOnly"]:
            self._deliver(identity, record)

    def last(self, event_name: str) -> dict[str, Any]:
        for record in reversed(self.records):
            if record["eventName"] == event_name:
                return record
        raise KeyError(f"CloudTrail recorded no {event_name}")


def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context[_PARAMS_KEY] = dict(params)


def envelope_source(record: dict[str, Any]) -> str:
    """``aws.ec2``, ``aws.s3``: the source CloudTrail's events carry on EventBridge."""
    return "aws." + str(record["eventSource"]).split(".", 1)[0]


class DefaultBus:
    """Delivers records as CloudTrail does: on the default bus of the record's account and region.

    The hand-over happens inside AWS: no caller's credentials are involved and no IAM policy is evaluated, so
    the emulator puts the event on moto's bus in-process rather than through the API (where only AWS services
    may put events whose source starts with ``aws.``). The event carries the real envelope (source ``aws.s3``,
    detail-type of CloudTrail events), and the account's rules (the spoke) take it from there.
    """

    def __call__(self, identity: Identity, record: dict[str, Any]) -> None:
        from moto.events.models import events_backends

        time = dt.datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        entries = events_backends[identity.account][record["awsRegion"]].put_events([{
            "Source": envelope_source(record),
            "DetailType": CLOUDTRAIL_DETAIL_TYPE,
            "Detail": json.dumps(record),
            "Time": time.timestamp(),
            "Resources": [],
            "EventBusName": "default",
        }])
        failed = [e for e in entries if "ErrorCode" in e]
        if failed:
            raise RuntimeError(f"the default bus refused the CloudTrail event {record['eventID']}: {failed}")
