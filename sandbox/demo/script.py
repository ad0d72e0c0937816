"""The demo's cast and script: the steps it runs, and what people do in the member accounts (the stories, each
with the outcome it must end in and the state check that proves it)."""

from __future__ import annotations

import urllib.request

from handlers.settings import Settings
from sandbox.demo import public_access as pa
from sandbox.demo import stories as st
from sandbox.world.baseline import Baseline
from sandbox.world.organization import (
    SandboxOrganization,
)

STEP_TITLES = (
    "Organization: a Security OU with the hub account, a Workloads OU with two accounts, StackSets trusted access",
    "Hub: synthesize the CDK app, create the stack in the hub account",
    "Spoke: two service-managed StackSets to the Workloads OU: roles in the home region, then rules everywhere",
    "New account: create workload-gamma, move it into Workloads (StackSets deploy it on their own), onboard it",
    "Stories: people at work in the member accounts (CloudTrail emulated)",
    "Events flow: member rules -> hub bus -> hub rules -> handlers (as the hub Lambdas)",
    "Reconcile: the nightly sweep of every account and region finds what no event announced",
    "Check: the hub's audit records, each member account's end state, the e-mails",
)
# The organization's S3 standard in the demo: each account's own key under one alias (the platform team's baseline
# creates it), so that onboarding proves the key as OrgGuardRemediation.
DEMO_POLICIES = {"policies": {"s3-encryption": {"kms_key": "alias/workloads-s3"}}}
LEGACY_BUCKET = "archive"  # workload-alpha's bucket from before OrgGuard: only the reconcile finds it
CANARY_TIMEOUT_SECONDS = 30.0
OPERATION_POLL_SECONDS = 0.2
# moto draws account, OU and resource ids from one random generator: seeded, every run gets the same ids,
# so the output reads the same and the synthesized hub (its settings name the accounts) can be reused.
ID_SEED = 2718
REPORT_FILE = "report.html"  # deploy.py report's HTML page of the run, from the hub's audit table


def demo_stories(settings: Settings, org: SandboxOrganization, baselines: dict[str, Baseline]) -> list[st.Story]:
    alpha, beta, gamma = org.members[:3]
    east, west = settings.organization.regions[:2]
    cidr = "10.42.0.0/16"
    owner = {"Owner": "erin"}
    appliance = st.TwoInterfaceLaunch("edge-proxy")
    return [
        st.Story("A developer creates a VPC", "alice", alpha, east, "CreateVpc", "vpc-created", "reported", True,
                 st.create_vpc(cidr, "analytics"), st.vpc_unchanged(cidr)),
        st.Story("A developer creates a bucket (S3 gives it SSE-S3)", "alice", alpha, east, "CreateBucket",
                 "s3-encryption", "remediated", True, st.create_bucket(f"reports-{alpha}"),
                 st.bucket_meets_standard(settings)),
        st.Story("Someone removes the encryption of a bucket", "bob", beta, west, "DeleteBucketEncryption",
                 "s3-encryption", "remediated", True, st.delete_bucket_encryption(baselines[beta].buckets["invoices"]),
                 st.bucket_meets_standard(settings)),
        st.Story("Two instances launched without tags or the admin group (new account)", "carol", gamma, west,
                 "RunInstances", "ec2-compliance", "remediated", True, st.launch_instances(2),
                 st.instances_compliant(settings, baselines[gamma].admin_groups[west])),
        st.Story("An owner-tagged instance EC2 does not show yet when OrgGuard first reads it", "erin", alpha, west,
                 "RunInstances", "ec2-compliance", "remediated", True, st.launch_instances(1, owner),
                 st.instances_compliant(settings, baselines[alpha].admin_groups[west], owner)),
        st.Story("An instance with two network interfaces: the admin group goes on the primary one", "dave", beta,
                 east, "RunInstances", "ec2-compliance", "remediated", True, appliance.act,
                 appliance.check(settings, baselines[beta].admin_groups[east])),
        st.Story("Encryption removed from a bucket exempt by tag: left alone", "bob", beta, east,
                 "DeleteBucketEncryption", "s3-encryption", "exempt", False,
                 st.delete_bucket_encryption(baselines[beta].buckets["website"]), st.bucket_left_as_s3_left_it()),
        st.Story("Someone turns Block Public Access off for a bucket: OrgGuard closes it again", "bob", beta, west,
                 "DeleteBucketPublicAccessBlock", "s3-public-access", "remediated", True,
                 pa.delete_public_access_block(baselines[beta].buckets["exports"]), pa.bucket_blocks_public_access()),
        st.Story("A static site gets a public bucket policy: reported, never rewritten", "alice", alpha, west,
                 "PutBucketPolicy", "s3-public-access", "reported", True,
                 pa.put_public_policy(baselines[alpha].buckets["site"]), pa.public_policy_left_as_written()),
        st.Story("A dry-run launch: the call fails, nothing is forwarded", "alice", alpha, east, "RunInstances",
                 "ec2-compliance", st.NOT_FORWARDED, False, st.dry_run_launch(), st.nothing_launched()),
    ]


def seed_ids(endpoint: str, seed: int = ID_SEED) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/seed?a={seed}", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
