"""The whole OrgGuard story on the embedded AWS: organization, hub, spoke rollout, onboarding, stories, proof.

``Demo.run`` runs the seven steps of ``orgguard demo`` with the real hub template, the real StackSet and
onboarding code and the real handlers; only what moto cannot do is played by the named sandbox parts. It
returns what happened and what was verified; ``commands/demo.py`` prints it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import boto3

from handlers.audit import event_key, item_to_dict
from handlers.contract import TABLE_PARTITION_KEY
from handlers.registry import REMEDIATION_ROLE_NAME, policy_for
from handlers.settings import Settings
from reporting.page import render_html
from reporting.source import report_from_table
from sandbox.aws.server import EmbeddedAws, embedded_aws
from sandbox.aws.strictness import Strictness
from sandbox.demo import public_access as pa
from sandbox.demo import stories as st
from sandbox.demo.progress import Progress
from sandbox.demo.results import (
    DemoResult,
    EventResult,
    Played,
    changed_text,
    email_about,
    refused_orgguard,
    unneeded,
)
from sandbox.demo.script import (
    CANARY_TIMEOUT_SECONDS,
    DEMO_POLICIES,
    ID_SEED,
    LEGACY_BUCKET,
    OPERATION_POLL_SECONDS,
    REPORT_FILE,
    STEP_TITLES,
    demo_stories,
    seed_ids,
)
from sandbox.world.baseline import Baseline, developer, set_up_account
from sandbox.world.cloudtrail import CloudTrail
from sandbox.world.flow import EventFlow, tap_lambda_targets
from sandbox.world.hub import DeployedHub, deploy_hub, moto_skips_quietly, synthesize_hub
from sandbox.world.identities import account_admin
from sandbox.world.lambda_runner import LAMBDA_SERVICE, LambdaRunner
from sandbox.world.mailbox import Email, Mailbox, write_eml
from sandbox.world.organization import (
    HUB_REGION,
    SandboxOrganization,
    add_workload_account,
    create_organization,
    sandbox_settings,
)
from sandbox.world.reconcile_run import reconcile_once, switch_off_moto_mappings
from stacksets.api import StackSetApi
from stacksets.canary import HubTableWaiter
from stacksets.onboarding import Onboarding
from stacksets.operations import Waiter
from stacksets.rollout import Rollout

__all__ = ["ID_SEED", "STEP_TITLES", "Demo", "DemoResult", "EventResult", "Played", "demo_stories"]


class Demo:
    def __init__(self, out_dir: Path, stream: TextIO | None = None, strictness: Strictness | None = None) -> None:
        self.out_dir = out_dir
        self.strictness = strictness or Strictness()
        self.progress = Progress(len(STEP_TITLES), stream)
        self.stream = self.progress.stream
        self._auto_deployment = False  # whether the embedded AWS plays StackSet automatic deployment

    def run(self) -> DemoResult:
        # The spoke's stacks are CloudFormation stacks too: moto skips their queue policy (see the README).
        with moto_skips_quietly(), embedded_aws(HUB_REGION, self.strictness) as aws:
            seed_ids(aws.endpoint)
            if aws.parts.iam is not None:
                aws.parts.iam.watch(REMEDIATION_ROLE_NAME)
            self._auto_deployment = aws.parts.autodeploy is not None
            if aws.parts.autodeploy is not None:  # its lines (the order AWS would pick) go in the new account's step
                aws.parts.autodeploy.announce = lambda line: self.progress.say(f"      {line}")
            management = aws.session()
            org, settings, baselines = self._organization(management)
            result = DemoResult(org)
            hub, flow, mailbox = self._hub(aws, management, settings, org)
            self._rollout(management, settings, result)
            self._new_account(management, settings, org, baselines, hub, flow, result)
            stories = demo_stories(settings, org, baselines)
            played = self._stories(management, stories, org.names)
            self._flow(flow)
            self._reconcile(management, settings, org, baselines, hub, flow, result)
            self._check(management, settings, hub, flow, mailbox, played, result)
            if aws.parts.iam is not None:
                result.iam = aws.parts.iam.report()
                result.problems += refused_orgguard(result.iam)
                result.needs = aws.parts.iam.needs(org.members[0], REMEDIATION_ROLE_NAME)
                result.problems += unneeded(result.needs)
        return result

    def _organization(self, management: boto3.Session) -> tuple[SandboxOrganization, Settings, dict[str, Baseline]]:
        with self.progress.step(STEP_TITLES[0]):
            org = create_organization(management)
            settings = sandbox_settings(org, DEMO_POLICIES)
            baselines = {}
            alpha, beta = org.members[:2]
            east, west = settings.organization.regions[:2]
            exempt = {settings.exemptions.tag: "s3-encryption"}
            public = {settings.policies.section("s3-public-access").public_tag: "true"}
            for account in org.members:
                # workload-beta already has buckets: two encrypted to the standard, one its owners keep exempt.
                # workload-alpha has one from before OrgGuard, as S3 made it (SSE-S3): no event will announce it;
                # and a static website, tagged to stay public, whose owners turned Block Public Access off.
                buckets = {"invoices": (west, "aws:kms", {}), "exports": (west, "aws:kms", {}),
                           "website": (east, "AES256", exempt)} if account == beta else \
                    {LEGACY_BUCKET: (east, "", {}), "site": (west, "aws:kms", public)} if account == alpha else {}
                baselines[account] = set_up_account(management, account, settings, buckets)
                self._public_access_baseline(management, settings, account, baselines[account].buckets, west)
            self.progress.say(f"      organization {org.organization_id}, management {org.management_account}, "
                              f"hub {org.hub_account}")
            for account in org.members:
                self.progress.say(f"      Workloads: {account} {org.names[account]} (Developer role, admin group in "
                                  f"{', '.join(settings.organization.regions)})")
        return org, settings, baselines

    @staticmethod
    def _public_access_baseline(management: boto3.Session, settings: Settings, account: str,
                                buckets: dict[str, str], region: str) -> None:
        """The public-access stories' buckets meet the encryption standard; the static site is open."""
        s3 = account_admin(management, account, region, "platform-admin-setup").session(region).client("s3")
        for purpose in ("exports", "site"):
            if purpose in buckets:
                pa.meet_encryption_standard(s3, buckets[purpose], settings.policies.s3_encryption.kms_key)
        if "site" in buckets:
            pa.open_static_site(s3, buckets["site"])

    def _hub(self, aws: EmbeddedAws, management: boto3.Session, settings: Settings,
             org: SandboxOrganization) -> tuple[DeployedHub, EventFlow, Mailbox]:
        with self.progress.step(STEP_TITLES[1]):
            with self.progress.waiting("synthesizing the hub template (CDK)"):
                template, asset_dir = synthesize_hub(settings)
            hub_session = account_admin(management, org.hub_account, settings.organization.hub_region).session()
            hub = deploy_hub(hub_session, settings, template, asset_dir, org.organization_id)
            runner = LambdaRunner(aws.service_session(LAMBDA_SERVICE, org.hub_account), hub.resolver)
            taps = tap_lambda_targets(hub_session, hub.resolver, runner)
            flow = EventFlow(hub_session, hub.region, taps, runner)
            mailbox = Mailbox(hub_session, hub.region, hub.output("TopicArn"))
            created = Counter(hub.created_by_sandbox.values())
            self.progress.say(f"      stack {hub.stack_name} in {hub.account} {hub.region}")
            self.progress.say(f"      CloudFormation created {len(hub.resolver.physical_ids)} resources; the "
                              f"sandbox created what moto skips: "
                              + ", ".join(f"{n} {t.split('::', 1)[1]}" for t, n in sorted(created.items())))
            self.progress.say(f"      {len(taps)} hub rules tapped for the in-process Lambdas: "
                              + ", ".join(sorted({t.function.name for t in taps})))
        return hub, flow, mailbox

    def _waiter(self, api: StackSetApi) -> Waiter:
        """StackSet operations finish at once on the embedded AWS: poll often, not every 10 seconds."""
        return Waiter(api, self.stream, poll_seconds=OPERATION_POLL_SECONDS)

    def _rollout(self, management: boto3.Session, settings: Settings, result: DemoResult) -> None:
        with self.progress.step(STEP_TITLES[2]):
            report = Rollout(management, settings, "SELF", stream=self.stream, make_waiter=self._waiter).run()
            for row in report.instances:
                self.progress.say(f"      {row.stackset} {row.account} {row.region}: {row.status}")
            if not report.ok:
                result.problems.append("the spoke rollout did not succeed: " + "; ".join(
                    f"{r.account}/{r.region} {r.status} {r.reason}" for r in report.failed_instances))

    def _new_account(self, management: boto3.Session, settings: Settings, org: SandboxOrganization,
                     baselines: dict[str, Baseline], hub: DeployedHub, flow: EventFlow, result: DemoResult) -> None:
        with self.progress.step(STEP_TITLES[3]):
            account = add_workload_account(management, org, "workload-gamma")
            baselines[account] = set_up_account(management, account, settings)
            # The canary travels the real path; waiting for its record is what lets the events flow.
            waiter = HubTableWaiter(hub.client("dynamodb"), settings.hub.table_name, poll_seconds=0.0,
                                    sleep=flow.sleep)
            onboarding = Onboarding(management, settings, "SELF", stream=self.stream, make_waiter=self._waiter,
                                    canary_waiter=waiter)
            report = onboarding.run([account], timeout=CANARY_TIMEOUT_SECONDS)
            for proof in report.accounts:
                for check in proof.checks:
                    mark = "ok  " if check.ok else "FAIL"
                    where = f" {check.region}" if check.region else ""
                    self.progress.say(f"      {mark} {check.name}{where}: {check.detail}")
            if self._auto_deployment and report.operations:
                result.problems.append(f"onboarding had to create spoke instances for {account}: the StackSets' "
                                       "automatic deployment did not cover the new account")
            if not report.ok:
                result.problems.append(f"onboarding {account} failed: "
                                       + "; ".join(f"{c.name}: {c.detail}" for p in report.accounts
                                                   for c in p.failures))

    def _stories(self, management: boto3.Session, stories: list[st.Story], names: dict[str, str]) -> list[Played]:
        played = []
        with self.progress.step(STEP_TITLES[4]):
            trail = CloudTrail()
            for story in stories:
                identity = developer(management, story.account, story.person, story.region)
                session = trail.watch(identity, story.region)
                first = len(trail.records)
                resource = story.act(session)
                record = next(r for r in trail.records[first:] if r["eventName"] == story.event_name)
                what = resource or "(no resource)"
                error = f" -> {record['errorCode']}" if "errorCode" in record else ""
                self.progress.say(f"      {story.person}@{names.get(story.account, story.account)} {story.region}: "
                                  f"{story.event_name} {what}{error}")
                played.append(Played(story, record, resource))
        return played

    def _flow(self, flow: EventFlow) -> None:
        with self.progress.step(STEP_TITLES[5]):
            before = len(flow.deliveries)
            with self.progress.waiting("delivering"):
                flow.pump()
            for delivery in flow.deliveries[before:]:
                result = delivery.result if isinstance(delivery.result, dict) else {}
                status = result.get("outcome", "") if delivery.succeeded else f"failed: {delivery.error}"
                detail = delivery.event.get("detail", {})
                self.progress.say(f"      {delivery.function}: {detail.get('eventName', detail.get('canary_id'))} "
                                  f"-> {status}" + (f" after {delivery.attempts} attempts"
                                                    if delivery.attempts > 1 else ""))

    def _reconcile(self, management: boto3.Session, settings: Settings, org: SandboxOrganization,
                   baselines: dict[str, Baseline], hub: DeployedHub, flow: EventFlow, result: DemoResult) -> None:
        with self.progress.step(STEP_TITLES[6]):
            switch_off_moto_mappings(hub)
            run = reconcile_once(hub, flow.runner, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            counts: Counter[str] = Counter()
            for part in run.results:
                counts.update({k: int(v) for k, v in part.get("counts", {}).items()})
                fixed = {k: v for k, v in part.get("counts", {}).items() if v}
                self.progress.say(f"      {org.names.get(part['account'], part['account'])} {part['region']}: "
                                  f"{part['status']}, " + (", ".join(f"{v} {k}" for k, v in sorted(fixed.items()))
                                                          or "nothing to check"))
            result.reconcile = {"accounts": run.started.get("accounts"), "regions": run.started.get("regions"),
                                "counts": dict(counts)}
            swept = {(p["account"], p["region"]) for p in run.results if p.get("status") == "done"}
            expected = {(a, r) for a in org.members for r in settings.organization.regions}
            if swept != expected:
                result.problems.append("the reconcile did not sweep every account and region: missing "
                                       + ", ".join(f"{a}/{r}" for a, r in sorted(expected - swept)))
            alpha = org.members[0]
            legacy = baselines[alpha].buckets[LEGACY_BUCKET]
            admin = account_admin(management, alpha, HUB_REGION, "platform-admin-check").session(HUB_REGION)
            state = st.bucket_meets_standard(settings)(admin, legacy)
            self.progress.say(f"      {org.names[alpha]}'s bucket from before OrgGuard: {state.state}")
            if not state.ok or counts["remediated"] != 1:
                result.problems.append(f"the reconcile should have fixed exactly {legacy}: {state.state}; "
                                       f"{counts['remediated']} fixed")

    def _check(self, management: boto3.Session, settings: Settings, hub: DeployedHub, flow: EventFlow,
               mailbox: Mailbox, played: list[Played], result: DemoResult) -> None:
        with self.progress.step(STEP_TITLES[7]):
            result.emails = mailbox.collect()
            delivered = {str(d.event.get("detail", {}).get("eventID", "")) for d in flow.deliveries}
            dynamodb = hub.client("dynamodb")
            for play in played:
                event_id = play.record["eventID"]
                response = dynamodb.get_item(TableName=settings.hub.table_name, ConsistentRead=True,
                                             Key={TABLE_PARTITION_KEY: {"S": event_key(event_id)}})
                item = item_to_dict(response["Item"]) if "Item" in response else None
                result.events.append(self._verify(management, play, item, event_id in delivered, result.emails))
            result.eml_files = write_eml(result.emails, self.out_dir)
            report = report_from_table(dynamodb, settings.hub.table_name, datetime.now(UTC),
                                       names=result.organization.names, label="the sandbox hub's audit table")
            result.report_file = self.out_dir / REPORT_FILE
            result.report_file.write_text(render_html(report, "OrgGuard demo report"), encoding="utf-8")
            self.progress.say(f"      report: {result.report_file}")

    def _verify(self, management: boto3.Session, play: Played, item: dict[str, Any] | None, delivered: bool,
                emails: list[Email]) -> EventResult:
        """The hub's record against the story's expectation, the account's end state, the admins' inbox."""
        story, record, resource = play.story, play.record, play.resource
        spec = policy_for(record["eventSource"], record["eventName"])
        policy = str(item.get("policy")) if item else (spec.id if spec else "-")
        outcome = str(item.get("outcome")) if item else (st.NOT_FORWARDED if not delivered else "not-recorded")
        admin = account_admin(management, story.account, story.region, "platform-admin-check").session(story.region)
        state = story.check(admin, resource)
        email = email_about(emails, resource) if resource else None
        problems = []
        if policy != story.policy:
            problems.append(f"policy {policy}, expected {story.policy}")
        if outcome != story.expected:
            problems.append(f"outcome {outcome}, expected {story.expected}")
        if not state.ok:
            problems.append(state.state)
        if story.email and email is None:
            problems.append("no e-mail about it")
        if not story.email and email is not None:
            problems.append(f"an unexpected e-mail: {email.subject}")
        changed = changed_text(item, email is not None)
        return EventResult(story, record, resource, policy, outcome, changed, state, email, problems)
