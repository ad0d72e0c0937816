"""``orgguard sweep``'s report: text table, CSV and JSON."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

from commands.common import print_table
from commands.sweep_options import Options
from handlers import outcome as oc
from handlers.batch.records import DONE, SweepFinding, TargetResult, outcome_group

LISTED_STATUSES = (oc.REMEDIATED, oc.REPORTED, oc.EXEMPT)


# --- output --------------------------------------------------------------------------------------------


def _findings(results: Iterable[TargetResult]) -> list[SweepFinding]:
    return [f for r in results for f in r.findings]


def totals(results: Iterable[TargetResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        for group, number in result.counts().items():
            counts[group] = counts.get(group, 0) + number
        key = f"targets_{outcome_group(result.status)}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _print_text(results: list[TargetResult], names: dict[str, str], options: Options, run: str,
                out: TextIO) -> None:
    listed = sorted((f for f in _findings(results)
                     if f.outcome in LISTED_STATUSES or oc.is_failure(f.outcome)),
                    key=lambda f: (f.account, f.region, f.policy, f.resource))
    if listed:
        print("Resources that did not meet the standard:", file=out)
        print_table([{"account": f.account, "region": f.region, "policy": f.policy, "resource": f.resource,
                      "outcome": "fixed" if oc.kind_of(f.outcome) is oc.OutcomeKind.REMEDIATED else f.outcome,
                      "summary": f.summary.replace("\n", "; ")[:100]} for f in listed],
                    ["account", "region", "policy", "resource", "outcome", "summary"], out)
        print(file=out)
    rows = []
    for r in sorted(results, key=lambda r: (r.account, r.region)):
        counts = r.counts()
        rows.append({"account": r.account, "name": names.get(r.account, ""), "region": r.region,
                     "status": r.status, "checked": sum(counts.values()), "compliant": counts["compliant"],
                     "fixed": counts["remediated"], "reported": counts["reported"],
                     "exempt": counts["exempt"], "failed": counts["failed"],
                     "note": (r.error or "; ".join(r.notes))[:100]})
    print(f"Sweep {run} ({'fix' if options.fix else 'report only'}; policies {', '.join(options.policies)}):",
          file=out)
    print_table(rows, ["account", "name", "region", "status", "checked", "compliant", "fixed", "reported",
                       "exempt", "failed", "note"], out)
    t = totals(results)
    checked = sum(t.get(g, 0) for g in ("compliant", "remediated", "reported", "exempt", "gone", "failed"))
    print(f"\n{checked} resource(s): {t.get('compliant', 0)} compliant, {t.get('remediated', 0)} fixed, "
          f"{t.get('reported', 0)} reported, {t.get('exempt', 0)} exempt, {t.get('failed', 0)} failed; "
          f"{len(results)} account-region(s)", file=out)


def _write_csv(path: str, results: list[TargetResult], names: dict[str, str]) -> None:
    columns = ["account", "account_name", "region", "policy", "resource", "outcome", "summary", "stack_name"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for f in sorted(_findings(results), key=lambda f: (f.account, f.region, f.policy, f.resource)):
            writer.writerow({"account": f.account, "account_name": names.get(f.account, ""),
                             "region": f.region, "policy": f.policy, "resource": f.resource,
                             "outcome": f.outcome, "summary": f.summary.replace("\n", "; "),
                             "stack_name": f.stack_name})
        for r in results:
            if r.status != DONE:
                writer.writerow({"account": r.account, "account_name": names.get(r.account, ""),
                                 "region": r.region, "policy": "*", "resource": f"{r.account}/{r.region}",
                                 "outcome": r.status, "summary": r.error or "; ".join(r.notes)})


def _json_document(results: list[TargetResult], names: dict[str, str], options: Options, run: str,
                   complete: bool) -> dict[str, Any]:
    return {
        "run": run, "fix": options.fix, "complete": complete, "policies": list(options.policies),
        "regions": list(options.regions), "totals": totals(results),
        "targets": [{"account": r.account, "name": names.get(r.account, ""), "region": r.region,
                     "status": r.status, "error": r.error, "notes": r.notes, "counts": r.counts(),
                     "seconds": r.seconds} for r in sorted(results, key=lambda r: (r.account, r.region))],
        "findings": [f.to_dict() for f in sorted(_findings(results),
                                                 key=lambda f: (f.account, f.region, f.policy, f.resource))],
    }
