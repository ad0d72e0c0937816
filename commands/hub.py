"""`orgguard hub`: deploy the hub stack into the hub account with the CDK CLI pinned in package.json.

Before anything runs: the CDK CLI is installed (``make install``), the credentials belong to
``organization.hub_account``, and the organization id is known (``--organization-id``, the config, or
``organizations:DescribeOrganization``). The hub account and region are bootstrapped when their
``CDKToolkit`` stack is missing. After the deploy, the stack's outputs are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from commands.common import RETRIES, UserError, aws_session, explain_aws_error, fail, print_table
from commands.node_env import quiet_node
from handlers.settings import Settings

HELP = "deploy the hub stack into the hub account with the AWS CDK CLI"
NEEDS_ORGANIZATION = True  # touches a real account: settings only from a complete --config file
COMMON_OPTIONS = ("config", "profile", "dry-run", "json")  # the ones it reads: deploy.py offers only these
OPTION_HELP = {"dry-run": "check the tools, the credentials' account and the organization id, then print "
                          "the CDK commands instead of running them"}
JSON_HELP = (
    "print one JSON document on stdout (the stack's outputs; with --dry-run the plan); the CDK CLI's own "
    "output goes to stderr"
)
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
CDK_BIN = REPOSITORY_ROOT / "node_modules" / ".bin" / "cdk"
TOOLKIT_STACK = "CDKToolkit"
ORGANIZATION_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
ORGANIZATION_ID_PARAMETER = "OrganizationId"  # hub.stack.ORGANIZATION_ID_PARAMETER, without loading the CDK
FIRST_OUTPUTS = ("BusArn", "TopicArn")
# A toolkit stack whose creation failed or never ran: `cdk bootstrap` replaces it.
UNUSABLE_TOOLKIT_STATUSES = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "REVIEW_IN_PROGRESS"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--organization-id", metavar="o-...",
                        help="the AWS Organizations id (default: organization.organization_id, else asked "
                             "from AWS Organizations with the hub account's credentials)")
    parser.add_argument("--yes", action="store_true",
                        help="do not stop to approve IAM and other security changes (cdk --require-approval "
                             "never); review them first with `npx cdk diff`")


def cdk(*arguments: str) -> list[str]:
    """The pinned CDK CLI: never let npx download another version."""
    return ["npx", "--no-install", "cdk", *arguments]


def bootstrap_command(account: str, region: str, profile: str | None) -> list[str]:
    return cdk("bootstrap", f"aws://{account}/{region}", *(["--profile", profile] if profile else []))


def deploy_command(settings: Settings, organization_id: str, profile: str | None, approve: bool) -> list[str]:
    return cdk(
        "deploy", settings.hub.stack_name,
        "--app", f"{shlex.quote(sys.executable)} -m hub.app",
        "--parameters", f"{ORGANIZATION_ID_PARAMETER}={organization_id}",
        "--require-approval", "never" if approve else "broadening",
        *(["--profile", profile] if profile else []),
    )


def cdk_environment(args: argparse.Namespace, settings: Settings) -> dict[str, str]:
    """The CLI's environment: the hub app reads the same config; the CLI uses the hub region."""
    environment = dict(os.environ)
    environment.pop("ORGGUARD_CONFIG", None)
    if args.config:
        environment["ORGGUARD_CONFIG"] = str(Path(args.config).resolve())
    environment["AWS_REGION"] = environment["AWS_DEFAULT_REGION"] = settings.organization.hub_region
    quiet_node(environment)
    return environment


def run_cli(command: list[str], environment: dict[str, str], to_stderr: bool = False) -> int:
    """Run the CDK CLI; with ``to_stderr`` its output goes to stderr (``--json`` keeps stdout for the document)."""
    stdout = sys.stderr if to_stderr else None
    return subprocess.run(command, cwd=REPOSITORY_ROOT, env=environment, check=False, stdout=stdout).returncode


def check_tools() -> None:
    if shutil.which("npx") is None:
        raise UserError("npx not found: install Node.js 20 or later (it brings npx), then run `make install`")
    if not CDK_BIN.exists():
        raise UserError(f"the pinned CDK CLI is not installed ({CDK_BIN} is missing): run `make install` "
                        "(it runs `npm ci`)")


def caller_account(session: Any) -> str:
    try:
        return str(session.client("sts", config=RETRIES).get_caller_identity()["Account"])
    except NoCredentialsError as error:
        raise UserError(explain_aws_error(error)) from error
    except ClientError as error:
        raise UserError(f"cannot tell whose credentials these are: {explain_aws_error(error)}") from error


def check_account(account: str, settings: Settings) -> None:
    hub = settings.organization.hub_account
    if account != hub:
        raise UserError(
            f"these credentials are for account {account}, but the hub account (organization.hub_account) is "
            f"{hub}: use credentials for {hub} (for example --profile), or correct the config")


def resolve_organization_id(args: argparse.Namespace, settings: Settings, session: Any) -> str:
    given = args.organization_id or settings.organization.organization_id
    source = "--organization-id" if args.organization_id else "organization.organization_id"
    if not given:
        try:
            organization = session.client("organizations", config=RETRIES).describe_organization()
        except ClientError as error:
            raise UserError(
                f"cannot read the organization id from AWS Organizations ({explain_aws_error(error)}): pass "
                "--organization-id o-... or set organization.organization_id in the config") from error
        given, source = str(organization["Organization"]["Id"]), "AWS Organizations"
    if not ORGANIZATION_ID_RE.match(given):
        raise UserError(f"{source} = {given!r}: must be an organization id like 'o-a1b2c3d4e5'")
    return given


def needs_bootstrap(session: Any, region: str) -> bool:
    """True when the hub account and region have no CDK bootstrap stack yet."""
    client = session.client("cloudformation", region_name=region, config=RETRIES)
    try:
        stacks = client.describe_stacks(StackName=TOOLKIT_STACK)["Stacks"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "ValidationError" and "does not exist" in str(error):
            return True
        raise
    return not stacks or stacks[0].get("StackStatus") in UNUSABLE_TOOLKIT_STATUSES


def stack_outputs(session: Any, stack_name: str, region: str) -> dict[str, str]:
    client = session.client("cloudformation", region_name=region, config=RETRIES)
    stack = client.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    first = [k for k in FIRST_OUTPUTS if k in outputs]
    return {k: outputs[k] for k in first + sorted(set(outputs) - set(first))}


def _print_plan(args: argparse.Namespace, commands: list[list[str]], account: str, region: str,
                organization_id: str) -> None:
    if args.json:
        print(json.dumps({"dry_run": True, "account": account, "region": region,
                          "organization_id": organization_id, "commands": commands}, indent=2))
        return
    print(f"dry run: would deploy the hub to account {account}, {region} (organization {organization_id}):")
    for command in commands:
        print("  " + shlex.join(command))


def run(args: argparse.Namespace, settings: Settings) -> int:
    region = settings.organization.hub_region
    try:
        check_tools()
        session = aws_session(args, settings)
        account = caller_account(session)
        check_account(account, settings)
        organization_id = resolve_organization_id(args, settings, session)
        commands = [deploy_command(settings, organization_id, args.profile, args.yes)]
        if needs_bootstrap(session, region):
            commands.insert(0, bootstrap_command(account, region, args.profile))
        if args.dry_run:
            _print_plan(args, commands, account, region, organization_id)
            return 0
        environment = cdk_environment(args, settings)
        for command in commands:
            print("$ " + shlex.join(command), file=sys.stderr)
            code = run_cli(command, environment, to_stderr=args.json)
            if code != 0:
                hint = "" if args.yes else (" If it stopped to ask for approval without a terminal, review "
                                            "the changes with `npx cdk diff` and rerun with --yes.")
                return fail(args, f"`cdk {command[3]}` failed with exit code {code}; its output is above.{hint}")
        outputs = stack_outputs(session, settings.hub.stack_name, region)
    except UserError as error:
        return fail(args, str(error))
    except (BotoCoreError, ClientError) as error:
        return fail(args, explain_aws_error(error))
    if args.json:
        print(json.dumps({"stack": settings.hub.stack_name, "account": account, "region": region,
                          "outputs": outputs}, indent=2))
    else:
        print(f"hub {settings.hub.stack_name} deployed to account {account}, {region}")
        print_table([{"output": k, "value": v} for k, v in outputs.items()], ["output", "value"])
    return 0
