"""The hub Lambda asset: reproducible, pure Python, self-contained."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from handlers.registry import POLICIES
from hub.asset import BOTOCORE_SERVICES, FIXED_MTIME, HANDLERS_DIR, VENDORED, AssetBuildError, build_lambda_asset

REPO = Path(__file__).resolve().parents[2]
# botocore service names of the IAM prefixes that differ from them.
SERVICE_OF_PREFIX = {"tag": "resourcegroupstaggingapi"}


def tree_digest(root: Path) -> str:
    """Paths, modes, mtimes and contents of every entry, in a fixed order."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}|{stat.st_mode:o}|{int(stat.st_mtime)}\n".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lambda_asset(tmp_path_factory.mktemp("asset") / "lambda")


def test_two_builds_are_byte_identical(asset: Path, tmp_path: Path) -> None:
    again = build_lambda_asset(tmp_path / "again")
    assert tree_digest(asset) == tree_digest(again)
    assert {p.stat().st_mtime for p in again.rglob("*")} == {FIXED_MTIME}


def test_asset_holds_the_handlers_and_pure_python_jinja2_and_markupsafe(asset: Path) -> None:
    assert (asset / "handlers" / "registry.py").is_file()
    assert (asset / "jinja2" / "__init__.py").is_file()
    assert (asset / "markupsafe" / "_native.py").is_file()
    shipped_handlers = {p.relative_to(asset / "handlers") for p in (asset / "handlers").rglob("*.py")}
    source_handlers = {p.relative_to(HANDLERS_DIR) for p in HANDLERS_DIR.rglob("*.py")
                       if "__pycache__" not in p.parts}
    assert shipped_handlers == source_handlers
    compiled = [p for p in asset.rglob("*")
                if p.suffix in (".so", ".pyd", ".pyc", ".c") or p.name == "__pycache__"]
    assert compiled == []
    licenses = {p.name for p in (asset / "THIRD_PARTY_LICENSES").iterdir()}
    assert {n.rsplit("-", 1)[0] for n in licenses} == {distribution for _, distribution in VENDORED}
    assert {"boto3-NOTICE", "botocore-NOTICE", "s3transfer-NOTICE.txt"} <= licenses  # Apache-2.0 NOTICE files


def test_asset_vendors_the_sdk_with_only_the_service_models_the_handlers_use(asset: Path) -> None:
    data = asset / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == BOTOCORE_SERVICES
    assert {"endpoints.json", "partitions.json", "_retry.json", "sdk-default-configuration.json"} <= \
        {p.name for p in data.iterdir() if p.is_file()}
    assert not list(data.rglob("examples-*")) and not (asset / "boto3" / "data").exists()
    assert (asset / "six.py").is_file() and (asset / "botocore" / "cacert.pem").is_file()


def services_used_by_the_handlers() -> set[str]:
    """Every ``client("...")`` in handlers/, and the service of every write action a policy performs."""
    services: set[str] = set()
    for path in HANDLERS_DIR.rglob("*.py"):
        text = path.read_text()
        services |= set(re.findall(r"client\(\s*\"([a-z0-9-]+)\"", text))
        services |= set(re.findall(r"Action\(\s*\"([a-z0-9-]+):", text))
    services |= {p.action.split(":")[0] for policy in POLICIES for p in policy.permissions}
    return {SERVICE_OF_PREFIX.get(s, s) for s in services}


def test_the_shipped_models_are_exactly_the_services_the_handlers_use() -> None:
    assert services_used_by_the_handlers() == BOTOCORE_SERVICES


def test_the_vendored_sdk_is_the_pinned_one() -> None:
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    boto3_pin = next(p for p in pins if p.startswith("boto3=="))
    assert importlib.metadata.version("boto3") == boto3_pin.split("==")[1]
    botocore = tuple(int(x) for x in importlib.metadata.version("botocore").split(".")[:3])
    assert (1, 44, 5) <= botocore < (1, 45, 0), "pyproject.toml: botocore>=1.44.5,<1.45"


def test_asset_runs_without_the_build_machines_site_packages(asset: Path, tmp_path: Path) -> None:
    code = (
        "import jinja2, markupsafe, handlers.registry as r\n"
        "print(markupsafe._escape_inner.__module__)\n"
        "print(jinja2.Environment(autoescape=True).from_string('{{ x }}').render(x='<b>'))\n"
        "print(jinja2.__file__.startswith(" + repr(str(asset)) + "))\n"
        "print(len(r.POLICIES))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environment["PYTHONPATH"] = str(asset)
    # -S: no site-packages, so only the asset can provide jinja2 and markupsafe.
    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    module, rendered, from_asset, policies = result.stdout.split()
    assert module == "markupsafe._native"
    assert rendered == "&lt;b&gt;"
    assert from_asset == "True"
    assert int(policies) >= 3


# Imports every handler module and creates every client the handlers use, from the asset alone; prints what it
# found. -I (isolated: no PYTHON* variables, no user site) and -S (no site-packages) leave only the standard
# library, so the asset must hold everything else.
SDK_PROBE = """
import json, sys
sys.path.insert(0, ASSET)
import importlib
for module in MODULES:
    importlib.import_module(module)
import boto3, botocore
session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")
clients = {name: type(session.client(name)).__name__ for name in SERVICES}
s3 = session.client("s3").meta.service_model
rule = s3.shape_for("ServerSideEncryptionRule").members
buckets = s3.operation_model("ListBuckets").output_shape.members["Buckets"].member.members
outside = sorted({m.__file__ for m in list(sys.modules.values())
                  if getattr(m, "__file__", None) and not m.__file__.startswith((ASSET, STDLIB))})
print(json.dumps({"boto3": [boto3.__version__, boto3.__file__], "botocore": [botocore.__version__, botocore.__file__],
                  "clients": clients, "blocked": "BlockedEncryptionTypes" in rule,
                  "bucket_region": "BucketRegion" in buckets, "outside": outside, "path": sys.path}))
"""


def test_every_handler_module_imports_and_creates_its_clients_from_the_asset_alone(asset: Path,
                                                                                    tmp_path: Path) -> None:
    modules = sorted({p.module for p in POLICIES} | {"handlers.adapters.canary", "handlers.adapters.reconcile",
                                                      "handlers.adapters.guardrail", "handlers.batch.sweep"})
    stdlib = sysconfig.get_paths()["stdlib"]
    code = (f"ASSET = {str(asset)!r}\nSTDLIB = {stdlib!r}\nMODULES = {modules!r}\n"
            f"SERVICES = {sorted(BOTOCORE_SERVICES)!r}\n" + SDK_PROBE)
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_CONFIG_FILE": os.devnull,
                   "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert not any("site-packages" in p for p in found["path"])
    assert found["boto3"] == [importlib.metadata.version("boto3"), str(asset / "boto3" / "__init__.py")]
    assert found["botocore"] == [importlib.metadata.version("botocore"), str(asset / "botocore" / "__init__.py")]
    assert set(found["clients"]) == BOTOCORE_SERVICES
    assert found["blocked"] and found["bucket_region"]
    assert found["outside"] == [], "modules loaded from neither the asset nor the standard library"


def test_refuses_to_build_into_a_directory_in_use(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("not ours")
    with pytest.raises(AssetBuildError, match="not empty"):
        build_lambda_asset(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "not ours"
