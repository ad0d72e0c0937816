"""Moving a single-StackSet spoke (roles and rules in one template) to the two StackSets of today.

Found by ``stacksets.parts.holds_roles`` on the deployed regional StackSet. The roles keep their names
(the hub assumes ``OrgGuardRemediation`` by name), and IAM refuses a second role of the same name, so the
global StackSet can create them only once the old template has let them go. The order is therefore:

1. update the regional StackSet to the regional template (home region first, then the others): its
   stacks delete ``OrgGuardForwarder`` and ``OrgGuardRemediation``;
2. create the global StackSet and its instances in the home region: the roles exist again;
3. make the regional StackSet's automatic deployment depend on the global one.

Between 1 and 2 the roles do not exist: forwarded events fail on permissions and EventBridge puts them
straight into each region's ``orgguard-forward-dlq`` (no retries for permission errors), and the hub
records the accounts as not-onboarded. Afterwards ``orgguard redrive`` replays those queues. The
management account's plain stacks follow the same order (``stacksets.management_stack``).
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.contract import FORWARD_DLQ_NAME
from handlers.registry import FORWARDER_ROLE_NAME, REMEDIATION_ROLE_NAME
from handlers.settings import Settings
from stacksets.instance import Instance


def plan_lines(settings: Settings, instances: Sequence[Instance]) -> list[str]:
    """The migration in the words printed before it runs (and, with --dry-run, instead of running it)."""
    rollout, home = settings.rollout, settings.organization.spoke_home_region
    accounts = sorted({i.account for i in instances})
    regions = sorted({i.region for i in instances})
    scope = (f"{len(instances)} stack instances in {len(accounts)} accounts and regions {', '.join(regions)}"
             if instances else "no stack instances yet")
    roles = f"{FORWARDER_ROLE_NAME} and {REMEDIATION_ROLE_NAME}"
    return [
        f"StackSet {rollout.stackset_name} still holds the roles {roles} (the single template from before "
        f"the split; {scope}); it is migrated to two StackSets:",
        f"1. update {rollout.stackset_name} to the regional template ({home} first, then the other regions): "
        f"its stacks delete {roles} in every account",
        f"2. create StackSet {rollout.global_stackset_name} and its instances in {home}: the roles exist again",
        f"3. make the automatic deployment of {rollout.stackset_name} depend on {rollout.global_stackset_name}",
        f"between 1 and 2 the roles do not exist: forwarded events fall into each region's {FORWARD_DLQ_NAME} "
        "(EventBridge does not retry a permission error) and the hub records the accounts as not-onboarded",
        "afterwards run `orgguard redrive`: it replays the spoke dead-letter queues with the hub's",
    ]
