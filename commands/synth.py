"""`orgguard synth`: hub template, both spoke templates and Lambda asset, linted, written all or nothing.

Everything is built in a staging directory next to ``--out`` and moved into place only when the hub synth
(with cdk-nag), the spoke rendering and cfn-lint on every template succeeded; on any failure the previous
output, if any, is left as it was. ``--dry-run`` builds and lints but writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from commands.common import fail
from handlers.settings import Settings

HELP = "render the hub and the two spoke templates and the Lambda asset, and lint them"
NEEDS_ORGANIZATION = True  # the templates are what gets deployed: from a complete --config file
COMMON_OPTIONS = ("config", "dry-run", "json")  # the ones it reads: deploy.py offers only these
OPTION_HELP = {"dry-run": "synthesize, render and lint everything, write nothing"}
JSON_HELP = "print one JSON document on stdout (ok, out, written, files, problems) instead of text"
DEFAULT_OUT = "build/synth"
HUB_TEMPLATE = "hub.template.json"
SPOKE_TEMPLATE = "spoke.template.yaml"  # the regional part: rules, DLQ, alarm (StackSet rollout.stackset_name)
SPOKE_GLOBAL_TEMPLATE = "spoke-global.template.yaml"  # the roles (StackSet rollout.global_stackset_name)
ASSET_DIR = "lambda-asset"
OUTPUTS = (HUB_TEMPLATE, SPOKE_TEMPLATE, SPOKE_GLOBAL_TEMPLATE, ASSET_DIR)

# cfn-lint rules ignored in the hub template, each with the reason. Nothing is ignored in the spoke.
HUB_LINT_IGNORED = {
    "W3005": "the CDK's Lambda Function construct always adds an explicit DependsOn on its execution role "
             "next to the GetAtt of the role's ARN; the duplicate dependency is generated and harmless",
}


@dataclass(frozen=True)
class LintProblem:
    template: str
    rule: str
    severity: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.template}:{self.line}: {self.rule} ({self.severity}) {self.message}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                        help=f"where to write the templates and the asset (default: {DEFAULT_OUT})")


def lint_template(name: str, text: str, regions: list[str], ignored: dict[str, str] | None = None
                  ) -> list[LintProblem]:
    """cfn-lint's errors and warnings for one template (informational matches are not problems).

    cfn-lint ships its own region list, older than botocore's (which the settings are checked against) and
    refuses a region it does not know; such a region is named on stderr and left out of the lint.
    """
    from cfnlint.api import ManualArgs, lint
    from cfnlint.helpers import REGIONS as LINT_REGIONS

    unknown = [r for r in regions if r not in LINT_REGIONS]
    regions = [r for r in regions if r in LINT_REGIONS] or ["us-east-1"]
    if unknown:
        print(f"note: cfn-lint has no data for {', '.join(unknown)}: {name} linted for {', '.join(regions)}",
              file=sys.stderr)
    matches = lint(text, config=ManualArgs(regions=regions, ignore_checks=sorted(ignored or {})))
    return [LintProblem(name, m.rule.id, m.rule.severity, m.linenumber, m.message)
            for m in matches if not m.rule.id.startswith("I")]


def _check_out_dir(out: Path) -> str | None:
    """Refuse to replace a directory that holds anything synth did not write (``--out .`` must not wipe)."""
    if out.exists() and not out.is_dir():
        return f"--out {out}: exists and is not a directory"
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUTPUTS)
        if foreign:
            return (f"--out {out}: holds files synth did not write ({', '.join(foreign[:5])}); "
                    "choose a new or empty directory")
    return None


def _stage_dir(out: Path) -> Path:
    """A staging directory on the same file system as ``out`` when its parent exists (atomic rename)."""
    parent = out.resolve().parent
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}-staging-", dir=parent if parent.is_dir() else None))
    stage.chmod(0o755)  # mkdtemp makes it private; the output is an ordinary directory
    return stage


def _move_into_place(stage: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = None
    if out.exists():
        previous = out.with_name(f".{out.name}-previous-{stage.name}")
        out.rename(previous)
    shutil.move(str(stage), str(out))
    if previous is not None:
        shutil.rmtree(previous)


@contextlib.contextmanager
def step(name: str, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """``synth: NAME ...``, then ``synth: NAME done in 1.2s`` (or ``failed after``), on stderr: --json's stdout
    stays clean."""
    stream = stream if stream is not None else sys.stderr
    print(f"synth: {name} ...", file=stream, flush=True)
    started = clock()
    try:
        yield
    except BaseException:
        print(f"synth: {name} failed after {clock() - started:.1f}s", file=stream, flush=True)
        raise
    print(f"synth: {name} done in {clock() - started:.1f}s", file=stream, flush=True)


def _build(settings: Settings, stage: Path) -> list[LintProblem]:
    from hub.app import synth_hub
    from spoke.render import render_spoke, render_spoke_global

    with step("synthesize the hub (CDK, cdk-nag, Lambda asset)"):
        synth_hub(settings, stage)
    with step("render the spoke templates"):
        spoke_text, global_text = render_spoke(settings), render_spoke_global(settings)
        (stage / SPOKE_TEMPLATE).write_text(spoke_text)
        (stage / SPOKE_GLOBAL_TEMPLATE).write_text(global_text)
    hub_text = (stage / HUB_TEMPLATE).read_text()
    with step("lint every template (cfn-lint)"):
        return (lint_template(HUB_TEMPLATE, hub_text, [settings.organization.hub_region], HUB_LINT_IGNORED)
                + lint_template(SPOKE_TEMPLATE, spoke_text, list(settings.organization.regions))
                + lint_template(SPOKE_GLOBAL_TEMPLATE, global_text, [settings.organization.spoke_home_region]))


def _refuse(args: argparse.Namespace, problems: list[Any]) -> int:
    code = fail(args, *(str(p) for p in problems))
    print("Nothing was written.", file=sys.stderr)
    return code


def _report(args: argparse.Namespace, out: Path, written: bool) -> None:
    if args.json:
        print(json.dumps({"ok": True, "out": str(out), "written": written,
                          "files": [str(out / name) for name in OUTPUTS] if written else [],
                          "problems": []}, indent=2))
        return
    if written:
        for name in OUTPUTS:
            print(f"wrote {out / name}")
        print("cfn-lint: every template clean")
    else:
        print(f"dry run: every template synthesized and linted clean; nothing written to {out}")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from hub.asset import AssetBuildError
    from hub.nag import HubNagError
    from spoke.render import SpokeRenderError

    out = Path(args.out)
    refusal = _check_out_dir(out)
    if refusal:
        return _refuse(args, [refusal])
    stage = _stage_dir(out)
    try:
        try:
            problems: list[Any] = list(_build(settings, stage))
        except HubNagError as error:
            problems = error.findings
        except SpokeRenderError as error:
            problems = [f"spoke: {p}" for p in error.problems]
        except (AssetBuildError, ValueError) as error:
            problems = [str(error)]
        if problems:
            return _refuse(args, problems)
        if args.dry_run:
            _report(args, out, False)
            return 0
        _move_into_place(stage, out)
        _report(args, out, True)
        return 0
    finally:
        if stage.exists():
            shutil.rmtree(stage)
