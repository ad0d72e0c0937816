"""Checking resources the two ways a guardrail meets them: by their event, and by the sweep's listing, through
``handlers.guardrails.check`` in report mode, in a member account reached by AssumeRole."""

from __future__ import annotations

import datetime as dt

import boto3

from handlers.context import PolicyContext
from handlers.events import parse
from handlers.guardrails.base import Finding, SweepScope
from handlers.guardrails.check import check
from handlers.registry import guardrail
from handlers.sessions import MemberSessions

from .handlers import settings_for
from .members import Member
from .moto_env import HUB_REGION

TODAY = dt.date(2030, 1, 15)


def context(member: Member, guardrail_id: str, mode: str = "report") -> PolicyContext:
    settings = settings_for(member, {guardrail_id: {"mode": mode}})
    members = MemberSessions(boto3.Session(region_name=HUB_REGION))
    return PolicyContext(settings=settings, policy_id=guardrail_id, account=member.account, region=member.region,
                         client_factory=lambda service: members.client(member.account, member.region, service),
                         today=TODAY)


def by_event(member: Member, guardrail_id: str, payload: dict[str, object]) -> list[Finding]:
    entry, event = guardrail(guardrail_id), parse(payload)
    return check(entry, context(member, guardrail_id), entry.resource_ids(event.detail), event=event)


def by_sweep(member: Member, guardrail_id: str, resources: list[str]) -> list[Finding]:
    entry, ctx = guardrail(guardrail_id), context(member, guardrail_id)
    known = entry.list_resources(SweepScope(member.account, member.region, ctx.client))
    assert set(resources) <= set(known)
    return check(entry, ctx, resources, known={r: known[r] for r in resources})
