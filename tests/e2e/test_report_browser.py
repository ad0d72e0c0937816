"""The demo's report (``demo-out/report.html``, written by the session's one demo run) in a real headless
Chromium: it renders every account of the demo, both charts and the numbers of the hub's audit table, with no
console error, no exception, no failed load and no request for anything but the file itself; a screenshot is
kept under the test's tmp_path."""

from __future__ import annotations

import datetime as dt
import re
import struct
from pathlib import Path

import pytest

from reporting.model import build_report
from tests.support.browser import chromium_or_skip, visit

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox")]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = 1280, 2000


@pytest.fixture(scope="session")
def chromium() -> str:
    """Asked for before ``demo_run``: without Chromium the test skips before the demo runs for it."""
    return chromium_or_skip()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_demos_report_renders_in_chromium_without_errors(chromium: str, demo_run, tmp_path: Path) -> None:
    page = demo_run.out_dir / "report.html"
    assert demo_run.exit_code == 0 and page.is_file(), demo_run.stderr
    assert f"report: {page}" in demo_run.stderr

    seen = visit(chromium, page, WIDTH, HEIGHT)
    screenshot = tmp_path / "report.png"
    screenshot.write_bytes(seen.screenshot)

    assert seen.errors == []
    assert seen.requests == [page.resolve().as_uri()]  # the page itself, nothing else
    assert png_size(screenshot.read_bytes()) == (WIDTH, HEIGHT)
    assert screenshot.stat().st_size > 30_000  # charts, tables and text, not a blank page
    for account, name in demo_run.state.members.items():
        assert account in seen.dom and name in seen.dom
    assert 'id="chart-days"' in seen.dom and 'id="chart-accounts"' in seen.dom
    assert seen.dom.count('<tr class="account"') == len(demo_run.state.members)
    expected = build_report(demo_run.state.audit, dt.datetime.now(dt.UTC)).totals
    shown = {m.group(1): int(m.group(2)) for m in re.finditer(r'id="total-(\w+)">(\d+)<', seen.dom)}
    assert shown == {**{name: value for name, value in expected.to_dict().items() if name != "total"},
                     "all": expected.total}
    assert expected.fixed >= 6  # the stories' and the reconcile's fixes are in it


def test_the_browser_check_sees_what_a_broken_page_does(chromium: str, tmp_path: Path) -> None:
    """The check above is not blind: a console error, an exception and a missing image are all reported."""
    page = tmp_path / "broken.html"
    page.write_text('<p>broken</p><img src="missing.png">'
                    '<script>console.error("from the page"); throw new Error("uncaught")</script>')

    seen = visit(chromium, page, 400, 300)

    assert any("from the page" in e for e in seen.errors)
    assert any("uncaught" in e for e in seen.errors)
    assert any("missing.png" in e for e in seen.errors)
    assert len(seen.requests) == 2 and "<p>broken</p>" in seen.dom
