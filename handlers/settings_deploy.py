"""The deploy-time sections of the settings file: ``[rollout]`` (the StackSets) and ``[hub]`` (the hub stack).

They are read by ``deploy.py`` when it deploys; the Lambdas get them with the rest of the file but never
act on them (only the audit table's retention is read at run time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.settings_checks import NAME_RE, Checker

SCHEDULE_RE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$")
ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
OPTIONAL_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{0,64}$")
STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
NAME_RULE = "must be 1-64 letters, digits, '.', '_' or '-'"
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)


@dataclass(frozen=True)
class Rollout:
    stackset_name: str = "orgguard-spoke"  # the rules, the DLQ and its alarm, in every governed region
    global_stackset_name: str = "orgguard-spoke-global"  # the account-global roles, in the home region only
    management_stack_name: str = "orgguard-spoke"
    management_global_stack_name: str = "orgguard-spoke-global"
    call_as: str = "SELF"
    region_concurrency: str = "PARALLEL"
    max_concurrent_percentage: int = 100
    failure_tolerance_percentage: int = 10
    member_access_role: str = "OrganizationAccountAccessRole"
    hub_access_role: str = "OrganizationAccountAccessRole"
    canary_timeout_seconds: int = 120


@dataclass(frozen=True)
class Hub:
    stack_name: str = "OrgGuardHub"
    bus_name: str = "orgguard"
    topic_name: str = "orgguard-alerts"
    table_name: str = "orgguard-audit"
    audit_retention_days: int = 400
    log_retention_days: int = 90
    reconcile_schedule: str = "rate(1 day)"
    lambda_memory_mb: int = 256
    lambda_timeout_seconds: int = 120
    reconcile_max_concurrency: int = 5  # reconcile workers at once (SQS event source ScalingConfig: 2-1000)




def _names(ro: dict[str, Any], c: Checker) -> dict[str, str]:
    return {name: c.string(ro, "rollout", name, getattr(Rollout, name), NAME_RE, NAME_RULE, empty_ok=False)
            for name in ("stackset_name", "global_stackset_name", "management_stack_name",
                         "management_global_stack_name")}


def parse_rollout(raw: Any, c: Checker) -> Rollout:
    ro = c.table(raw, "rollout")
    c.unknown(ro, "rollout", set(Rollout.__dataclass_fields__))
    rollout = Rollout(
        **_names(ro, c),
        call_as=c.string(ro, "rollout", "call_as", "SELF", choices=("SELF", "DELEGATED_ADMIN")),
        region_concurrency=c.string(ro, "rollout", "region_concurrency", "PARALLEL",
                                    choices=("PARALLEL", "SEQUENTIAL")),
        max_concurrent_percentage=c.integer(ro, "rollout", "max_concurrent_percentage", 100, 1, 100),
        failure_tolerance_percentage=c.integer(ro, "rollout", "failure_tolerance_percentage", 10, 0, 100),
        member_access_role=c.string(ro, "rollout", "member_access_role", Rollout.member_access_role,
                                    ROLE_NAME_RE, "must be an IAM role name", empty_ok=False),
        hub_access_role=c.string(ro, "rollout", "hub_access_role", Rollout.hub_access_role,
                                 OPTIONAL_ROLE_NAME_RE, "must be an IAM role name or empty"),
        canary_timeout_seconds=c.integer(ro, "rollout", "canary_timeout_seconds", 120, 5, 900),
    )
    if rollout.global_stackset_name == rollout.stackset_name:
        c.problem("rollout.global_stackset_name", rollout.global_stackset_name,
                  "must differ from rollout.stackset_name (the roles and the rules are two StackSets)")
    if rollout.management_global_stack_name == rollout.management_stack_name:
        c.problem("rollout.management_global_stack_name", rollout.management_global_stack_name,
                  "must differ from rollout.management_stack_name (the roles and the rules are two stacks)")
    return rollout


def parse_hub(raw: Any, c: Checker) -> Hub:
    hub_raw = c.table(raw, "hub")
    c.unknown(hub_raw, "hub", set(Hub.__dataclass_fields__))
    hub = Hub(
        stack_name=c.string(hub_raw, "hub", "stack_name", Hub.stack_name, STACK_NAME_RE,
                            "must start with a letter and hold only letters, digits and '-'", empty_ok=False),
        bus_name=c.string(hub_raw, "hub", "bus_name", Hub.bus_name, NAME_RE, NAME_RULE, empty_ok=False),
        topic_name=c.string(hub_raw, "hub", "topic_name", Hub.topic_name, NAME_RE, NAME_RULE, empty_ok=False),
        table_name=c.string(hub_raw, "hub", "table_name", Hub.table_name, NAME_RE, NAME_RULE, empty_ok=False),
        audit_retention_days=c.integer(hub_raw, "hub", "audit_retention_days", Hub.audit_retention_days, 1, 3650),
        log_retention_days=c.integer(hub_raw, "hub", "log_retention_days", Hub.log_retention_days, 1, 3653),
        reconcile_schedule=c.string(hub_raw, "hub", "reconcile_schedule", Hub.reconcile_schedule, SCHEDULE_RE,
                                    "must be an EventBridge schedule like 'rate(1 day)' or 'cron(0 3 * * ? *)'",
                                    empty_ok=True),
        lambda_memory_mb=c.integer(hub_raw, "hub", "lambda_memory_mb", Hub.lambda_memory_mb, 128, 10240),
        lambda_timeout_seconds=c.integer(hub_raw, "hub", "lambda_timeout_seconds", Hub.lambda_timeout_seconds,
                                         10, 900),
        reconcile_max_concurrency=c.integer(hub_raw, "hub", "reconcile_max_concurrency",
                                            Hub.reconcile_max_concurrency, 2, 1000),
    )
    if hub.log_retention_days not in LOG_RETENTION_DAYS:
        c.problem("hub.log_retention_days", hub.log_retention_days,
                  f"must be one of CloudWatch Logs' retention periods: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return hub
