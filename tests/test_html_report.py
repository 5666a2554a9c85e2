"""HTML reports opened in real headless Chromium (Debian's /usr/bin/chromium via Playwright).

These tests never skip: without Chromium they fail saying how to install it (`make test`
runs .ci/install-system-deps.sh when it is missing). With DUNNING_SCREENSHOTS=1 the
screenshots are also written to docs/images/ (the ones docs/portfolio.md shows).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics_support import PACK, challenger_pack, planted
from dunning import Split
from dunning.analytics import diff, outcomes, to_html, write_html
from dunning.simulation import SimConfig, compare, generate_portfolio

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("DUNNING_CHROMIUM", "/usr/bin/chromium")
INSTALL = (
    "run `make test` (it runs .ci/install-system-deps.sh) or `apt-get update && apt-get install"
    " -y --no-install-recommends chromium fonts-liberation2 fonts-wqy-microhei libatomic1`;"
    " `playwright install` is not needed (no CDN access here)"
)
# As root Chromium's sandbox cannot start; the network is closed: nothing may phone home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Playwright's Chromium on the system executable; a failure (never a skip) without it."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: {INSTALL}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright missing: pip install -e '.[dev]'", pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Opened:
    """A report page opened in the browser, with what the browser complained about."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1150, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri(), wait_until="load")

    def texts(self, selector: str) -> list[str]:
        return list(self.page.locator(selector).all_inner_texts())

    def shot(self, tmp: Path, name: str) -> Path:
        out = tmp / name
        self.page.screenshot(path=str(out), full_page=True)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("DUNNING_SCREENSHOTS") == "1":
            IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out, IMAGES / name)
        return out

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def report() -> Any:
    split = Split(PACK, {"B": challenger_pack()}, share="0.5", salt="ab", experiment="ab-1")
    return outcomes(*planted(split, 600, effect=0.10))


def test_the_page_is_self_contained(report: Any, tmp_path: Path) -> None:
    """No script, no link, no src/href to anything but the page itself and data: URIs."""
    text = to_html(report)
    assert "<script" not in text and "<link" not in text
    refs = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert all(r.startswith(("data:", "#")) for r in refs), refs
    path = write_html(report, tmp_path / "r.html")
    assert path.read_text(encoding="utf-8") == text
    assert to_html(report) == text  # deterministic, byte for byte


def test_the_outcomes_report_renders_its_tables_and_charts(
    browser: Any, report: Any, tmp_path: Path
) -> None:
    """Chromium shows the cure-rate, figures, tests and roll tables, the rule sets with
    their sha256, two SVG charts with bars, and reports no console error and no request
    beyond the file itself."""
    page = Opened(browser, write_html(report, tmp_path / "outcomes.html"))
    try:
        assert page.page.title() == "Strategy outcomes"
        segments = page.texts("#cure-rates tbody tr td:first-child")
        assert "all" in segments and "bucket=M2" in segments
        assert len(page.texts("#cure-rates tbody tr")) == sum(len(a) for a in
                                                              report.groups.values())  # fmt: skip
        shas = page.page.locator("#rule-sets").inner_text()
        for refs in report.rule_sets.values():
            assert refs[0]["sha256"] in shas
        tests = page.texts("#tests tbody tr")
        assert len(tests) == len(report.diffs)
        m2 = report.diff("cure_rate@30", "bucket=M2", "B")
        row = next(t for t in tests if t.startswith("cure_rate@30\tbucket=M2"))
        assert ("yes" in row) == m2.significant
        assert page.page.locator("#roll-A tbody tr").count() >= 2
        for chart in ("#chart-cure", "#chart-roll"):
            assert page.page.locator(f"svg{chart}").count() == 1
            box = page.page.locator(f"svg{chart}").bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 150
            assert page.page.locator(f"svg{chart} path").count() > 20  # bars, axes, text
        page.shot(tmp_path, "outcomes-report.png")
        assert page.errors == []
        assert [u for u in page.requests if not u.startswith(("file:", "data:"))] == []
    finally:
        page.close()


def test_the_chinese_page(browser: Any, report: Any, tmp_path: Path) -> None:
    page = Opened(browser, write_html(report, tmp_path / "zh.html", lang="zh"))
    try:
        assert page.page.title() == "策略效果"
        assert page.page.get_attribute("html", "lang") == "zh"
        assert "治愈率" in page.page.locator("body").inner_text()
        assert page.page.locator("svg#chart-cure").count() == 1
        page.shot(tmp_path, "outcomes-report-zh.png")
        assert page.errors == []
    finally:
        page.close()


def test_the_diff_report_lists_every_change(browser: Any, tmp_path: Path) -> None:
    from test_rule_diff import moved_threshold

    events = [e for s in generate_portfolio(SimConfig(accounts=120, seed=5)) for e in s.history]
    result = diff(PACK, moved_threshold(), events, start="2025-03-01T10:00:00+08:00",
                  end="2025-03-05T10:00:00+08:00")  # fmt: skip
    assert result.changes
    page = Opened(browser, write_html(result, tmp_path / "diff.html"))
    try:
        assert page.page.locator("#changes tbody tr").count() == len(result.changes)
        assert page.page.locator("#per-day tbody tr").count() == 5
        assert page.page.locator("svg#chart-pairs").count() == 1
        assert page.page.locator("svg#chart-days").count() == 1
        assert "cn_phone_collection" in page.page.locator("#changes").inner_text()
        page.shot(tmp_path, "diff-report.png")
        assert page.errors == []
    finally:
        page.close()


def test_the_compare_report_has_the_outcome_sections(browser: Any, tmp_path: Path) -> None:
    result = compare(PACK, challenger_pack(), SimConfig(accounts=30, days=31), share="0.5")
    page = Opened(browser, write_html(result, tmp_path / "compare.html"))
    try:
        assert page.page.locator("#summary tbody tr").count() >= 5
        assert page.page.locator("#cure-rates tbody tr").count() >= 2
        assert page.page.locator("svg#chart-cure").count() == 1
        assert page.errors == []
    finally:
        page.close()
