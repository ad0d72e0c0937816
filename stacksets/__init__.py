"""StackSet lifecycle with boto3: rollout, onboarding with proof, status and teardown of the spoke.

Everything here talks to whatever endpoint boto3 is pointed at (``AWS_ENDPOINT_URL`` included), so the
same code rolls the spoke out to a real organization and to the embedded AWS. The ``deploy.py``
commands in ``commands/`` are thin adapters over these modules.
"""
