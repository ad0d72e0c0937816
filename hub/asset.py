"""Build the hub Lambda asset: the repository's ``handlers`` package with its run-time dependencies vendored in.

Vendored: Jinja2 and MarkupSafe (notifications), and a pinned AWS SDK (boto3, botocore and what they import at
run time: s3transfer, jmespath, python-dateutil, six, urllib3). Lambda's bundled SDK depends on the runtime
version and region and may predate fields the handlers use (``BlockedEncryptionTypes`` of S3's encryption
rule, ``BucketRegion`` of ListBuckets); the asset root comes first on Lambda's ``sys.path``, so the vendored
SDK is the one imported. botocore's data directory holds every AWS service (~30 MB): only the models of the
services the handlers create clients for ship (``BOTOCORE_SERVICES``, checked against ``handlers/`` by a
test), with botocore's top-level data (endpoints, partitions, retry and default configuration); no examples.
boto3's resource models are left out (the handlers use clients only). certifi is not vendored: without it
botocore uses its own ``cacert.pem``.

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
from collections.abc import Callable, Iterator
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
HANDLERS_DIR = REPOSITORY_ROOT / "handlers"

# (import name, distribution name) of the pure-Python packages and modules the handlers need at run time.
VENDORED = (("jinja2", "jinja2"), ("markupsafe", "markupsafe"),
            ("boto3", "boto3"), ("botocore", "botocore"), ("s3transfer", "s3transfer"), ("jmespath", "jmespath"),
            ("dateutil", "python-dateutil"), ("six", "six"), ("urllib3", "urllib3"))
LICENSES_DIR = "THIRD_PARTY_LICENSES"
LICENSE_PREFIXES = ("LICENSE", "COPYING", "NOTICE")  # Apache-2.0 packages ship a NOTICE that must travel too

# The botocore service models shipped: every service a handler creates a client for (``client("...")``, and
# the services of the write actions a policy performs; tests/infra/test_hub_asset.py checks the list).
BOTOCORE_SERVICES = frozenset({"dynamodb", "ec2", "kms", "organizations", "resourcegroupstaggingapi", "s3", "sns",
                               "sqs", "sts"})

# 1980-01-01T00:00:00Z, the earliest time a zip archive can hold.
FIXED_MTIME = 315532800
FILE_MODE = 0o644
DIR_MODE = 0o755

SKIPPED_DIRS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo", ".so", ".pyd", ".dylib", ".c", ".h"})


class AssetBuildError(RuntimeError):
    """The asset cannot be built (a vendored package is missing, or the output directory is in use)."""


# Given a path relative to the package root, whether it stays out of the asset.
Excluded = Callable[[Path], bool]


def _nothing_excluded(relative: Path) -> bool:
    return False


def _botocore_excluded(relative: Path) -> bool:
    """botocore/data/<service>/<version>/...: only the shipped services, and never their examples."""
    parts = relative.parts
    if len(parts) >= 3 and parts[0] == "data":
        return parts[1] not in BOTOCORE_SERVICES or parts[-1].startswith("examples-")
    return False


def _boto3_excluded(relative: Path) -> bool:
    return relative.parts[:1] == ("data",)  # resource models: boto3.resource() is not used


EXCLUDED: dict[str, Excluded] = {"botocore": _botocore_excluded, "boto3": _boto3_excluded}


def _shipped_files(root: Path, excluded: Excluded = _nothing_excluded) -> Iterator[Path]:
    """Files under ``root`` that belong in the asset, in a stable (sorted) order."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            path = Path(directory, name)
            if path.suffix in SKIPPED_SUFFIXES or name.startswith(".") or path.is_symlink():
                continue
            if excluded(path.relative_to(root)):
                continue
            yield path


def _copy_tree(source: Path, target: Path, excluded: Excluded = _nothing_excluded) -> None:
    for path in _shipped_files(source, excluded):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def _source(import_name: str) -> Path:
    """The package directory, or the file of a single-module distribution (six)."""
    spec = importlib.util.find_spec(import_name)
    if spec is None:
        raise AssetBuildError(f"{import_name} is not installed; run `make install`")
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin and spec.origin.endswith(".py"):
        return Path(spec.origin)
    raise AssetBuildError(f"{import_name} is not pure Python ({spec.origin}); it cannot be vendored")


def _license_files(distribution: str) -> list[tuple[str, Path]]:
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as error:
        raise AssetBuildError(f"{distribution} is not installed; run `make install`") from error
    found = []
    for file in dist.files or ():
        if ".dist-info" in str(file) and Path(str(file)).name.upper().startswith(LICENSE_PREFIXES):
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
        source = _source(import_name)
        if source.is_file():
            shutil.copyfile(source, out / source.name)
        else:
            _copy_tree(source, out / import_name, EXCLUDED.get(import_name, _nothing_excluded))
        for name, path in _license_files(distribution):
            target = out / LICENSES_DIR / f"{distribution}-{name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    _normalise(out)
    return out
