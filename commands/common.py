"""What every command shares: the AWS session from the common flags, and readable errors (text and --json)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from handlers.settings import Settings, SettingsError

T = TypeVar("T")

RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})


class UserError(Exception):
    """An error the user can fix; the message says what to do."""


def aws_session(args: argparse.Namespace, settings: Settings) -> boto3.Session:
    """The session for ``--profile`` and ``--region``, for a command that offers them (else the defaults)."""
    profile, region = getattr(args, "profile", None), getattr(args, "region", None)
    try:
        return boto3.Session(profile_name=profile, region_name=region or settings.organization.hub_region)
    except ProfileNotFound as error:
        raise UserError(f"AWS profile {profile!r} not found: check ~/.aws/config or drop --profile") from error


def fail(args: argparse.Namespace, *messages: str, code: int = 1) -> int:
    """Say what went wrong on stderr and, with ``--json``, as ``{"ok": false, "errors": [...]}`` on stdout."""
    for message in messages:
        print(f"error: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "errors": list(messages)}, indent=2))
    return code


def fail_settings(args: argparse.Namespace, error: SettingsError) -> int:
    """Bad settings: every problem on stderr (and one entry each with ``--json``), exit code 2, nothing run."""
    print(f"error: {error}", file=sys.stderr)
    print("Nothing was run. Fix the settings above and try again.", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "errors": list(error.problems)}, indent=2))
    return 2


def explain_aws_error(error: Exception) -> str:
    if isinstance(error, NoCredentialsError):
        return ("no AWS credentials found: set AWS_PROFILE or pass --profile, or run `aws sso login` "
                "(or try `orgguard demo`, which needs none)")
    if isinstance(error, NoRegionError):
        return "no AWS region: pass --region or set organization.hub_region in the config"
    return str(error)


def print_table(rows: list[dict[str, Any]], columns: list[str], out: Any = None) -> None:
    """A plain, aligned text table; good on a narrow terminal and in a CI log."""
    out = out or sys.stdout
    if not rows:
        print("(nothing)", file=out)
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip(), file=out)
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns).rstrip(), file=out)


def attempt(args: argparse.Namespace, work: Callable[[], T], *known: type[Exception]) -> tuple[T | None, int]:
    """Run ``work``: its value and 0, or None and the exit code of the failure it ended in (printed, with
    ``--json`` too). ``known`` are the errors whose message is already what to tell the user."""
    told: tuple[type[Exception], ...] = (UserError, *known)
    try:
        return work(), 0
    except told as error:
        return None, fail(args, str(error))
    except (BotoCoreError, ClientError) as error:
        return None, fail(args, explain_aws_error(error))


def print_report(args: argparse.Namespace, report: Any, show: Callable[[Any], None]) -> None:
    """One JSON document of ``report.to_dict()`` with ``--json``; else ``show`` it as text."""
    if getattr(args, "json", False):
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        show(report)


def audit_table_failure(args: argparse.Namespace, settings: Settings, region: str, error: Exception) -> int:
    """An AWS error reading the hub's audit table, said so the user knows where to look."""
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
        return fail(args, f"the audit table {settings.hub.table_name} does not exist in this account's {region}: "
                    "deploy the hub first (orgguard hub), or use --profile/--region of the hub account")
    return fail(args, explain_aws_error(error))
