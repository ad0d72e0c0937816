"""AWS Organizations' delegated administration: a member account that may read the organization.

On AWS the management account writes a resource-based delegation policy (``PutResourcePolicy``) naming the
accounts that may call Organizations' read operations, and those accounts then get the management account's
answers (an account is also made a delegated administrator of a service with ``RegisterDelegatedAdministrator``).
moto implements neither: it has no resource policy, and it answers a member account from an empty organization of
its own. This part keeps the policy, and hands a member's Organizations call to moto as the management account
would see it, once IAM (which evaluates the delegation policy as the resource's policy) has allowed it. Only the
management account may write the policy, as on AWS.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field

from sandbox.aws import state
from sandbox.aws.gateway import Response
from sandbox.aws.iam.principals import Principals
from sandbox.aws.wire import AwsCall

POLICY_OPERATIONS = ("PutResourcePolicy", "DescribeResourcePolicy", "DeleteResourcePolicy")
# The answers a delegated account gets from the organization (writes stay with the management account).
READS_PREFIXES = ("Describe", "List")


@dataclass
class OrganizationsDelegation:
    principals: Principals
    name: str = "organizations-delegation"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        state.DELEGATION_POLICIES.clear()

    def before(self, call: AwsCall) -> Response | None:
        if call.service != "organizations":
            return None
        principal = self.principals.of(call.access_key)
        account = principal.account if principal is not None else ""
        org = state.organization_of(account) if account else None
        if call.operation in POLICY_OPERATIONS:
            return self._policy(call, account, org)
        if org is not None and account != org.management_account and call.operation.startswith(READS_PREFIXES):
            call.forward_as = self.principals.management_key  # moto answers from the organization itself
        return None

    def after(self, call: AwsCall, response: Response) -> Response:
        return response

    def _policy(self, call: AwsCall, account: str, org: state.OrgView | None) -> Response:
        if org is None:
            return _error(400, "AWSOrganizationsNotInUseException",
                          "Your account is not a member of an organization.")
        if account != org.management_account:
            return _error(400, "AccessDeniedException",
                          "You can only call this operation from the organization's management account.")
        arn_base = f"arn:aws:organizations::{org.management_account}:resourcepolicy/{org.organization_id}"
        with self._lock:
            if call.operation == "PutResourcePolicy":
                content = str(call.params.get("Content", ""))
                try:
                    json.loads(content)
                except ValueError:
                    return _error(400, "MalformedPolicyDocumentException", "The provided policy document is not valid.")
                policy_id = "rp-" + uuid.uuid5(uuid.NAMESPACE_URL, org.organization_id).hex[:8]
                state.DELEGATION_POLICIES[org.organization_id] = (f"{arn_base}/{policy_id}", content)
            stored = state.DELEGATION_POLICIES.get(org.organization_id)
            if call.operation == "DeleteResourcePolicy":
                state.DELEGATION_POLICIES.pop(org.organization_id, None)
        if stored is None:
            return _error(400, "ResourcePolicyNotFoundException", "We can't find a resource policy request with the "
                                                                   "parameter that you specified.")
        if call.operation == "DeleteResourcePolicy":
            return _json({})
        arn, content = stored
        return _json({"ResourcePolicy": {"ResourcePolicySummary": {"Id": arn.rsplit("/", 1)[-1], "Arn": arn},
                                         "Content": content}})


def _json(document: dict[str, object]) -> Response:
    return Response(200, [("Content-Type", "application/x-amz-json-1.1")], json.dumps(document).encode())


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)],
                    json.dumps({"__type": code, "Message": message}).encode())
