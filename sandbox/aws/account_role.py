"""What AWS Organizations does when it creates an account: the ``OrganizationAccountAccessRole``.

Organizations creates that role in every account it creates, trusting the management account, with the AWS
managed policy AdministratorAccess. moto creates the role with its trust but without any permission, so with IAM
enforced the organization's administrator could do nothing in a new account. This part gives the role what
Organizations gives it (and creates it if moto did not).
"""

from __future__ import annotations

import json

from sandbox.aws.gateway import Response
from sandbox.aws.wire import AwsCall

DEFAULT_ROLE = "OrganizationAccountAccessRole"
ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def create_access_role(account: str, management_account: str, role_name: str = DEFAULT_ROLE) -> None:
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    existing = next((r for r in list(backend.roles.values()) if r.name == role_name), None)
    if existing is not None and (existing.policies or existing.managed_policies):
        return
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{management_account}:root"},
        "Action": "sts:AssumeRole"}]}
    if existing is None:
        backend.create_role(role_name=role_name, assume_role_policy_document=json.dumps(trust), path="/",
                            permissions_boundary=None, description="Created by AWS Organizations", tags=[],
                            max_session_duration=None)
    # AWS attaches the managed policy AdministratorAccess; moto loads no AWS managed policies by default, so
    # the same document is put inline under that name.
    backend.put_role_policy(role_name, "AdministratorAccess", json.dumps(ADMINISTRATOR_ACCESS))


class AccountAccessRole:
    name = "organizations-account-role"

    def before(self, call: AwsCall) -> Response | None:
        return None

    def after(self, call: AwsCall, response: Response) -> Response:
        if call.name != "organizations:CreateAccount" or response.status != 200:
            return response
        status = json.loads(response.body or b"{}").get("CreateAccountStatus", {})
        account = str(status.get("AccountId", ""))
        if account:
            from sandbox.aws.state import organization_of

            org = organization_of(account)
            if org is not None:
                create_access_role(account, org.management_account,
                                   str(call.params.get("RoleName") or DEFAULT_ROLE))
        return response
