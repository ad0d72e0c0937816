"""What an HTTP request to the embedded AWS asks for: service, region, credentials, operation and parameters.

The gateway (``sandbox/aws/gateway.py``) sees the raw WSGI request before moto does. The operation is found the
way AWS's front ends find it, from botocore's service models (AWS's own API definitions): the ``X-Amz-Target``
header for the JSON protocol, the ``Action`` parameter for the query and EC2 protocols, the request URI for the
REST protocols (``GET /bucket?encryption`` is ``GetBucketEncryption``), the path for Smithy RPC v2 CBOR. The
service and region come from the SigV4 credential scope, the access key from the same header.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel

_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_PRESIGNED = "X-Amz-Credential"


class UnknownRequest(ValueError):
    """The request names no operation botocore's models know (the gateway then leaves it to moto)."""


@dataclass(frozen=True)
class UriTemplate:
    """One REST operation's ``requestUri``: path segments (literals and labels) and the query it requires."""

    operation: str
    method: str
    segments: tuple[str, ...]
    query: tuple[tuple[str, str | None], ...]
    headers: tuple[str, ...] = ()  # required header members (``x-amz-copy-source`` tells CopyObject from PutObject)

    @classmethod
    def parse(cls, operation: OperationModel) -> UriTemplate:
        uri = str(operation.http.get("requestUri", "/"))
        path, _, query = uri.partition("?")
        required: list[tuple[str, str | None]] = []
        for part in filter(None, query.split("&")):
            name, equals, value = part.partition("=")
            required.append((name, value if equals else None))
        segments = tuple(s for s in path.split("/") if s)
        headers: list[str] = []
        shape = operation.input_shape
        if shape is not None:
            for name in shape.required_members:
                member = shape.members[name]
                if member.serialization.get("location") == "header":
                    headers.append(str(member.serialization.get("name", name)).lower())
        return cls(operation.name, str(operation.http.get("method", "GET")), segments, tuple(required),
                   tuple(headers))

    def match(self, method: str, segments: list[str], query: dict[str, str],
              headers: dict[str, str] | None = None) -> dict[str, str] | None:
        if method != self.method:
            return None
        if any(h not in (headers or {}) for h in self.headers):
            return None
        for name, value in self.query:
            if name not in query or (value is not None and query[name] != value):
                return None
        labels: dict[str, str] = {}
        for index, template in enumerate(self.segments):
            if template.startswith("{") and template.endswith("+}"):
                if index >= len(segments):
                    return None
                labels[template[1:-2]] = "/".join(segments[index:])
                return labels
            if index >= len(segments):
                return None
            if template.startswith("{") and template.endswith("}"):
                labels[template[1:-1]] = segments[index]
            elif template != segments[index]:
                return None
        return labels if len(segments) == len(self.segments) else None


@dataclass
class _Models:
    """botocore's service models by signing name, loaded once per process."""

    _by_signing_name: dict[str, ServiceModel] = field(default_factory=dict)
    _templates: dict[str, list[UriTemplate]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _names: dict[str, list[str]] | None = None

    def _signing_names(self) -> dict[str, list[str]]:
        if self._names is None:
            session = botocore.session.get_session()
            loader = session.get_component("data_loader")
            names: dict[str, list[str]] = {}
            for service in loader.list_available_services("service-2"):
                metadata = loader.load_service_model(service, "service-2")["metadata"]
                signing = metadata.get("signingName", metadata.get("endpointPrefix", service))
                names.setdefault(signing, []).append(service)
            self._names = names
        return self._names

    def model(self, signing_name: str, target_prefix: str = "") -> ServiceModel:
        key = f"{signing_name}#{target_prefix}"
        with self._lock:
            if key in self._by_signing_name:
                return self._by_signing_name[key]
            candidates = self._signing_names().get(signing_name, [])
            if not candidates:
                raise UnknownRequest(f"no service signs as {signing_name!r}")
            session = botocore.session.get_session()
            models = [session.get_service_model(name) for name in candidates]
            chosen = next((m for m in models if target_prefix and m.metadata.get("targetPrefix") == target_prefix),
                          None) or next((m for m in models if m.service_name == signing_name), models[0])
            self._by_signing_name[key] = chosen
            return chosen

    def templates(self, model: ServiceModel) -> list[UriTemplate]:
        with self._lock:
            if model.service_name not in self._templates:
                templates = [UriTemplate.parse(model.operation_model(name)) for name in model.operation_names]
                # The most specific first: more required query parameters, then more literal segments.
                templates.sort(key=lambda t: (-len(t.query), -len(t.headers),
                                              -sum(not s.startswith("{") for s in t.segments)))
                self._templates[model.service_name] = templates
            return self._templates[model.service_name]


MODELS = _Models()


@dataclass
class AwsCall:
    """One request to the embedded AWS, as AWS's front end would understand it."""

    service: str  # botocore service name: s3, sts, events, ...
    signing_name: str  # the SigV4 service: s3, sts, events, monitoring, tagging, ...
    region: str
    access_key: str
    operation: str
    protocol: str
    params: dict[str, Any]  # JSON body, query/form parameters, or REST labels + query parameters
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    forward_as: str = ""  # an access key moto should see instead of the caller's (a part decided so)

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"

    def listed(self, prefix: str) -> list[str]:
        """Query-protocol list members (``InstanceId.1``, ``Groups.member.1`` ...) in order."""
        pattern = re.compile(rf"^{re.escape(prefix)}(\.member)?\.(\d+)$")
        found = []
        for key, value in self.params.items():
            match = pattern.match(key)
            if match:
                found.append((int(match.group(2)), value))
        return [value for _, value in sorted(found)]


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items()
               if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def _credentials(headers: dict[str, str], query: dict[str, str]) -> tuple[str, str, str]:
    """(access key, region, signing name) from the SigV4 Authorization header or a presigned URL."""
    match = _CREDENTIAL.search(headers.get("authorization", ""))
    if match:
        return match.group(1), match.group(2), match.group(3)
    if _PRESIGNED in query:
        parts = query[_PRESIGNED].split("/")
        if len(parts) >= 4:
            return parts[0], parts[2], parts[3]
    return "", "", ""


def parse(environ: dict[str, Any], body: bytes) -> AwsCall:
    """The call an HTTP request makes; ``UnknownRequest`` when it is not a signed AWS API request."""
    headers = _headers(environ)
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = urllib.parse.unquote(str(environ.get("PATH_INFO", "/")))
    raw_query = str(environ.get("QUERY_STRING", ""))
    query = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()}
    access_key, region, signing_name = _credentials(headers, query)
    if not signing_name:
        raise UnknownRequest(f"unsigned request {method} {path}")
    target = headers.get("x-amz-target", "")
    model = MODELS.model(signing_name, target.split(".", 1)[0] if target else "")
    protocol = model.protocol
    params: dict[str, Any]
    if target:
        operation = target.split(".", 1)[1]
        params = _json(body)
    elif protocol == "smithy-rpc-v2-cbor" or path.startswith("/service/"):
        operation = path.rstrip("/").rsplit("/operation/", 1)[-1]
        params = _cbor(body)
    elif protocol in ("query", "ec2"):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if body else {}
        params = {**query, **{k: v[0] for k, v in form.items()}}
        operation = str(params.get("Action", ""))
    else:
        segments = [s for s in path.split("/") if s]
        operation, params = _rest_operation(model, method, segments, query, headers)
        params = {**query, **params}
    if operation not in model.operation_names:
        raise UnknownRequest(f"{model.service_name} has no operation {operation!r} ({method} {path})")
    return AwsCall(model.service_name, signing_name, region, access_key, operation, protocol, params, method, path,
                   query, headers, body)


def _rest_operation(model: ServiceModel, method: str, segments: list[str], query: dict[str, str],
                    headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    for template in MODELS.templates(model):
        labels = template.match(method, segments, query, headers)
        if labels is not None:
            return template.operation, labels
    raise UnknownRequest(f"{model.service_name}: no operation for {method} /{'/'.join(segments)}")


def _json(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _cbor(body: bytes) -> dict[str, Any]:
    """A Smithy RPC v2 CBOR request body, decoded with botocore's own CBOR reader."""
    if not body:
        return {}
    from botocore.parsers import RpcV2CBORParser

    parser = RpcV2CBORParser()
    try:
        value = parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))
    except Exception:  # a body botocore cannot read is judged on its operation alone
        return {}
    return value if isinstance(value, dict) else {}
