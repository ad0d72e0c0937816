"""What the onboarding tests share: the organization's default settings and the rolled-out spoke with its hub
(fixtures the functional tier's conftest offers; a module may define its own ``settings``), onboarding accounts
without sleeping, an account's failed checks, and the CreateStackInstances calls a run makes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
import pytest

from handlers.settings import Settings
from stacksets.onboard_proof import OnboardReport
from stacksets.onboarding import Onboarding

from .organization import FakeOrganization, settings_for
from .rollout import quick_waiter, roll_out
from .stackset_hub import FakeHub, build_hub


@pytest.fixture
def settings(organization: FakeOrganization) -> Settings:
    """The organization's settings as the rollout tests use them (targets: the Workloads OU)."""
    return settings_for(organization)


@pytest.fixture
def rolled_out(organization: FakeOrganization, management_session: boto3.Session, settings: Settings) -> FakeHub:
    """The spoke rolled out to Workloads, and the hub's bus, canary path and table in place."""
    roll_out(management_session, settings)
    return build_hub(settings)


def onboard(session: boto3.Session, settings: Settings, accounts: Sequence[str], waiter: Any) -> OnboardReport:
    """``orgguard onboard`` for these accounts, the hub's canary answers coming from ``waiter``."""
    onboarding = Onboarding(session, settings, "SELF", make_waiter=quick_waiter, canary_waiter=waiter)
    return onboarding.run(accounts, timeout=0)


def failures(report: OnboardReport, account: str) -> dict[tuple[str, str], str]:
    """The account's failed checks: (check, region) to the reason."""
    (proof,) = [p for p in report.accounts if p.account == account]
    return {(c.name, c.region): c.detail for c in proof.failures}


def record_create_calls(session: boto3.Session) -> list[dict[str, Any]]:
    """The parameters of every CreateStackInstances call, in order."""
    calls: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.cloudformation.CreateStackInstances", lambda params, **_: calls.append(params)
    )
    return calls
