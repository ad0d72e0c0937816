"""``orgguard audit --drift``: every stack-owned resource OrgGuard changed, with the fix its template needs.

A to-do list for the stacks' owners, grouped by account, region and stack, from the audit records alone (the
records of remediated events and sweeps carry the drift entries, ``handlers.drift``): no access to the members.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from handlers import outcome as oc
from handlers.drift import render

NO_SNIPPET = ("no snippet: its guardrail gives none, or the record predates drift snippets or lacks the resource's "
              "logical id")


def _entries(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One item per stack-owned resource the record's fix changed (the record's own fields around it)."""
    base = {"account": str(record.get("account", "")), "region": str(record.get("region", "")),
            "policy": str(record.get("policy", "")), "time": str(record.get("time", "")),
            "source": str(record.get("source") or record.get("event_name") or ""),
            "event_id": str(record.get("event_id") or record.get("run") or "")}
    drift = record.get("iac")
    if isinstance(drift, list) and drift:
        return [{**base, **render(entry)} for entry in drift if isinstance(entry, dict)]
    stack = str(record.get("stack_name", ""))
    return [{**base, "resource": str(record.get("resource", "")), "stack": stack, "logical_id": "",
             "resource_type": "", "cloudformation": "", "cdk": "", "cdk_note": NO_SNIPPET}] if stack else []


def drift_items(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stack-owned resources in remediated records, newest first, one per resource (its latest fix)."""
    seen: set[tuple[str, str, str]] = set()
    items = []
    for record in records:
        if oc.kind_of(str(record.get("outcome", ""))) is not oc.OutcomeKind.REMEDIATED:
            continue
        for item in _entries(record):
            key = (item["account"], item["region"], item["resource"])
            if key not in seen:
                seen.add(key)
                items.append(item)
    return items


def grouped(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By account, then region and stack, in sorted order."""
    accounts: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for item in items:
        accounts.setdefault(item["account"], {}).setdefault((item["region"], item["stack"]), []).append(item)
    return [{"account": account, "stacks": [
        {"region": region, "stack": stack, "resources": sorted(resources, key=lambda r: r["logical_id"])}
        for (region, stack), resources in sorted(stacks.items())]}
        for account, stacks in sorted(accounts.items())]


def _indented(text: str, pad: str) -> list[str]:
    return [f"{pad}{line}" if line else "" for line in text.rstrip("\n").splitlines()]


def print_drift(records: list[dict[str, Any]], as_json: bool, out: TextIO | None = None) -> int:
    """The to-do list; returns how many resources it names."""
    out = out or sys.stdout
    items = drift_items(records)
    groups = grouped(items)
    if as_json:
        print(json.dumps(groups, indent=2, sort_keys=True), file=out)
        return len(items)
    if not items:
        print("No stack-owned resource was changed by OrgGuard in this period: no template to update.", file=out)
        return 0
    lines = [f"{len(items)} stack-owned resource(s) changed by OrgGuard: update their templates so that the next "
             "stack update does not undo the fix.", ""]
    for account in groups:
        lines.append(f"Account {account['account']}")
        for stack in account["stacks"]:
            lines.append(f"  Stack {stack['stack']} ({stack['region']})")
            for item in stack["resources"]:
                lines.append(f"    - {item['logical_id'] or '?'} {item['resource_type']} {item['resource']}: "
                             f"{item['policy']} at {item['time'][:19].replace('T', ' ')} ({item['source']})")
                if item["cloudformation"]:
                    lines += ["      CloudFormation:", *_indented(item["cloudformation"], "        "),
                              "      CDK (if the stack was made by the CDK):", *_indented(item["cdk"], "        ")]
                else:
                    lines.append(f"      {item['cdk_note']}")
        lines.append("")
    print("\n".join(lines), file=out)
    return len(items)
