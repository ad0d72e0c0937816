"""cdk-nag on every hub synth: AwsSolutions checks, each acknowledged finding with its reason, and the gate.

cdk-nag 3 is a CDK policy-validation plugin: ``app.synth()`` fails when a finding (error or warning) is not
acknowledged, and writes ``validation-report.json`` into the assembly; ``synthesize`` turns that into a
``HubNagError`` naming each finding. Acknowledgements use CDK's ``Validations.of(construct).acknowledge`` (the
v3 replacement of ``NagSuppressions``); with ``write_suppressions_to_cloud_formation`` each one is also
written into the template's resource Metadata (``cdk_nag.rules_to_suppress``) as an audit trail.

What can be fixed is fixed in the stack (SSL-only queues and topic, encrypted queues, point-in-time
recovery, no managed policies, no wildcard actions). What remains is acknowledged here, finding by finding
(an IAM5 acknowledgement names the exact wildcard resource), with the reason a reviewer needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from hub import permissions

if TYPE_CHECKING:
    from hub.stack import OrgGuardHubStack

NAG_PREFIX = "AwsSolutions-"
REPORT_FILE = "validation-report.json"

REASON_REMEDIATION_ANY_ACCOUNT = (
    "The hub Lambdas assume OrgGuardRemediation in whichever member account an event comes from; member "
    "accounts are not known at synth time (they join the organization later), so the account part of the "
    "ARN is a wildcard. The statement is narrowed to the one role name and, by the aws:ResourceOrgID "
    "condition, to roles inside this organization; each role's trust admits only this hub role."
)
REASON_ACCOUNT_NAMES = (
    "The hub Lambdas look up the name of the member account an event came from, for the notification; "
    "account ids are not known at synth time, so the statement covers every account ARN of this "
    "organization (management account and organization id fixed) and only DescribeAccount."
)
REASON_ORGANIZATIONS_READ = (
    "The scheduled reconcile walks the organization: ListAccounts has no resource-level permissions (its "
    "only resource is '*'); ListOrganizationalUnitsForParent, ListAccountsForParent and DescribeAccount are "
    "narrowed to this organization's roots, OUs and accounts, whose ids are not known at synth time."
)
REASON_DLQ_IS_A_DLQ = (
    "This queue is itself a dead-letter queue (an EventBridge rule target's DLQ or a Lambda on-failure "
    "destination); cdk-nag recognizes DLQs only through an SQS RedrivePolicy. Its depth is alarmed to the "
    "alerts topic, and `orgguard redrive` replays it."
)
REASON_RUNTIME_PINNED = (
    "The runtime is pinned to Python 3.12 on purpose: the Lambda asset (handlers/ with Jinja2 and MarkupSafe "
    "vendored as pure Python) is built and tested for it. Moving to a newer runtime is a deliberate change "
    "with its own test run, not something a synth should pick up silently."
)
REASON_BACKUP_PLAN = (
    "The audit table has point-in-time recovery (35 days of continuous backups) and is retained when the "
    "stack is deleted; enrolling it in an AWS Backup plan is the organization's backup policy to decide "
    "(AWS Backup plans are usually managed centrally), not something this stack should create per table."
)


class HubNagError(RuntimeError):
    """cdk-nag reported findings nobody acknowledged; ``findings`` holds one line each."""

    def __init__(self, findings: list[str]) -> None:
        self.findings = findings
        lines = "\n".join(f"  - {f}" for f in findings)
        super().__init__(f"cdk-nag: {len(findings)} unacknowledged finding(s) in the hub stack:\n{lines}\n"
                         "Fix them in the hub/ module that builds the resource, or acknowledge them with a reason "
                         "in hub/nag.py.")


def apply_checks(app: cdk.App, stack: OrgGuardHubStack) -> None:
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True))
    acknowledge(stack)


def _acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=NAG_PREFIX + rule, reason=reason))


def applies_to_resource(stack: cdk.Stack, value: str) -> str:
    """How cdk-nag names a wildcard resource finding: ``Resource::`` + the ARN, references as ``<Name>``."""
    return "Resource::" + _flatten(stack.resolve(value))


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_flatten(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    raise ValueError(f"cannot name {value!r} the way cdk-nag does")


def acknowledge(stack: OrgGuardHubStack) -> None:
    remediation = applies_to_resource(stack, permissions.remediation_role_arn_pattern(stack))
    _acknowledge(stack.handler_role, f"IAM5[{remediation}]", REASON_REMEDIATION_ANY_ACCOUNT)
    accounts = applies_to_resource(stack, permissions.member_account_arns(stack))
    _acknowledge(stack.handler_role, f"IAM5[{accounts}]", REASON_ACCOUNT_NAMES)
    resources = [r for listed in permissions.organizations_read_resources(stack).values() for r in listed]
    wildcards = {applies_to_resource(stack, r) for r in resources if "*" in r}
    for wildcard in sorted(wildcards):
        _acknowledge(stack.reconcile_start_role, f"IAM5[{wildcard}]", REASON_ORGANIZATIONS_READ)
    for queue in stack.dead_letter_queues.values():
        _acknowledge(queue, "SQS3", REASON_DLQ_IS_A_DLQ)
    for route in stack.routes.values():
        _acknowledge(route.function, "L1", REASON_RUNTIME_PINNED)
    _acknowledge(stack.table, "DDB4", REASON_BACKUP_PLAN)


def report_findings(assembly_dir: Path | str) -> list[str]:
    """Every violation in the assembly's validation report, one line each (empty when there is none)."""
    path = Path(assembly_dir) / REPORT_FILE
    if not path.exists():
        return []
    report = json.loads(path.read_text())
    lines = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                lines.append(f"{violation.get('severity', 'error')} {violation.get('ruleName')} at "
                             f"{construct.get('constructPath')}: {violation.get('description', '')}")
    return sorted(lines)


def synthesize(app: cdk.App, assembly_dir: Path | str) -> Any:
    """``app.synth()``, a failed cdk-nag validation turned into a ``HubNagError`` listing the findings."""
    try:
        return app.synth()
    except RuntimeError as error:
        found = report_findings(assembly_dir)
        if found:
            raise HubNagError(found) from error
        raise
