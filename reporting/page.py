"""A ``Report`` as one self-contained HTML file: inline CSS, inline SVG charts (a stacked bar per day and a
stacked bar per account), no script, no font or image fetched from anywhere. Every piece of data goes through
Jinja2's autoescaping (``StrictUndefined``: a name the template misspells fails the render)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reporting.model import CATEGORIES, Counts, Report

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "report.html.j2"
COLORS = {"compliant": "#2e7d32", "fixed": "#1565c0", "reported": "#ef8f00", "exempt": "#8d8d8d",
          "failed": "#c62828", "other": "#7b4ea3"}
CHART_WIDTH = 760
DAY_CHART_HEIGHT = 240
DAY_LABELS = 14  # at most this many day labels under the day chart
ACCOUNT_ROW = 28
ACCOUNT_LABEL_WIDTH = 250


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    category: str
    count: int


@dataclass(frozen=True)
class Bar:
    label: str
    title: str  # the bar's tooltip (an SVG <title>)
    x: float  # where the bar ends (horizontal) or begins (vertical)
    y: float  # its top
    center: float  # the middle of a vertical bar's slot, the middle of a horizontal bar's row
    total: int
    show_label: bool
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    peak: int
    bars: list[Bar]


def _title(label: str, counts: Counts) -> str:
    return f"{label}: " + ", ".join(f"{getattr(counts, c)} {c}" for c in CATEGORIES if getattr(counts, c)) \
        if counts.total else f"{label}: nothing"


def day_chart(report: Report) -> Chart:
    """Vertical bars, oldest day on the left; each stacks its categories from the bottom."""
    left, right, top, bottom = 40, 10, 16, 28
    plot_w, plot_h = CHART_WIDTH - left - right, DAY_CHART_HEIGHT - top - bottom
    peak = max((d.counts.total for d in report.trend), default=0) or 1
    slot = plot_w / max(len(report.trend), 1)
    width = min(slot * 0.7, 56.0)
    every = math.ceil(len(report.trend) / DAY_LABELS)
    bars = []
    for n, day in enumerate(report.trend):
        x = left + n * slot + (slot - width) / 2
        base = top + plot_h
        segments = []
        for name in CATEGORIES:
            count = getattr(day.counts, name)
            if count:
                height = plot_h * count / peak
                base -= height
                segments.append(Segment(x, base, width, height, name, count))
        label = day.day.strftime("%m-%d")
        bars.append(Bar(label, _title(day.day.isoformat(), day.counts), x, base, x + width / 2, day.counts.total,
                        (len(report.trend) - 1 - n) % every == 0, segments))
    return Chart(CHART_WIDTH, DAY_CHART_HEIGHT, peak, bars)


def account_chart(report: Report) -> Chart:
    """Horizontal bars, worst account on top; each stacks its categories from the left."""
    plot_w = CHART_WIDTH - ACCOUNT_LABEL_WIDTH - 50
    peak = max((a.counts.total for a in report.accounts), default=0) or 1
    bars = []
    for n, account in enumerate(report.accounts):
        y, x = 8 + n * ACCOUNT_ROW, float(ACCOUNT_LABEL_WIDTH)
        segments = []
        for name in CATEGORIES:
            count = getattr(account.counts, name)
            if count:
                width = plot_w * count / peak
                segments.append(Segment(x, y, width, ACCOUNT_ROW - 8, name, count))
                x += width
        label = f"{account.name} {account.account}" if account.name else account.account
        bars.append(Bar(label, _title(label, account.counts), x, y, y + (ACCOUNT_ROW - 8) / 2, account.counts.total,
                        True, segments))
    return Chart(CHART_WIDTH, 16 + max(len(bars), 1) * ACCOUNT_ROW, peak, bars)


def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_html(report: Report, title: str = "OrgGuard report") -> str:
    return environment().get_template(TEMPLATE).render(
        report=report, title=title, categories=CATEGORIES, colors=COLORS, days=day_chart(report),
        accounts=account_chart(report), label_width=ACCOUNT_LABEL_WIDTH)
