"""The functional tier's fixtures, all from ``tests/support``: the handler tests' moto accounts (``aws``, ``hub``,
``member``, and ``hq``, ``spoke`` naming the same) and the StackSet tests' organization (``mocked_aws``,
``organization``, ``management_session``, ``stackset_stub`` and moto's missing StackSet behaviour; the default
``settings`` and the ``rolled_out`` spoke). A module may define its own ``hub`` or ``settings``."""

from tests.support.handlers import aws_fixture, hq, hub_fixture, member_fixture, spoke  # noqa: F401
from tests.support.onboarding import rolled_out, settings  # noqa: F401
from tests.support.rollout import (  # noqa: F401
    aws_credentials,
    management_session,
    mocked_aws,
    organization,
    stackset_deletes_by_ou,
    stackset_stub,
    stackset_updates_redeploy,
)
