"""The admin security group of a VPC, looked up once and cached for a while.

The cache belongs to whoever runs the policies (the runtime of a warm Lambda, one sweep), not to the module:
a module-level cache outlived the embedded AWS's resets and the tests' worlds, and had to be cleared by hand.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handlers.guardrails.ec2_compliance.settings import AdminSecurityGroup

GROUP_CACHE_SECONDS = 900


class AdminGroupFinder:
    """Finds the admin group of a VPC; found ids are cached (per account, region, VPC) for 15 minutes."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def find(self, ec2: Any, spec: AdminSecurityGroup, account: str, region: str, vpc_id: str) -> str | None:
        explicit = spec.explicit(account, region, vpc_id)
        if explicit:
            return explicit
        key = (account, region, vpc_id)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[1] > now:
                return hit[0]
        filters = [{"Name": "vpc-id", "Values": [vpc_id]}]
        if spec.name:
            filters.append({"Name": "group-name", "Values": [spec.name]})
        for tag_key, tag_value in sorted(spec.tag.items()):
            filters.append({"Name": f"tag:{tag_key}", "Values": [tag_value]})
        groups = ec2.describe_security_groups(Filters=filters).get("SecurityGroups", [])
        if not groups:
            return None
        group_id = str(sorted(g["GroupId"] for g in groups)[0])
        with self._lock:
            self._cache[key] = (group_id, now + GROUP_CACHE_SECONDS)
        return group_id

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
