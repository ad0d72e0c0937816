"""One boto3 client per service and region of a session (creating a client costs more than most calls to
the embedded AWS)."""

from __future__ import annotations

from typing import Any

import boto3


class Clients:
    def __init__(self, session: boto3.Session, region: str) -> None:
        self._session = session
        self._region = region
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, region_name=self._region)
        return self._clients[service]
