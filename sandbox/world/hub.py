"""Deploy the hub into the sandbox's hub account from the synthesized hub template, as ``cdk deploy`` would.

1. ``bootstrap_cdk_environment``: what ``cdk bootstrap`` and asset publishing leave behind (the bootstrap
   version parameter, the assets bucket with the Lambda asset zipped at the key the template names).
2. ``create_stack``: CloudFormation ``CreateStack`` with the template, in the hub account.
3. ``create_what_moto_skips`` (``sandbox/world/moto_gaps.py``): the resources of the same template that moto's
   CloudFormation accepts but does not create.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from handlers.settings import Settings
from sandbox.world.clients import Clients
from sandbox.world.hub_synthesis import synthesize_hub
from sandbox.world.moto_gaps import create_what_moto_skips, moto_skips_quietly
from sandbox.world.template import TemplateResolver

# Deploying the hub starts from its synthesized template: callers get both from here.
__all__ = ["DeployedHub", "HubDeployError", "bootstrap_cdk_environment", "create_stack", "create_what_moto_skips",
           "deploy_hub", "moto_skips_quietly", "synthesize_hub", "zip_directory"]
TEMPLATE_BODY_LIMIT = 51_200  # larger templates go through S3, as the CDK CLI does
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ORGANIZATION_ID_PARAMETER = "OrganizationId"  # hub.names.ORGANIZATION_ID_PARAMETER
BOOTSTRAP_VERSION_PARAMETER = "BootstrapVersion"
BOOTSTRAP_VERSION = "27"


class HubDeployError(RuntimeError):
    """The hub stack could not be created in the sandbox."""


@dataclass
class DeployedHub:
    template: dict[str, Any]
    account: str
    region: str
    stack_name: str
    session: boto3.Session  # the operator's session in the hub account
    resolver: TemplateResolver
    created_by_sandbox: dict[str, str] = field(default_factory=dict)  # logical id -> resource type

    def __post_init__(self) -> None:
        self.client = Clients(self.session, self.region)

    def output(self, name: str) -> str:
        stack = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"][0]
        for output in stack.get("Outputs", []):
            if output["OutputKey"] == name:
                return str(output["OutputValue"])
        raise KeyError(f"the hub stack has no output {name}")


def zip_directory(directory: Path) -> bytes:
    """A reproducible zip of ``directory`` (what the CDK uploads for a directory asset)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(directory)), FIXED_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _asset_locations(resolver: TemplateResolver) -> set[tuple[str, str]]:
    locations = set()
    for logical_id, _ in resolver.of_type("AWS::Lambda::Function"):
        code = resolver.properties(logical_id).get("Code", {})
        if "S3Bucket" in code:
            locations.add((str(resolver.resolve(code["S3Bucket"])), str(resolver.resolve(code["S3Key"]))))
    return locations


def bootstrap_cdk_environment(hub: boto3.Session, resolver: TemplateResolver, asset_dir: Path) -> str:
    """What ``cdk bootstrap`` and ``cdk deploy``'s asset publishing leave in the account; returns the bucket."""
    declared = resolver.template.get("Parameters", {}).get(BOOTSTRAP_VERSION_PARAMETER)
    if declared is not None:
        hub.client("ssm").put_parameter(Name=declared["Default"], Value=BOOTSTRAP_VERSION, Type="String",
                                        Overwrite=True)
    s3 = hub.client("s3")
    archive = zip_directory(asset_dir)
    buckets: set[str] = set()
    for bucket, key in sorted(_asset_locations(resolver)):
        if bucket not in buckets:
            configuration = {} if resolver.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": resolver.region}}
            s3.create_bucket(Bucket=bucket, **configuration)
            buckets.add(bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=archive)
    if not buckets:
        raise HubDeployError("the hub template names no Lambda asset in S3; nothing to publish")
    return sorted(buckets)[0]


def create_stack(hub: boto3.Session, name: str, template: dict[str, Any], parameters: dict[str, str],
                 assets_bucket: str = "", timeout_seconds: float = 120.0) -> dict[str, str]:
    """CreateStack and wait; returns the physical id of every resource CloudFormation created."""
    with moto_skips_quietly():
        return _create_stack(hub, name, template, parameters, assets_bucket, timeout_seconds)


def _create_stack(hub: boto3.Session, name: str, template: dict[str, Any], parameters: dict[str, str],
                  assets_bucket: str, timeout_seconds: float) -> dict[str, str]:
    cfn = hub.client("cloudformation")
    body = json.dumps(template, separators=(",", ":"))
    source: dict[str, str] = {"TemplateBody": body}
    if len(body) > TEMPLATE_BODY_LIMIT and assets_bucket:
        key = f"{name}.template.json"
        hub.client("s3").put_object(Bucket=assets_bucket, Key=key, Body=body.encode())
        source = {"TemplateURL": f"https://{assets_bucket}.s3.amazonaws.com/{key}"}
    cfn.create_stack(StackName=name, Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
                     **source)
    deadline = time.monotonic() + timeout_seconds
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            break
        if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            raise HubDeployError(f"hub stack {name}: {status} {stack.get('StackStatusReason', '')}".rstrip())
        time.sleep(0.5)
    physical: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("LogicalResourceId"):
                physical[summary["LogicalResourceId"]] = summary.get("PhysicalResourceId", "")
    return physical


def deploy_hub(hub_session: boto3.Session, settings: Settings, template: dict[str, Any], asset_dir: Path,
               organization_id: str) -> DeployedHub:
    """Bootstrap, create the stack, then create what moto skipped: the hub, ready but for its Lambdas."""
    org = settings.organization
    resolver = TemplateResolver(template, org.hub_account, org.hub_region,
                                parameters={ORGANIZATION_ID_PARAMETER: organization_id})
    bucket = bootstrap_cdk_environment(hub_session, resolver, asset_dir)
    resolver.physical_ids = create_stack(hub_session, settings.hub.stack_name, template, resolver.parameters, bucket)
    created = create_what_moto_skips(hub_session, resolver)
    return DeployedHub(template, org.hub_account, org.hub_region, settings.hub.stack_name, hub_session, resolver,
                       created)
