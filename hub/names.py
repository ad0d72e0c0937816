"""Names in the hub template: resource name prefix, stable logical ids, output names, route names.

Resources other tools look up in the synthesized template (the sandbox, ``orgguard status``) get stable
logical ids, listed in ``LOGICAL_IDS`` and built by the ``*_id`` helpers below; outputs have stable names too.
"""

from __future__ import annotations

NAME_PREFIX = "orgguard-"
ORGANIZATION_ID_PARAMETER = "OrganizationId"
ORGANIZATION_ID_PATTERN = "^o-[a-z0-9]{10,32}$"

CANARY = "canary"
RECONCILE_START = "reconcile-start"
RECONCILE_WORKER = "reconcile-worker"
DIGEST = "digest"

# Stable logical ids of the resources other tools look up in the template.
LOGICAL_IDS = {
    "bus": "HubBus",
    "bus_policy": "HubBusPolicy",
    "topic": "AlertsTopic",
    "table": "AuditTable",
    "handler_role": "HandlerRole",
    "reconcile_start_role": "ReconcileStartRole",
    "reconcile_queue": "ReconcileQueue",
    "reconcile_worker_event_source": "ReconcileWorkerEventSource",
    "digest_role": "DigestRole",
}


def pascal(name: str) -> str:
    """``vpc-created`` -> ``VpcCreated``: the per-policy part of logical ids and output names."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-") if part)


def function_id(name: str) -> str:
    return f"Function{pascal(name)}"


def rule_id(name: str) -> str:
    return f"Rule{pascal(name)}"


def dlq_id(name: str) -> str:
    """The rule target's dead-letter queue (the event never reached the Lambda)."""
    return f"Dlq{pascal(name)}"


def failures_id(name: str) -> str:
    """The Lambda's on-failure destination (the Lambda ran and failed after its retries)."""
    return f"Dlq{pascal(name)}Failures"


def dlq_output(queue_logical_id: str) -> str:
    """Every queue that holds lost work has an output ``DlqUrl...`` (``orgguard status`` lists them)."""
    return "DlqUrl" + queue_logical_id.removeprefix("Dlq")


def function_name(name: str) -> str:
    return NAME_PREFIX + name


def rule_name(name: str) -> str:
    return NAME_PREFIX + name
