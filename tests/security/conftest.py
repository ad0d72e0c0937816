"""Fixtures of the security tests: every IAM policy document of both spoke templates and the hub, resolved."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.settings import Settings
from spoke.render import spoke_global_parameters, spoke_parameters
from tests.security.templates import (
    MEMBER_ACCOUNT,
    hub_template,
    security_settings,
    spoke_global_template,
    spoke_template,
)

from .intrinsics import Resolver
from .policies import Document, documents


@pytest.fixture(scope="session")
def settings() -> Settings:
    return security_settings()


@pytest.fixture(scope="session")
def spoke(settings: Settings) -> dict[str, Any]:
    return spoke_template(settings)


@pytest.fixture(scope="session")
def spoke_roles(settings: Settings) -> dict[str, Any]:
    return spoke_global_template(settings)


@pytest.fixture(scope="session")
def hub(settings: Settings) -> dict[str, Any]:
    return hub_template(settings)


@pytest.fixture(scope="session")
def spoke_documents(spoke: dict[str, Any], spoke_roles: dict[str, Any], settings: Settings) -> list[Document]:
    """Both spoke stacks as deployed in a member account's home region (where the global one goes)."""
    home = settings.organization.spoke_home_region
    roles_parameters = spoke_global_parameters(settings)
    return (documents("spoke", spoke_roles, Resolver(spoke_roles, MEMBER_ACCOUNT, home, roles_parameters))
            + documents("spoke", spoke, Resolver(spoke, MEMBER_ACCOUNT, home, spoke_parameters(settings))))


@pytest.fixture(scope="session")
def hub_documents(hub: dict[str, Any], settings: Settings) -> list[Document]:
    org = settings.organization
    return documents("hub", hub, Resolver(hub, org.hub_account, org.hub_region,
                                          {"OrganizationId": org.organization_id}))


@pytest.fixture(scope="session")
def all_documents(spoke_documents: list[Document], hub_documents: list[Document]) -> list[Document]:
    return spoke_documents + hub_documents
