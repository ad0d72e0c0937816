"""ListStackSetAutoDeploymentTargets in AWS's wire shape: moto 5.2.5 does not implement the operation.

``sandbox/aws/stackset_autodeploy.py`` knows each StackSet's deployment targets (the OUs CreateStackInstances named,
with their regions) and answers the call with ``answer``. CloudFormation speaks the query protocol; the answer is
what botocore's CloudFormation model describes (output ``ListStackSetAutoDeploymentTargetsOutput`` inside the
``ListStackSetAutoDeploymentTargetsResult`` wrapper: ``Summaries`` of ``OrganizationalUnitId`` and ``Regions``, and
``NextToken`` when more remain; list members as ``<member>``), so boto3 parses it as it parses AWS's. An unknown
StackSet is the model's only error for the operation, ``StackSetNotFoundException`` (HTTP 404).

Pages: ``MaxResults`` (1 to 100 in the model) is honoured, and ``NextToken`` is the offset of the next page; AWS's
token is opaque, so code that follows it works either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape

from sandbox.aws.gateway import Response
from sandbox.aws.iam.errors import QUERY_NAMESPACES, error
from sandbox.aws.wire import AwsCall

OPERATION = "ListStackSetAutoDeploymentTargets"
MAX_RESULTS = 100  # the model's maximum; used when the call sets none


def answer(call: AwsCall, targets: Mapping[str, Iterable[str]] | None) -> Response:
    """The response to ``call``: ``targets`` (OU or root id -> regions) of the StackSet, None if it does not exist."""
    if targets is None:
        name = call.params.get("StackSetName", "")
        return error(call, 404, "StackSetNotFoundException", f"StackSet {name} not found")
    try:
        start = int(str(call.params.get("NextToken") or 0))
        size = int(str(call.params.get("MaxResults") or MAX_RESULTS))
    except ValueError:
        return error(call, 400, "ValidationError", "Invalid NextToken or MaxResults")
    rows = sorted((ou, sorted(set(regions))) for ou, regions in targets.items() if regions)
    page = rows[start:start + max(size, 1)]
    following = start + len(page)
    members = "".join(
        f"<member><OrganizationalUnitId>{escape(ou)}</OrganizationalUnitId><Regions>"
        + "".join(f"<member>{escape(region)}</member>" for region in regions)
        + "</Regions></member>"
        for ou, regions in page
    )
    token = f"<NextToken>{following}</NextToken>" if following < len(rows) else ""
    request_id = str(uuid.uuid4())
    body = (f'<{OPERATION}Response xmlns="{QUERY_NAMESPACES["cloudformation"]}"><{OPERATION}Result>'
            f"<Summaries>{members}</Summaries>{token}</{OPERATION}Result>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{OPERATION}Response>")
    return Response(200, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode())
