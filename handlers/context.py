"""What a policy gets to work with for one account and region: clients, settings, mode, an action runner."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from handlers.admin_groups import AdminGroupFinder
from handlers.exemptions import tag_exemption
from handlers.outcome import Action

if TYPE_CHECKING:
    from handlers.settings import Settings


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


@dataclass
class PolicyContext:
    settings: Settings
    policy_id: str
    account: str
    region: str
    client_factory: Callable[[str], Any]
    today: dt.date
    performed: list[Action] = field(default_factory=list)
    clock: Callable[[], float] = time.time  # now, as epoch seconds (the engine's clock)
    # The runtime's (or the sweep's) cache of VPC admin groups; a context of its own by default.
    admin_groups: AdminGroupFinder = field(default_factory=AdminGroupFinder)
    # When the resources were created, as the read judged it (the event's time, or the newest launch a listing
    # showed): writes refused within the fresh window are retried later instead of failing.
    launched: str = ""
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return self.settings.policies.mode(self.policy_id)

    @property
    def enforcing(self) -> bool:
        return self.mode == "enforce"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.client_factory(service)
        return self._clients[service]

    def perform(self, action: Action) -> Any:
        """Send one write call (``service:Operation``) and remember it; callers check ``enforcing`` first."""
        service, operation = action.action.split(":", 1)
        result = getattr(self.client(service), _snake(operation))(**action.params)
        self.performed.append(action)
        return result

    def exemption(self, tags: dict[str, str]) -> str | None:
        return tag_exemption(tags, self.policy_id, self.settings.exemptions, self.today)
