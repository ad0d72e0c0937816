"""What handler modules keep between invocations of a warm Lambda, and how to forget it.

A warm execution environment reuses clients, cached credentials and found admin groups. Anything that
starts a new deployment in the same process (the sandbox, tests) calls ``reset()`` to start cold.
"""

from __future__ import annotations


def reset() -> None:
    from handlers import canary, engine, reconcile
    from handlers.policies import ec2_compliance

    engine._RUNTIME = None
    reconcile._RUNTIME = None
    canary._STATE.clear()
    ec2_compliance.ADMIN_GROUPS.clear()
