"""Which AWS errors are transient (raise, so Lambda retries) and which end in an outcome."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

ACCESS_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "InvalidClientTokenId"}
TRANSIENT_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "RequestThrottled",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestThrottledException",
    "SlowDown", "InternalError", "InternalFailure", "InternalServerError", "ServiceUnavailable",
    "ServiceUnavailableException", "Unavailable", "RequestTimeout", "RequestTimeoutException",
    "PriorRequestNotComplete", "TransactionInProgressException", "EC2ThrottledException",
}


class NotYetVisible(Exception):
    """AWS does not show, or cannot yet change, a resource the event says was just created.

    EC2 is eventually consistent: right after RunInstances, ``InvalidInstanceID.NotFound`` (or
    ``IncorrectInstanceState`` on a ``pending`` instance) does not mean the instance is gone. Transient:
    the event is retried (Lambda's asynchronous retries), and after the policy's window "not found" is gone.
    """


class RuntimeIncomplete(Exception):
    """A step needs a part of the runtime (audit log, notifier) that this runtime was built without.

    Raised instead of an ``assert`` so the check survives ``python -O`` and names what was missing."""

    def __init__(self, part: str) -> None:
        super().__init__(f"the runtime has no {part}")
        self.part = part


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "")) or "ClientError"
    return type(error).__name__


def is_transient(error: BaseException) -> bool:
    if isinstance(error, NotYetVisible):
        return True
    if isinstance(error, (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError)):
        return True
    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return error_code(error) in TRANSIENT_CODES or status >= 500
    return False
