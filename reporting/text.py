"""A ``Report`` as plain text for a terminal or a CI log: the totals, one row per account x guardrail (worst
accounts first, each account's own total on its first row), then one row per day with a small bar."""

from __future__ import annotations

from collections.abc import Sequence

from reporting.model import CATEGORIES, Report

BAR_WIDTH = 30


def table(rows: Sequence[Sequence[str]], header: Sequence[str], numeric: range) -> list[str]:
    """Aligned columns; the ``numeric`` ones are right-aligned."""
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i])
              for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line([h.upper() for h in header]), *(line(r) for r in rows)]


def _numbers(counts: dict[str, int]) -> list[str]:
    return [str(counts[c]) if counts[c] else "." for c in (*CATEGORIES, "total")]


def account_rows(report: Report) -> list[list[str]]:
    rows = []
    for account in report.accounts:
        rows.append([account.account, account.name or "-", "(all)", *_numbers(account.counts.to_dict())])
        rows += [["", "", g.policy, *_numbers(g.counts.to_dict())] for g in account.guardrails]
    return rows


def day_rows(report: Report) -> list[list[str]]:
    peak = max((d.counts.total for d in report.trend), default=0) or 1
    return [[d.day.isoformat(), *_numbers(d.counts.to_dict()),
             "#" * round(BAR_WIDTH * d.counts.total / peak)] for d in report.trend]


def render_text(report: Report) -> str:
    totals = report.totals
    lines = [f"OrgGuard report, {report.first_day} to {report.last_day} ({report.days} day(s), UTC), "
             f"generated {report.generated:%Y-%m-%d %H:%M}Z",
             "from " + ("; ".join(report.sources) or "no source"),
             ", ".join(f"{getattr(totals, c)} {c}" for c in CATEGORIES) + f" ({totals.total} in all)", ""]
    if report.accounts:
        lines += table(account_rows(report), ["account", "name", "guardrail", *CATEGORIES, "total"],
                       range(3, 10))
    else:
        lines.append("(no outcome recorded in the period)")
    lines += ["", *table(day_rows(report), ["day", *CATEGORIES, "total", ""], range(1, 8))]
    if report.outside:
        lines.append(f"({report.outside} record(s) outside the period not counted)")
    return "\n".join(lines) + "\n"
