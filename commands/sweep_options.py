"""``orgguard sweep``'s arguments and the options parsed from them."""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass

from commands.common import UserError
from handlers.registry import sweepable_ids
from handlers.settings import ACCOUNT_RE, REGION_RE, Settings

DEFAULT_WORKERS = 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", action="append", choices=sweepable_ids(), metavar="ID",
                        help=f"sweep only this policy (repeatable; default: {', '.join(sweepable_ids())})")
    parser.add_argument("--accounts", metavar="ID,ID...",
                        help="only these accounts (default: the organization's governed accounts)")
    parser.add_argument("--regions", metavar="R,R...",
                        help="only these regions (default: organization.regions)")
    parser.add_argument("--fix", action="store_true",
                        help="remediate as each policy's mode says (report mode never writes); audit, e-mail")
    parser.add_argument("--csv", metavar="FILE", help="also write every finding to FILE as CSV")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                        help=f"account-regions swept at once (default {DEFAULT_WORKERS})")
    parser.add_argument("--restart", action="store_true",
                        help="forget what an interrupted run with the same parameters finished; start over")


@dataclass(frozen=True)
class Options:
    policies: tuple[str, ...]
    accounts: tuple[str, ...] | None  # None: from the organization
    regions: tuple[str, ...]
    fix: bool
    workers: int

    def state_key(self, settings: Settings) -> str:
        parameters = {"policies": sorted(self.policies), "regions": sorted(self.regions), "fix": self.fix,
                      "accounts": sorted(self.accounts or ["organization"]),
                      "settings": hashlib.sha256(settings.to_json().encode()).hexdigest()}
        return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:16]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_options(args: argparse.Namespace, settings: Settings) -> Options:
    if args.json and args.csv:
        raise UserError("--json and --csv cannot be combined: choose one output")
    if args.workers < 1 or args.workers > 128:
        raise UserError(f"--workers {args.workers}: must be from 1 to 128")
    accounts = None
    if args.accounts is not None:
        accounts = tuple(dict.fromkeys(_split(args.accounts)))
        bad = [a for a in accounts if not ACCOUNT_RE.match(a)]
        if bad or not accounts:
            raise UserError(f"--accounts {args.accounts!r}: give 12-digit account ids separated by commas")
    regions = tuple(dict.fromkeys(_split(args.regions))) if args.regions else settings.organization.regions
    bad = [r for r in regions if not REGION_RE.match(r)]
    if bad or not regions:
        raise UserError(f"--regions {args.regions!r}: give region names (us-east-1,...) separated by commas")
    policies = tuple(dict.fromkeys(args.policy or sweepable_ids()))
    return Options(policies, accounts, regions, args.fix, args.workers)
