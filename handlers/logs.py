"""Structured logs of the Lambdas: one JSON object per line, with the keys an operator filters on.

Every record carries ``timestamp``, ``level``, ``message`` and ``logger``; what a call passes in ``extra``
(``event_id``, ``policy``, ``account``, ``outcome``, ...) becomes keys of the same object, as Powertools'
logger does, plus ``request_id`` of the invocation.

Only a real Lambda runtime (``AWS_EXECUTION_ENV``) gets the handler: there the runtime's root logger is set
to the function's ApplicationLogLevel, WARNING by default, and formats only its own keys, so the
``orgguard`` logger is set to INFO explicitly and writes its own lines (not propagated, or the runtime would
print each record a second time). Elsewhere (the sandbox, tests, the CLI) the host's logging configuration
applies, and nothing is written to a stdout that may be carrying a command's JSON output.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

LOGGER = "orgguard"
LAMBDA_ENVIRONMENT_PREFIX = "AWS_Lambda_"
# Attributes every LogRecord has: what is not among them came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_request_id = ""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
                         .replace("+00:00", "Z"),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        if _request_id:
            line["request_id"] = _request_id
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and k not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, sort_keys=False)


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the ``sys.stdout`` of the moment (Lambda's, or a test's capture)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def in_lambda(environ: dict[str, str] | None = None) -> bool:
    return (environ if environ is not None else os.environ).get("AWS_EXECUTION_ENV", "").startswith(
        LAMBDA_ENVIRONMENT_PREFIX)


def configure_lambda_logging() -> None:
    """Called once per execution environment by each Lambda adapter, before anything is logged."""
    if not in_lambda(dict(os.environ)):
        return
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)  # the hub sets ApplicationLogLevel INFO too; see the module docstring
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False


@contextlib.contextmanager
def invocation(context: Any) -> Iterator[None]:
    """Stamp the invocation's request id on every line logged while it runs."""
    global _request_id
    previous = _request_id
    _request_id = str(getattr(context, "aws_request_id", "") or "")
    try:
        yield
    finally:
        _request_id = previous
