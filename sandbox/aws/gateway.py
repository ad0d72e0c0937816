"""The front door of the embedded AWS: every HTTP request passes here before moto sees it.

``Gateway`` wraps moto's WSGI application. For each request it works out the call (``sandbox/aws/wire.py``) and
hands it to the registered parts in order:

- ``before(call)`` may answer instead of moto (an IAM denial, an EC2 read inside the consistency window);
- ``after(call, response)`` sees moto's answer and may change it or act on it (new credentials from AssumeRole,
  S3's default encryption on a new bucket, an automatic StackSet deployment after MoveAccount).

Requests that are not AWS API calls (moto's own ``/moto-api``) pass untouched. Production code never knows: it
talks HTTP to an endpoint, as it does on AWS.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sandbox.aws.wire import AwsCall, UnknownRequest, parse

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def with_body(self, body: bytes) -> Response:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        return Response(self.status, headers, body)


class Part(Protocol):
    """A named piece of AWS behaviour moto lacks."""

    name: str

    def before(self, call: AwsCall) -> Response | None: ...

    def after(self, call: AwsCall, response: Response) -> Response: ...


@dataclass
class Gateway:
    app: WsgiApp
    parts: list[Part] = field(default_factory=list)
    calls: int = 0  # AWS API calls seen
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith("/moto-api") or not self.parts:
            return self.app(environ, start_response)
        body = _read_body(environ)
        try:
            call = parse(environ, body)
        except UnknownRequest:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.app(environ, start_response)
        with self._lock:
            self.calls += 1
        for part in self.parts:
            answer = part.before(call)
            if answer is not None:
                return _send(answer, start_response)
        if call.forward_as:
            environ["HTTP_AUTHORIZATION"] = str(environ.get("HTTP_AUTHORIZATION", "")).replace(
                f"Credential={call.access_key}/", f"Credential={call.forward_as}/", 1)
        response = self._moto(environ, body)
        for part in self.parts:
            response = part.after(call, response)
        return _send(response, start_response)

    def _moto(self, environ: dict[str, Any], body: bytes) -> Response:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return Response(int(str(captured["status"]).split(" ", 1)[0]), list(captured["headers"]), content)


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(stream.read(int(length)))
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""


_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            500: "Internal Server Error"}


def _send(response: Response, start_response: StartResponse) -> list[bytes]:
    headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(response.body))))
    start_response(f"{response.status} {_REASONS.get(response.status, 'Status')}", headers)
    return [response.body]
