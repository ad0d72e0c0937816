"""The report's renderings: one self-contained HTML page (every piece of data escaped, no script, nothing
fetched from anywhere) and the terminal's text table."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from reporting.model import Report, build_report
from reporting.page import account_chart, day_chart, render_html
from reporting.text import render_text

pytestmark = pytest.mark.unit

NOW = dt.datetime(2030, 3, 10, 15, 30, tzinfo=dt.UTC)
ALPHA, BETA = "111111111111", "222222222222"
HOSTILE = '<script>alert("x")</script><img src="https://evil.example/x.png">'


def report(days: int = 7) -> Report:
    def at(days_ago: int) -> str:
        return (NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return build_report([
        {"account": ALPHA, "policy": "s3-encryption", "outcome": "remediated", "time": at(0)},
        {"account": ALPHA, "policy": HOSTILE, "outcome": "failed:AccessDenied", "time": at(1)},
        {"account": BETA, "policy": "ec2-compliance", "outcome": "compliant", "time": at(2)},
        {"account": BETA, "policy": "vpc-created", "outcome": "exempt", "time": at(2)}],
        NOW, days, names={ALPHA: "alpha & <b>co</b>", BETA: "beta"}, sources=[f"table {HOSTILE}"])


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    return elements


def test_every_piece_of_data_is_escaped() -> None:
    html = render_html(report())

    assert HOSTILE not in html and "<b>co</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "alpha &amp; &lt;b&gt;co&lt;/b&gt;" in html
    text = "".join(parsed(html).text)
    assert HOSTILE in text and "alpha & <b>co</b>" in text  # the reader sees the data as it is


def test_the_page_runs_no_script_and_fetches_nothing() -> None:
    html = render_html(report())
    tags = parsed(html).tags

    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe", "object", "embed", "base")]
    assert not [a for _, a in tags if any(k.startswith("on") for k in a)]
    references = [v for _, a in tags for k, v in a.items() if k in ("src", "href", "xlink:href", "action") and v]
    assert references == []
    assert "@import" not in html and "url(" not in html and "@font-face" not in html
    plain = render_html(build_report([{"account": ALPHA, "policy": "p", "outcome": "compliant",
                                       "time": "2030-03-10T00:00:00Z"}], NOW))
    assert not re.search(r"(?i)(?:https?:)?//[a-z0-9.-]+", plain)  # no URL of any host, not even a namespace


def test_the_page_has_both_charts_the_tables_and_every_account() -> None:
    html = render_html(report())
    ids = {a.get("id") for _, a in parsed(html).tags}

    assert {"chart-days", "chart-accounts", "accounts", "trend"} <= ids
    assert html.index(ALPHA) < html.index(BETA)  # worst first
    assert html.count('<tr class="account"') == 2
    assert 'id="total-failed">1<' in html and 'id="total-all">4<' in html


def test_the_day_chart_stacks_each_days_categories_to_scale() -> None:
    chart = day_chart(report(days=3))

    assert [b.total for b in chart.bars] == [2, 1, 1] and chart.peak == 2
    tallest = chart.bars[0]
    assert [s.category for s in tallest.segments] == ["compliant", "exempt"]
    assert sum(s.height for s in tallest.segments) == pytest.approx(chart.height - 16 - 28)
    assert tallest.segments[1].y + tallest.segments[1].height == pytest.approx(tallest.segments[0].y)
    assert all(b.show_label for b in chart.bars)
    assert sum(b.show_label for b in day_chart(report(days=90)).bars) <= 15


def test_the_account_chart_has_one_bar_per_account_worst_on_top() -> None:
    chart = account_chart(report())

    assert [b.label for b in chart.bars] == [f"alpha & <b>co</b> {ALPHA}", f"beta {BETA}"]
    assert chart.bars[0].y < chart.bars[1].y
    assert [s.category for s in chart.bars[0].segments] == ["fixed", "failed"]


def test_an_empty_period_renders_too() -> None:
    empty = build_report([], NOW)

    assert "No outcome was recorded in the period." in render_html(empty)
    assert "(no outcome recorded in the period)" in render_text(empty)


def test_the_terminal_table_reads_worst_account_first_then_the_days() -> None:
    lines = render_text(report(days=3)).splitlines()

    header = lines.index(next(line for line in lines if line.startswith("ACCOUNT")))
    assert lines[header].split() == ["ACCOUNT", "NAME", "GUARDRAIL", "COMPLIANT", "FIXED", "REPORTED", "EXEMPT",
                                     "FAILED", "OTHER", "TOTAL"]
    assert lines[header + 1].split()[:3] == [ALPHA, "alpha", "&"]
    assert lines[header + 1].split()[-7:] == [".", "1", ".", ".", "1", ".", "2"]
    assert "0 reported" in lines[2] and "4 in all" in lines[2]
    days = [line.split()[0] for line in lines if re.match(r"\d{4}-\d\d-\d\d ", line)]
    assert days == ["2030-03-08", "2030-03-09", "2030-03-10"]
    assert lines[-3].startswith("2030-03-08") and lines[-3].endswith("  " + "#" * 30)  # the busiest day
    assert lines[-1].startswith("2030-03-10") and lines[-1].endswith("  " + "#" * 15)
