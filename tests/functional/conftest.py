"""Fixtures for the rollout tests; the helpers they share live in org_world.py (a conftest cannot be imported
by name: every test folder has one)."""

from org_world import (  # noqa: F401
    aws_credentials,
    management_session,
    mocked_aws,
    organization,
    stackset_deletes_by_ou,
    stackset_stub,
    stackset_updates_redeploy,
)
