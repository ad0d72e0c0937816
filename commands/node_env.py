"""Quiet jsii and the AWS CDK before anything imports ``aws_cdk``: no Node end-of-life banner, no deprecation noise.

jsii prints a banner for every Node version it has not been tested with unless
``JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION`` names the running Node's major version (the Makefile exports
it for ``make`` targets; ``deploy.py`` sets it itself so a direct run is as quiet), and the CDK's deprecated-API
warnings are silenced with ``JSII_DEPRECATED=quiet``. Values the caller set are kept.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import MutableMapping

SILENCE_NODE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
DEPRECATED = "JSII_DEPRECATED"
FALLBACK_NODE_MAJOR = "20"  # the Node version README and package.json ask for


def node_major(node: str | None = None) -> str | None:
    """The running Node's major version (``node --version``), or None without Node."""
    node = node or shutil.which("node")
    if node is None:
        return None
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v?(\d+)\.", version.strip())
    return match.group(1) if match else None


def quiet_node(environ: MutableMapping[str, str] | None = None) -> None:
    """Set both variables in ``environ`` (default ``os.environ``) unless already set."""
    environ = os.environ if environ is None else environ
    if SILENCE_NODE not in environ:
        environ[SILENCE_NODE] = node_major() or FALLBACK_NODE_MAJOR
    environ.setdefault(DEPRECATED, "quiet")
