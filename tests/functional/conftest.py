"""The functional tier's fixtures, all from ``tests/support``: the handler tests' moto accounts (``aws``, ``hub``,
``member``, and ``hq``, ``spoke`` naming the same) and the StackSet tests' organization (``mocked_aws``,
``organization``, ``management_session``, ``stackset_stub`` and moto's missing StackSet behaviour). A module may
define its own ``hub``."""

from tests.support.handlers import aws_fixture, hq, hub_fixture, member_fixture, spoke  # noqa: F401
from tests.support.rollout import (  # noqa: F401
    aws_credentials,
    management_session,
    mocked_aws,
    organization,
    stackset_deletes_by_ou,
    stackset_stub,
    stackset_updates_redeploy,
)
