"""The StackSet tests' world on moto (rollout, onboarding, protection, migration, destroy, status, redrive): the
fixtures (``tests/functional/conftest.py`` offers them), moto's missing StackSet behaviour, and the rollout's
settings file. The hub (``FakeHub``, ``build_hub``, ``put_spoke_alarms``) lives in ``stackset_hub`` and is
re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from handlers.settings import Settings

from . import moto_targets
from .moto_env import clean_environment, moto
from .organization import HOME_REGION, FakeOrganization, build_organization, settings_for, shared_session
from .settings_files import write_settings
from .stackset_hub import FakeHub, build_hub, put_spoke_alarms  # noqa: F401  (re-exported: the tests import them)

# moto's CloudFormation warns of the spoke template's resources it cannot parse; every StackSet test module
# sets ``pytestmark = ROLLOUT_MARKS``.
ROLLOUT_MARKS = [pytest.mark.filterwarnings("ignore:Tried to parse AWS..SQS..QueuePolicy"),
                 pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudWatch..Alarm")]


def roll_out(session: boto3.Session, settings: Settings, call_as: str = "SELF", **options: Any) -> Any:
    """One rollout of the spoke, as ``orgguard stackset`` runs it, waiting without sleeping."""
    from stacksets.rollout import Rollout

    return Rollout(session, settings, call_as, make_waiter=quick_waiter).run(**options)


def settings_file(directory: Path, org: FakeOrganization, target_paths: Sequence[str] = ("Workloads",), /,
                  **sections: Any) -> Path:
    """The one settings file (TOML) a StackSet command reads for this organization: ``settings_for``'s settings
    (``sections`` override tables, ``organization={"include_management_account": True}``) written out."""
    return write_settings(directory, settings_for(org, target_paths, **sections))


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials of the management account; nothing from the developer's environment leaks in."""
    clean_environment(monkeypatch, tmp_path, HOME_REGION)


@pytest.fixture
def mocked_aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    moto_targets.install(monkeypatch)  # ListStackSetAutoDeploymentTargets, which moto lacks
    with moto(monkeypatch, tmp_path):
        yield


@pytest.fixture
def organization(mocked_aws: None) -> FakeOrganization:
    """The standard layout: Security(hub), Workloads(app-1) > Prod(app-2, app-3), Sandbox(sandbox-1)."""
    return build_organization()


@pytest.fixture
def management_session(mocked_aws: None) -> boto3.Session:
    return shared_session(HOME_REGION)


@pytest.fixture
def stackset_stub(management_session: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """Every ``StackSetApi`` gets this one CloudFormation client, stubbed with botocore's Stubber: the test lists
    the exact StackSet requests and their answers, in order; the organization, the accounts and the hub stay moto's."""
    import stacksets.api

    cfn = management_session.client("cloudformation")
    real = stacksets.api.client
    monkeypatch.setattr(stacksets.api, "client", lambda session, service, region=None: cfn
                        if service == "cloudformation" else real(session, service, region))
    with Stubber(cfn) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def stackset_updates_redeploy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's UpdateStackSet reach the deployed stacks, as CloudFormation does.

    moto 5.2.5 stores the new template on the StackSet but neither updates the instances' stacks nor
    uses it for instances created later (``StackInstances.template`` keeps the first one); and its stack
    update only follows ``Ref``, not ``${Param}`` inside ``Fn::Sub``. This stands in for CloudFormation's
    side by replacing each instance's stack with one built from the new template and parameters; the
    code under test makes the same calls as on AWS.
    """
    from moto.cloudformation.models import StackInstance, StackSet

    original = StackSet.update

    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        before = (self.template, dict(self.parameters))
        operation = original(self, *args, **kwargs)
        if (self.template, dict(self.parameters)) != before:
            self.instances.template = self.template
            self.instances.parameters = self.parameters
            replaced = []
            for old in self.instances.stack_instances:
                old.stack.delete()
                replaced.append(
                    StackInstance(
                        account_id=old.account_id,
                        region_name=old.region_name,
                        stackset_id=old.stackset_id,
                        stack_name=old.stack_name,
                        name=old.name,
                        template=self.template,
                        parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
                        permission_model=old.permission_model,
                    )
                )
            self.instances.stack_instances[:] = replaced
        return operation

    monkeypatch.setattr(StackSet, "update", update)


@pytest.fixture
def stackset_deletes_by_ou(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's DeleteStackInstances honour ``DeploymentTargets``, as CloudFormation does.

    moto 5.2.5 only reads the top-level ``Accounts`` (self-managed StackSets); a service-managed StackSet
    can only be addressed through OUs, so every delete would be a no-op. This resolves the OUs (nested
    ones included) to their accounts and deletes those instances; the code under test makes the same
    call as on AWS.
    """
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult
    from moto.organizations.models import organizations_backends

    original = CloudFormationResponse.delete_stack_instances

    def delete_stack_instances(self: Any) -> Any:
        targets = self._get_params().get("DeploymentTargets") or {}
        units = set(targets.get("OrganizationalUnitIds", []))
        if not units or self._get_param("Accounts"):
            return original(self)
        org = organizations_backends[self.current_account][self.partition]
        while True:
            nested = {ou.id for ou in org.ou if getattr(ou, "parent_id", None) in units} - units
            if not nested:
                break
            units |= nested
        accounts = [a.id for a in org.accounts if a.parent_id in units]
        name, regions = self._get_param("StackSetName"), self._get_param("Regions", [])
        stackset = self.cloudformation_backend.delete_stack_instances(name, accounts, regions)
        return ActionResult({"OperationId": stackset.operations[-1]["OperationId"]})

    monkeypatch.setattr(CloudFormationResponse, "delete_stack_instances", delete_stack_instances)


def quick_waiter(api: Any) -> Any:
    """A StackSet operation ``Waiter`` that never sleeps and writes its progress nowhere visible."""
    import io

    from stacksets.operations import Waiter

    return Waiter(api, stream=io.StringIO(), poll_seconds=0, sleep=lambda _: None)
