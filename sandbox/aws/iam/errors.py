"""The error an AWS service returns when IAM refuses a call, in that service's protocol and words.

boto3 must raise exactly what it raises on AWS (``ClientError`` with ``AccessDenied``, ``UnauthorizedOperation``,
``AuthorizationError`` or ``AccessDeniedException``), so the code under test meets the error it meets in a real
organization. The message follows AWS's shape: ``User: ARN is not authorized to perform: ACTION on resource: ARN
because no identity-based policy allows the ACTION action``.
"""

from __future__ import annotations

import json
import struct
import uuid
from xml.sax.saxutils import escape

from sandbox.aws.gateway import Response
from sandbox.aws.wire import AwsCall

DENIAL_CODES = {"sts": "AccessDenied", "iam": "AccessDenied", "cloudformation": "AccessDenied",
                "sns": "AuthorizationError", "ec2": "UnauthorizedOperation", "s3": "AccessDenied",
                "sqs": "AccessDenied"}
INVALID_KEY_CODES = {"s3": ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
                     "ec2": ("AuthFailure", "AWS was not able to validate the provided access credentials")}
INVALID_KEY = ("InvalidClientTokenId", "The security token included in the request is invalid.")

# iam-simulate's policy types -> the words AWS uses in a denial message.
POLICY_WORDS = {"identity": "identity-based policy", "resource": "resource-based policy",
                "scp": "service control policy", "rcp": "resource control policy",
                "permissionBoundary": "permissions boundary", "session": "session policy",
                "vpcEndpoint": "VPC endpoint policy"}
QUERY_NAMESPACES = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/",
                    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
                    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
                    "cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/"}


def denial_message(principal_arn: str, action: str, resource: str, denials: tuple[tuple[str, str], ...]) -> str:
    shown = f'"{resource}"' if action.startswith("s3:") else resource
    base = f"User: {principal_arn} is not authorized to perform: {action} on resource: {shown}"
    explicit = next((kind for kind, how in denials if how == "Explicit"), None)
    if explicit is not None:
        return f"{base} with an explicit deny in a {POLICY_WORDS.get(explicit, explicit)}"
    implicit = denials[0][0] if denials else "identity"
    return f"{base} because no {POLICY_WORDS.get(implicit, implicit)} allows the {action} action"


def access_denied(call: AwsCall, message: str) -> Response:
    code = DENIAL_CODES.get(call.service, "AccessDeniedException")
    if call.service == "ec2":
        message = f"You are not authorized to perform this operation. {message}"
    return error(call, 403, code, message)


def invalid_key(call: AwsCall) -> Response:
    code, message = INVALID_KEY_CODES.get(call.service, INVALID_KEY)
    return error(call, 403, code, message)


def internal(call: AwsCall, message: str) -> Response:
    """The sandbox cannot judge the call (no entry in its action table): a loud 500, never a silent allow."""
    return error(call, 500, "InternalFailure", message)


def error(call: AwsCall, status: int, code: str, message: str) -> Response:
    request_id = str(uuid.uuid4())
    protocol = call.protocol
    if protocol == "query":
        namespace = QUERY_NAMESPACES.get(call.service, "")
        body = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code>'
                f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return Response(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode())
    if protocol == "ec2":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>"
                f"<Message>{escape(message)}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
        return Response(status, [("Content-Type", "text/xml;charset=UTF-8")], body.encode())
    if protocol == "rest-xml":
        if call.method == "HEAD":
            return Response(status, [("x-amz-request-id", request_id)], b"")
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}'
                f"</Message><RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>")
        return Response(status, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)],
                        body.encode())
    if protocol == "rest-json":
        return Response(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                                 ("x-amzn-RequestId", request_id)], json.dumps({"Message": message}).encode())
    if protocol == "smithy-rpc-v2-cbor":
        return Response(status, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                                 ("x-amzn-RequestId", request_id)],
                        _cbor_map({"__type": code, "message": message}))
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", request_id)]
    if call.service == "sqs":  # awsQueryCompatible: the query-protocol code travels in this header
        headers.append(("x-amzn-query-error", f"{code};Sender"))
    return Response(status if call.service == "sqs" else 400, headers,
                    json.dumps({"__type": code, "message": message}).encode())


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    return _cbor_head(3, len(data)) + data


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 256:
        return bytes([major << 5 | 24, length])
    if length < 65536:
        return bytes([major << 5 | 25]) + struct.pack(">H", length)
    return bytes([major << 5 | 26]) + struct.pack(">I", length)


def _cbor_map(values: dict[str, str]) -> bytes:
    """A CBOR map of text strings (all an error body needs)."""
    out = _cbor_head(5, len(values))
    for key, value in values.items():
        out += _cbor_text(key) + _cbor_text(value)
    return out
