"""Reading the audit table for a report, through a DynamoDB client the caller gives (the CLI's, the demo's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from handlers.audit import item_to_dict
from handlers.contract import TABLE_ACCOUNT_INDEX_SORT
from reporting.model import DEFAULT_DAYS, Report, build_report


def period_start(now: dt.datetime, days: int) -> str:
    """The ISO-8601 time the first of the ``days`` UTC days ending with ``now``'s begins, as items store it."""
    first = now.astimezone(dt.UTC).date() - dt.timedelta(days=days - 1)
    return f"{first.isoformat()}T00:00:00.000000Z"


def read_audit(dynamodb: Any, table: str, since: str) -> list[dict[str, Any]]:
    """Every outcome record of the table from ``since`` on, as plain dicts (a scan: an audit table expires
    its items; the filter leaves out idempotency markers and claims without an outcome)."""
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table, FilterExpression="attribute_exists(outcome) AND #time >= :since",
        ExpressionAttributeNames={"#time": TABLE_ACCOUNT_INDEX_SORT},
        ExpressionAttributeValues={":since": {"S": since}})
    return [item_to_dict(item) for page in pages for item in page.get("Items", [])]


def report_from_table(dynamodb: Any, table: str, now: dt.datetime, days: int = DEFAULT_DAYS,
                      names: Mapping[str, str] | None = None, label: str = "") -> Report:
    """The report of the table's outcome records over the ``days`` ending with ``now``'s."""
    items = read_audit(dynamodb, table, period_start(now, days))
    return build_report(items, now, days, names, [label or f"the audit table {table}"])
