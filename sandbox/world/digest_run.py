"""The storm digests' schedule, run once on the embedded AWS as the deployed hub runs it.

moto runs no schedule: the template's digest function (``handlers.digest.handler``) is invoked here with its
handler, environment and execution role (``LambdaRunner``) and a scheduled event whose ``time`` says when the
schedule fired. The digest sends the windows that ended by then, so a test or the demo can run the schedule
"after" a storm window without waiting for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sandbox.world.hub import DeployedHub
from sandbox.world.lambda_runner import LambdaRunner
from sandbox.world.reconcile_run import function, scheduled_event

DIGEST_HANDLER = "handlers.digest.handler"


def iso_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest_once(hub: DeployedHub, runner: LambdaRunner, epoch: float) -> dict[str, Any]:
    """The digest schedule fires at ``epoch``: what the function returned (windows seen, digests sent)."""
    result: dict[str, Any] = runner.invoke(function(runner, DIGEST_HANDLER), scheduled_event(hub, iso_time(epoch)))
    return result
