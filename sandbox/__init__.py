"""The embedded local AWS and what runs on it.

- ``sandbox.aws``: the AWS stand-in itself: moto in server mode on 127.0.0.1 (``aws/server.py``) behind a gateway
  whose named parts make it behave as AWS does.
- ``sandbox.world``: the organization built in it and OrgGuard deployed into it, with the AWS services moto does
  not play (CloudTrail, Lambda targets and async invocation, the reconcile schedule, the admins' e-mail).
- ``sandbox.demo``: the story ``orgguard demo`` tells on that world.
- ``sandbox.replay``: ``orgguard replay``: real CloudTrail events judged one by one on a fresh embedded AWS.

``demo`` and ``replay`` use ``world`` and ``aws``; ``world`` uses ``aws``; ``aws`` uses none of them.
"""
