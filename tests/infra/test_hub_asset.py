"""The hub Lambda asset: reproducible, pure Python, self-contained."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.asset import FIXED_MTIME, HANDLERS_DIR, AssetBuildError, build_lambda_asset


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
    assert {n.split("-")[0] for n in licenses} == {"jinja2", "markupsafe"}


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


def test_refuses_to_build_into_a_directory_in_use(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("not ours")
    with pytest.raises(AssetBuildError, match="not empty"):
        build_lambda_asset(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "not ours"
