"""Fault injection around boto3 clients, on top of moto: error responses, hooks before a call, a call log.

A fault is an AWS error *response* returned from botocore's ``before-send`` hook, i.e. inside botocore's
retry loop: botocore parses it exactly like a response from AWS, retries it under the client's retry
policy (standard mode, 5 attempts for OrgGuard's clients) and only then raises. So "throttled beyond
botocore's retries" is literally that, and ``attempts()`` proves how often botocore tried.

moto (in-process) answers requests from a ``before-send`` hook too, and botocore calls every hook of
that event. A faulted request is therefore pointed at a URL moto does not serve, so moto never sees it:
a throttled or failed call changes nothing, as on AWS.
"""

from __future__ import annotations

import copy
import functools
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse

UNSERVED_URL = "https://fault-injected.invalid/"

# (code, HTTP status) per service, as each service reports throttling and an outage.
THROTTLING = {
    "ec2": ("RequestLimitExceeded", 503),
    "s3": ("SlowDown", 503),
    "sts": ("Throttling", 400),
    "dynamodb": ("ThrottlingException", 400),
    "sns": ("Throttling", 400),
    "sqs": ("ThrottlingException", 400),
}
SERVER_ERROR = {
    "ec2": ("InternalError", 500),
    "s3": ("ServiceUnavailable", 503),
    "sts": ("ServiceUnavailable", 503),
    "dynamodb": ("InternalServerError", 500),
    "sns": ("InternalError", 500),
    "sqs": ("InternalFailure", 500),
}
FAULT_KINDS = {"throttling": THROTTLING, "5xx": SERVER_ERROR}


@functools.cache
def protocol_of(service: str) -> str:
    return str(botocore.session.get_session().get_service_model(service).protocol)


class _Body(io.BytesIO):
    """What botocore reads a response body from (``stream()`` like urllib3's response)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def error_response(service: str, code: str, status: int, message: str) -> AWSResponse:
    """An AWS error response in the wire format of the service's protocol."""
    protocol = protocol_of(service)
    headers = {"x-amzn-RequestId": "fault-injected", "x-amz-request-id": "fault-injected"}
    if protocol == "json":
        headers["Content-Type"] = "application/x-amz-json-1.0"
        body = json.dumps({"__type": code, "message": message})
    elif protocol == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                "<RequestID>fault-injected</RequestID></Response>")
    elif protocol == "rest-xml":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-injected</RequestId></Error>"
    elif protocol == "query":
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>fault-injected</RequestId></ErrorResponse>")
    else:
        raise ValueError(f"no error format for protocol {protocol!r} of {service}")
    return AWSResponse(UNSERVED_URL, status, headers, _Body(body.encode()))


@dataclass
class Fault:
    code: str
    status: int
    message: str = ""
    remaining: int | None = None  # None: until cleared


@dataclass
class Call:
    """One API call as the caller saw it: once per call, whatever the number of attempts."""

    service: str
    operation: str
    params: dict[str, Any]
    status: int
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status < 300


def _split(event_name: str) -> tuple[str, str]:
    _, service, operation = event_name.split(".", 2)
    return service, operation


@dataclass
class Injector:
    """Attach to a session's or a client's event system; faults and hooks apply to what is attached."""

    calls: list[Call] = field(default_factory=list)
    _faults: dict[tuple[str, str], Fault] = field(default_factory=dict)
    _before: dict[tuple[str, str], list[Callable[[dict[str, Any]], None]]] = field(default_factory=dict)
    _attempts: dict[tuple[str, str], int] = field(default_factory=dict)

    def attach(self, events: Any) -> None:
        events.register_first("before-send", self._before_send)
        events.register("before-parameter-build", self._remember_params)
        events.register("before-call", self._before_call)
        events.register("after-call", self._after_call)

    # -- configuring ----------------------------------------------------------------------------------

    def fail(self, service: str, operation: str, code: str, status: int, times: int | None = None,
             message: str = "") -> None:
        self._faults[(service, operation)] = Fault(code, status, message or f"injected {code}", times)

    def fail_kind(self, kind: str, service: str, operation: str, times: int | None = None) -> tuple[str, int]:
        code, status = FAULT_KINDS[kind][service]
        self.fail(service, operation, code, status, times)
        return code, status

    def before(self, service: str, operation: str, hook: Callable[[dict[str, Any]], None]) -> None:
        """Run ``hook(api_params)`` right before each call of the operation (e.g. delete the resource)."""
        self._before.setdefault((service, operation), []).append(hook)

    def clear(self) -> None:
        self._faults.clear()
        self._before.clear()

    # -- reading ------------------------------------------------------------------------------------------

    def attempts(self, service: str, operation: str) -> int:
        """HTTP attempts botocore made for the operation (retries included)."""
        return self._attempts.get((service, operation), 0)

    def successes(self, service: str, operation: str) -> list[Call]:
        return [c for c in self.calls if (c.service, c.operation) == (service, operation) and c.succeeded]

    def operations(self) -> set[tuple[str, str]]:
        return {(c.service, c.operation) for c in self.calls}

    def writes(self, names: tuple[tuple[str, str], ...]) -> dict[str, int]:
        return {f"{s}:{o}": len(self.successes(s, o)) for s, o in names}

    # -- hooks ----------------------------------------------------------------------------------------------

    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["injector_params"] = copy.deepcopy(params)

    def _before_call(self, event_name: str, context: dict[str, Any], **_: Any) -> None:
        for hook in self._before.get(_split(event_name), []):
            hook(context.get("injector_params", {}))

    def _before_send(self, event_name: str, request: Any, **_: Any) -> AWSResponse | None:
        key = _split(event_name)
        self._attempts[key] = self._attempts.get(key, 0) + 1
        fault = self._faults.get(key)
        if fault is None or fault.remaining == 0:
            return None
        if fault.remaining is not None:
            fault.remaining -= 1
        request.url = UNSERVED_URL  # moto must not act on a request that "failed"
        return error_response(key[0], fault.code, fault.status, fault.message)

    def _after_call(self, event_name: str, http_response: Any, parsed: dict[str, Any], context: dict[str, Any],
                    **_: Any) -> None:
        service, operation = _split(event_name)
        error = str((parsed.get("Error") or {}).get("Code", "")) if isinstance(parsed, dict) else ""
        self.calls.append(Call(service, operation, context.get("injector_params", {}),
                               int(http_response.status_code), error))
