"""Build the hub Lambda asset: the repository's ``handlers`` package with Jinja2 and MarkupSafe vendored in.

The build is reproducible: files are copied in sorted order, every file and directory gets the same
mtime and permissions, and nothing compiled ships (no ``__pycache__``, no ``.so``). The Lambda runs
Python 3.12 while the build may run on another version, so MarkupSafe's C speedups built for this
interpreter must stay out; MarkupSafe falls back to its pure-Python implementation on its own.
Two builds of the same sources are byte-identical, so the CDK asset hash (and the template) is stable.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
HANDLERS_DIR = REPOSITORY_ROOT / "handlers"

# (import name, distribution name) of the pure-Python packages the handlers need at run time.
VENDORED = (("jinja2", "jinja2"), ("markupsafe", "markupsafe"))
LICENSES_DIR = "THIRD_PARTY_LICENSES"

# 1980-01-01T00:00:00Z, the earliest time a zip archive can hold.
FIXED_MTIME = 315532800
FILE_MODE = 0o644
DIR_MODE = 0o755

SKIPPED_DIRS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo", ".so", ".pyd", ".dylib", ".c", ".h"})


class AssetBuildError(RuntimeError):
    """The asset cannot be built (a vendored package is missing, or the output directory is in use)."""


def _shipped_files(root: Path) -> Iterator[Path]:
    """Files under ``root`` that belong in the asset, in a stable (sorted) order."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            path = Path(directory, name)
            if path.suffix in SKIPPED_SUFFIXES or name.startswith(".") or path.is_symlink():
                continue
            yield path


def _copy_tree(source: Path, target: Path) -> None:
    for path in _shipped_files(source):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def _package_dir(import_name: str) -> Path:
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        raise AssetBuildError(f"{import_name} is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def _license_files(distribution: str) -> list[tuple[str, Path]]:
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as error:
        raise AssetBuildError(f"{distribution} is not installed; run `make install`") from error
    found = []
    for file in dist.files or ():
        if Path(str(file)).name.upper().startswith(("LICENSE", "COPYING")):
            found.append((Path(str(file)).name, Path(str(dist.locate_file(file)))))
    return sorted(found)


def _normalise(root: Path) -> None:
    """Same permissions and mtime everywhere, directories last so their mtime is not bumped again."""
    for directory, subdirs, files in os.walk(root, topdown=False):
        for name in files:
            path = Path(directory, name)
            path.chmod(FILE_MODE)
            os.utime(path, (FIXED_MTIME, FIXED_MTIME))
        for name in subdirs:
            path = Path(directory, name)
            path.chmod(DIR_MODE)
            os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    root.chmod(DIR_MODE)
    os.utime(root, (FIXED_MTIME, FIXED_MTIME))


def build_lambda_asset(out_dir: Path | str) -> Path:
    """Build the asset into ``out_dir`` (created; must not exist or be empty) and return its path."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise AssetBuildError(f"{out} is not empty; the asset is built into a fresh directory")
    out.mkdir(parents=True, exist_ok=True)
    _copy_tree(HANDLERS_DIR, out / "handlers")
    for import_name, distribution in VENDORED:
        _copy_tree(_package_dir(import_name), out / import_name)
        for name, path in _license_files(distribution):
            target = out / LICENSES_DIR / f"{distribution}-{name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    _normalise(out)
    return out
