"""Run the benchmarks: ``python -m benchmarks`` runs every suite, ``python -m benchmarks engine`` one.

A suite is a list of modules, each with ``main(argv=None) -> int`` (non-zero when its bound is broken); run
one module with its own options as ``python -m benchmarks.<module> --help``.
"""

from __future__ import annotations

import importlib
import sys

SUITES: dict[str, tuple[str, ...]] = {
    # AWS API calls per event against their minimum, and what a handler import adds to a Lambda cold start.
    "engine": ("benchmarks.engine_calls", "benchmarks.cold_start"),
    # `orgguard sweep --fix` against Cloud Custodian over the same seeded organization.
    "sweep": ("benchmarks.sweep_vs_custodian",),
}


def main(argv: list[str]) -> int:
    names = argv or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from: {', '.join(SUITES)}",
              file=sys.stderr)
        return 2
    worst = 0
    for name in names:
        for module_name in SUITES[name]:
            print(f"== {module_name}", flush=True)
            code = int(importlib.import_module(module_name).main())
            worst = max(worst, code)
            print(flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
