"""``orgguard audit``: what OrgGuard did and when, newest first, from the hub's audit table.

With ``--account`` the account index (``handlers.contract.TABLE_ACCOUNT_INDEX``) is queried, newest first,
from ``--since`` on; without it the table is scanned page by page with the same filters (a scan reads the
whole table: fine for an audit table, whose items expire; name an account for a large organization).
Only outcome records are shown (not the idempotency markers the handlers keep beside them).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import re
import sys
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from commands.audit_drift import print_drift
from commands.common import UserError, audit_table_failure, aws_session, fail, print_table
from handlers.audit import item_to_dict
from handlers.contract import TABLE_ACCOUNT_INDEX, TABLE_ACCOUNT_INDEX_PARTITION, TABLE_ACCOUNT_INDEX_SORT
from handlers.settings import ACCOUNT_RE, Settings

HELP = "what OrgGuard did and when, from the audit table"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
COMMON_OPTIONS = ("config", "profile", "region", "json")  # the ones it reads: deploy.py offers only these
OPTION_HELP = {"region": "region of the audit table (default: organization.hub_region)"}
JSON_HELP = ("print one JSON document on stdout: an array of the audit records, newest first (with --drift: "
             "the stack-owned resources by account, region and stack)")
DEFAULT_SINCE = "7d"
DEFAULT_LIMIT = 200
JSON_FIELDS = ("before", "after", "actions", "iac")
_SINCE_RE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", metavar="ID", help="only this account (queries the account index)")
    parser.add_argument("--policy", metavar="ID", help="only this policy (e.g. s3-encryption)")
    parser.add_argument("--since", default=DEFAULT_SINCE, metavar="AGE|DATE",
                        help=f"how far back: 30m, 12h, 7d, 2w or a date YYYY-MM-DD (default {DEFAULT_SINCE})")
    parser.add_argument("--outcome", metavar="OUTCOME",
                        help="only this outcome; a prefix matches the family (failed, skipped, rejected)")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                        help=f"at most N records, newest first (default {DEFAULT_LIMIT})")
    parser.add_argument("--drift", action="store_true",
                        help="only stack-owned resources OrgGuard changed (outcome remediated), grouped by account "
                             "and stack, each with the CloudFormation and CDK fix its template needs")


def since_timestamp(text: str, now: dt.datetime) -> str:
    """The ISO-8601 UTC time the table's ``time`` attribute is compared with."""
    match = _SINCE_RE.match(text.strip())
    if match:
        moment = now - dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    else:
        try:
            moment = dt.datetime.fromisoformat(text.strip())
        except ValueError as error:
            raise UserError(f"--since {text!r}: give an age such as 30m, 12h, 7d, 2w or a date YYYY-MM-DD") \
                from error
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _filters(args: argparse.Namespace) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    conditions = ["attribute_exists(outcome)"]
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if args.policy:
        conditions.append("#policy = :policy")
        names["#policy"] = "policy"
        values[":policy"] = {"S": args.policy}
    if args.outcome:
        conditions.append("begins_with(outcome, :outcome)")
        values[":outcome"] = {"S": args.outcome}
    return conditions, names, values


def query_records(dynamodb: Any, table: str, args: argparse.Namespace, since: str) -> list[dict[str, Any]]:
    conditions, names, values = _filters(args)
    names["#time"] = TABLE_ACCOUNT_INDEX_SORT
    values[":since"] = {"S": since}
    records: list[dict[str, Any]] = []
    if args.account:
        names["#account"] = TABLE_ACCOUNT_INDEX_PARTITION
        values[":account"] = {"S": args.account}
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table, IndexName=TABLE_ACCOUNT_INDEX, ScanIndexForward=False,
            KeyConditionExpression="#account = :account AND #time >= :since",
            FilterExpression=" AND ".join(conditions), ExpressionAttributeNames=names,
            ExpressionAttributeValues=values)
        for page in pages:
            records.extend(item_to_dict(item) for item in page.get("Items", []))
            if len(records) >= args.limit:
                break
        return records[:args.limit]
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table, FilterExpression=" AND ".join([*conditions, "#time >= :since"]),
        ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    for page in pages:
        records.extend(item_to_dict(item) for item in page.get("Items", []))
    records.sort(key=lambda r: str(r.get("time", "")), reverse=True)
    return records[:args.limit]


def _decoded(record: dict[str, Any]) -> dict[str, Any]:
    """Dicts and lists are stored as JSON strings; give them back as structures."""
    result = dict(record)
    for name in JSON_FIELDS:
        value = result.get(name)
        if isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):  # a plain string stays one
                result[name] = json.loads(value)
    return result


def _row(record: dict[str, Any]) -> dict[str, str]:
    summary = str(record.get("summary", "")).replace("\n", "; ")
    return {
        "time": str(record.get("time", ""))[:19].replace("T", " "),
        "account": str(record.get("account", "")),
        "region": str(record.get("region", "")),
        "policy": str(record.get("policy", "")),
        "resource": str(record.get("resource", ""))[:60],
        "outcome": str(record.get("outcome", "")),
        "by": str(record.get("source") or record.get("event_name") or ""),
        "summary": summary[:90] + ("..." if len(summary) > 90 else ""),
    }


def print_records(records: list[dict[str, Any]], as_json: bool, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if as_json:
        print(json.dumps([_decoded(r) for r in records], indent=2, sort_keys=True, default=str), file=out)
        return
    print_table([_row(r) for r in records],
                ["time", "account", "region", "policy", "resource", "outcome", "by", "summary"], out)


def run(args: argparse.Namespace, settings: Settings) -> int:
    region = args.region or settings.organization.hub_region
    try:
        if args.account and not ACCOUNT_RE.match(args.account):
            raise UserError(f"--account {args.account!r}: give a 12-digit account id")
        if args.limit < 1:
            raise UserError(f"--limit {args.limit}: must be at least 1")
        if args.drift and args.outcome and args.outcome != "remediated":
            raise UserError(f"--drift lists remediated resources: --outcome {args.outcome} does not go with it")
        if args.drift:
            args.outcome = "remediated"
        since = since_timestamp(args.since, dt.datetime.now(dt.UTC))
        session = aws_session(args, settings)
        dynamodb = session.client("dynamodb", region_name=region)
        records = query_records(dynamodb, settings.hub.table_name, args, since)
    except UserError as error:
        return fail(args, str(error))
    except (BotoCoreError, ClientError) as error:
        return audit_table_failure(args, settings, region, error)
    if args.drift:
        print_drift([_decoded(r) for r in records], args.json)
    else:
        print_records(records, args.json)
    if not args.json and len(records) == args.limit:
        print(f"(the newest {args.limit}; --limit N for more)", file=sys.stderr)
    return 0
