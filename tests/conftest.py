"""Shared by every test tier; kept minimal. Tier-specific fixtures live in each tier's conftest.py."""

import os

# The CDK's jsii runtime warns on every start about Node 20's end of life; the Makefile sets this too, so a
# bare `pytest` run behaves like `make test`. It must be set before anything imports aws_cdk.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
