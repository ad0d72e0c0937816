"""The organization as the rollout sees it: OUs, accounts and where each sits, plus the preflight checks.

Service-managed StackSets address accounts through OUs, so everything here is about the tree: which
accounts an OU holds (nested OUs included, as StackSets deploy them), which OU to name for one account,
and whether the operator is allowed to run StackSets for this organization at all. The tree and its walk
are ``handlers.organization``'s, shared with the sweep and the reconcile.
"""

from __future__ import annotations

from collections.abc import Iterable

import boto3
from botocore.exceptions import ClientError

from handlers.organization import Account, OrgTree, OrgUnit, walk
from handlers.settings import Settings
from stacksets.access import client, error_code, error_message
from stacksets.errors import RolloutError

STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
CALL_AS_SELF = "SELF"
CALL_AS_DELEGATED_ADMIN = "DELEGATED_ADMIN"

__all__ = ["Account", "OrgTree", "OrgUnit", "check_caller", "check_target_ous", "check_trusted_access",
           "load_tree", "management_account", "preflight"]

ENABLE_TRUSTED_ACCESS = (
    "in the management account run `aws cloudformation activate-organizations-access` "
    "(or: CloudFormation console > StackSets > Activate trusted access), then run this again"
)


def _organizations_error(error: ClientError) -> RolloutError:
    code = error_code(error)
    if code == "AWSOrganizationsNotInUseException":
        return RolloutError(
            "these credentials' account is not in an AWS Organization: run the rollout with credentials of "
            "the organization's management account (or a StackSets delegated administrator)"
        )
    if code in ("AccessDeniedException", "AccessDenied"):
        return RolloutError(
            f"AWS Organizations refused to describe the organization ({error_message(error)}): run this with "
            "credentials of the management account, or of a StackSets delegated administrator "
            "(--call-as DELEGATED_ADMIN)"
        )
    return RolloutError(f"AWS Organizations: {error_message(error)}")


def management_account(session: boto3.Session) -> str:
    """The organization's management account; every member account may ask."""
    try:
        return str(client(session, "organizations").describe_organization()["Organization"]["MasterAccountId"])
    except ClientError as error:
        raise _organizations_error(error) from error


def load_tree(session: boto3.Session, management: str | None = None) -> OrgTree:
    """Walk the organization from its root: every OU and every account, with their parents."""
    management = management or management_account(session)
    org = client(session, "organizations")
    try:
        root_id = org.list_roots()["Roots"][0]["Id"]
        tree = OrgTree(root_id=root_id, management_account=management)
        tree.units[root_id] = OrgUnit(root_id, "Root", "")
        walk(org, tree, [root_id])
    except ClientError as error:
        raise _organizations_error(error) from error
    return tree


def check_target_ous(tree: OrgTree, target_ous: Iterable[str]) -> None:
    targets = list(target_ous)
    if not targets:
        raise RolloutError(
            "organization.target_ous is empty: list the OUs to govern (or the root id, e.g. 'r-ab12') in the "
            "settings file; `aws organizations list-organizational-units-for-parent --parent-id <root>` "
            "lists them"
        )
    missing = [ou for ou in targets if ou not in tree.units]
    if missing:
        raise RolloutError(
            f"organization.target_ous lists {', '.join(missing)}, which does not exist in this organization "
            f"(root {tree.root_id}): fix the id in the settings file; "
            "`aws organizations list-organizational-units-for-parent --parent-id <parent>` lists the OUs"
        )


def check_trusted_access(session: boto3.Session) -> None:
    """Service-managed StackSets need trusted access between CloudFormation StackSets and Organizations."""
    org = client(session, "organizations")
    try:
        enabled = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    except ClientError as error:
        if error_code(error) in ("AccessDeniedException", "AccessDenied"):
            return  # a delegated administrator may not read this; the StackSet API then says it itself
        raise _organizations_error(error) from error
    if not any(p.get("ServicePrincipal") == STACKSETS_PRINCIPAL for p in enabled):
        raise RolloutError(
            f"trusted access for CloudFormation StackSets is not enabled in this organization: {ENABLE_TRUSTED_ACCESS}"
        )


def check_caller(session: boto3.Session, settings: Settings, management: str, caller: str, call_as: str) -> None:
    """The StackSet is administered from the management account, or a registered delegated administrator."""
    configured = settings.organization.management_account
    if management != configured:
        raise RolloutError(
            f"organization.management_account is {configured} but this organization's management account is "
            f"{management}: fix the settings file "
            "(or use credentials for the right organization)"
        )
    if call_as == CALL_AS_SELF:
        if caller != management:
            raise RolloutError(
                f"these credentials are for account {caller}, not the management account "
                f"{management}: run with management-account credentials, or, from a registered "
                "StackSets delegated administrator, pass --call-as DELEGATED_ADMIN"
            )
        return
    if caller == management:
        raise RolloutError(
            "--call-as DELEGATED_ADMIN was given but these are the management account's credentials: "
            "use --call-as SELF (or rollout.call_as = 'SELF')"
        )
    org = client(session, "organizations")
    try:
        admins = org.list_delegated_administrators(ServicePrincipal=STACKSETS_PRINCIPAL)["DelegatedAdministrators"]
    except ClientError as error:
        raise RolloutError(
            f"account {caller} cannot confirm it is a StackSets delegated administrator "
            f"({error_message(error)}): in the management account run `aws organizations "
            f"register-delegated-administrator --service-principal {STACKSETS_PRINCIPAL} "
            f"--account-id {caller}`"
        ) from error
    if not any(a.get("Id") == caller for a in admins):
        raise RolloutError(
            f"account {caller} is not a delegated administrator for CloudFormation StackSets: "
            "in the management "
            f"account run `aws organizations register-delegated-administrator --service-principal "
            f"{STACKSETS_PRINCIPAL} --account-id {caller}`, or run with management-account credentials"
        )


def preflight(session: boto3.Session, settings: Settings, caller: str, call_as: str) -> OrgTree:
    """Everything checked before a StackSet call: organization, caller, trusted access, target OUs."""
    management = management_account(session)
    check_caller(session, settings, management, caller, call_as)
    check_trusted_access(session)
    tree = load_tree(session, management)
    check_target_ous(tree, settings.organization.target_ous)
    return tree
