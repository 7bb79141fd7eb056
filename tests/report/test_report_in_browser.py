"""The HTML report in a real browser (headless Chromium): it loads cleanly, its charts and drill-down work, a
hostile key stays text, and a report of 10,000 compared cells stays small and fast."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from report_results import HOSTILE, REGIONS, WORST_KEY, full_result, result

from parity.report import HistoryPoint, ReportContext, write_reports

HISTORY = tuple(HistoryPoint(f"run-{i}", f"2026-11-2{i}T08:00:00Z", "passed", 0.999 + i / 10_000) for i in range(5))


def _open(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"request {request.url}"))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    return page, errors, dialogs


def test_the_report_loads_without_console_errors_and_draws_its_charts(browser: Any, tmp_path: Path) -> None:
    files = write_reports(full_result(), tmp_path, ReportContext(regions=REGIONS, history=HISTORY))
    page, errors, _ = _open(browser, files.html)
    assert errors == []
    for chart in ("range-chart", "what-if-chart", "history-chart"):
        assert page.locator(f"#{chart} svg").count() == 1
        box = page.locator(f"#{chart} svg").bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 80
    # the range chart stacks divergent cells by cause: one bar group per cause, a bar per window
    assert page.locator("#range-chart svg #bars-unexplained path").count() == 60
    assert page.locator("#what-if-chart svg [id^='what-if-curve'] path").count() >= 1
    page.close()


def test_the_drill_down_expands_from_region_to_the_worst_gh6(browser: Any, tmp_path: Path) -> None:
    files = write_reports(result(), tmp_path, ReportContext(regions=REGIONS))
    page, errors, _ = _open(browser, files.html)
    leaf = page.locator("#drilldown .leaf", has_text=WORST_KEY)
    assert not leaf.is_visible()
    for label in ("new_york", WORST_KEY[:4], WORST_KEY[:5]):
        page.locator(f"details[data-label='{label}'] > summary").first.click()
    assert leaf.is_visible()
    assert "1 unexplained" in leaf.inner_text()
    assert errors == []
    page.close()


def test_a_hostile_key_is_inert_text_in_the_browser(browser: Any, tmp_path: Path) -> None:
    files = write_reports(result(), tmp_path, ReportContext(regions=REGIONS))
    page, errors, dialogs = _open(browser, files.html)
    page.wait_for_timeout(200)
    assert dialogs == [] and errors == []
    assert page.locator("script").count() == 0
    assert page.locator("h1").count() == 1  # no injected heading
    assert page.locator("#description").inner_text() == HOSTILE
    assert page.locator("#worst-cells td.data").first.inner_text() == f"geohash6={HOSTILE}"
    page.close()


def test_a_report_of_ten_thousand_cells_is_under_2_mb_and_renders_in_under_2_s(browser: Any, tmp_path: Path) -> None:
    files = write_reports(result(10_000), tmp_path, ReportContext(regions=REGIONS, history=HISTORY))
    size = files.html.stat().st_size
    assert size < 2_000_000, size
    page = browser.new_page()
    started = time.perf_counter()
    page.goto(files.html.as_uri(), wait_until="load")
    page.locator("#history-chart svg").wait_for()
    seconds = time.perf_counter() - started
    assert seconds < 2.0, seconds
    print(f"10,000 cells: {size / 1e6:.2f} MB, JSON {files.json.stat().st_size / 1e6:.2f} MB, "
          f"rendered in {seconds:.2f} s")
    page.close()
