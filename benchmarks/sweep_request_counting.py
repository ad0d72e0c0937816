"""Requests counted at the embedded AWS's server, by ``service:Operation``: the counter, how a request is named,
and the server whose moto application counts every request it serves."""

from __future__ import annotations

import contextlib
import io
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any


class RequestCounter:
    """Requests the server answered, by ``service:Operation`` (thread-safe; the server is threaded)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)


def _service(environ: dict[str, Any]) -> str:
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    if "Credential=" in authorization:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            return scope[3]
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
    credential = query.get("X-Amz-Credential", [""])[0].split("/")
    return credential[3] if len(credential) >= 4 else "unsigned"


def _s3_operation(environ: dict[str, Any]) -> str:
    method = str(environ.get("REQUEST_METHOD", ""))
    path = str(environ.get("PATH_INFO", "/")).strip("/")
    keys = sorted(k for k in urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")),
                                                   keep_blank_values=True)
                  if not k.startswith("X-Amz-") and k not in ("max-buckets", "bucket-region", "prefix"))
    level = "service" if not path else ("bucket" if "/" not in path else "object")
    return f"{method} {level}" + (f" ?{','.join(keys)}" if keys else "")


def operation(environ: dict[str, Any]) -> str:
    """``service:Operation`` of a request, from the headers, the query or the (buffered) form body."""
    service = _service(environ)
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    if service == "s3":
        return f"s3:{_s3_operation(environ)}"
    action = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", ""))).get("Action")
    if not action and str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
    if action:
        return f"{service}:{action[0]}"
    path = str(environ.get("PATH_INFO", "/")).strip("/").split("/")
    return f"{service}:{environ.get('REQUEST_METHOD', '')} {path[0] if path else ''}".rstrip()


@contextlib.contextmanager
def counting_server(counter: RequestCounter, region: str) -> Iterator[Any]:
    """The sandbox's embedded AWS, with moto's application wrapped to count every request it serves."""
    from moto.moto_server import threaded_moto_server

    from sandbox.aws.server import embedded_aws
    from sandbox.aws.strictness import Strictness

    original = threaded_moto_server.DomainDispatcherApplication

    class CountingApplication(original):  # type: ignore[misc, valid-type]
        def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
                counter.add(operation(environ))
            return super().__call__(environ, start_response)

    threaded_moto_server.DomainDispatcherApplication = CountingApplication  # type: ignore[misc]
    try:
        # Buckets without default encryption are an account's from before 2023 (S3 gives every new bucket SSE-S3).
        with embedded_aws(region, Strictness(s3_default_encryption=False)) as aws:
            yield aws
    finally:
        threaded_moto_server.DomainDispatcherApplication = original  # type: ignore[misc]
