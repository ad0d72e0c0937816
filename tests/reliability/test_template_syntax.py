"""Template syntax in what users control (bucket names, VPC names, who they are) is shown, never run."""

from __future__ import annotations

import pytest

from handlers.engine import Processed
from tests.support.world import MEMBER_ACCOUNT, MEMBER_REGION, World

from . import samples
from .mutations import TEMPLATE_SYNTAX
from .outcomes import mail_mentioning


@pytest.mark.parametrize("name", TEMPLATE_SYNTAX)
def test_a_bucket_named_like_a_template_appears_literally_in_the_email(world: World, name: str) -> None:
    payload = samples.bucket_call(samples.CREATE_BUCKET, MEMBER_ACCOUNT, MEMBER_REGION, name)
    result = world.deliver(payload, "s3-encryption", world.runtime())
    assert isinstance(result, Processed) and result.notified, result
    body = mail_mentioning(world, f"Bucket:   {name}\n")
    subject = world.mail()[-1].subject
    # Literal, whole or (a subject at its 99-character limit) cut in the middle: its start still shows as typed.
    assert name in subject or ("..." in subject and len(subject) == 99 and name[:10] in subject), subject
    if name == "{{ 7*7 }}":
        assert "49" not in body.replace(result.event_id, "")


@pytest.mark.parametrize("name", TEMPLATE_SYNTAX)
def test_template_syntax_in_a_vpc_name_and_the_actor_is_shown_as_text(world: World, name: str) -> None:
    vpc = world.member.vpc("10.40.0.0/16", name=name)
    payload = samples.vpc_created(MEMBER_ACCOUNT, MEMBER_REGION, vpc, "10.40.0.0/16")
    payload["detail"]["userIdentity"]["arn"] = f"arn:aws:sts::{MEMBER_ACCOUNT}:assumed-role/dev/{name}"
    result = world.deliver(payload, "vpc-created", world.runtime())
    assert isinstance(result, Processed) and result.outcome == "reported"
    body = mail_mentioning(world, f'"{name}"')
    assert f"assumed-role/dev/{name}" in body
