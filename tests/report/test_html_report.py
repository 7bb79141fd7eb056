"""The HTML report rendered from a hand-built result: sections, escaping, drill-down, commands, JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

from report_results import HOSTILE, REGIONS, WORST_KEY, full_result, result

from parity.report import ReportContext, render_html, to_json, write_reports
from parity.report.drilldown import OTHER, tree
from parity.result import CheckResult


def test_no_value_from_the_data_reaches_the_html_unescaped() -> None:
    page = render_html(result(), ReportContext(regions=REGIONS))
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x\n# heading" in page


def test_the_page_loads_nothing_and_runs_no_script() -> None:
    page = render_html(full_result(), ReportContext(regions=REGIONS))
    lowered = page.lower()
    assert "<script" not in lowered and " src=" not in lowered and "@import" not in lowered
    assert "url(http" not in lowered and "url(//" not in lowered
    assert 'href="http' not in lowered and "href='http" not in lowered
    assert "default-src 'none'" in page  # and the Content-Security-Policy forbids it anyway


def test_sections_come_in_the_order_on_call_reads_them() -> None:
    page = render_html(full_result(), ReportContext(regions=REGIONS))
    order = ["verdict-section", "windows-section", "causes-section", "panes-section", "drilldown-section",
             "worst-section", "expectations-section", "history-section", "next-step"]
    positions = [page.index(f'id="{section}"') for section in order]
    assert positions == sorted(positions)


def test_diagnoses_what_if_and_panes_render_when_the_result_has_them() -> None:
    page = render_html(full_result())
    assert "window_shift" in page and "1 h behind offline" in page
    assert 'id="what-if-chart"' in page and 'id="what-if-curve' in page
    assert "91.000%" in page  # on-time pane agreement, beside the final pane's (the check's agreement)
    assert 'id="lateness-needed"' in page and "<b>10m</b>" in page
    bare = render_html(result())
    assert "what-if-chart" not in bare and "panes-section" not in bare and "Diagnoses" not in bare


def test_the_drill_down_puts_the_unexplained_cells_first_and_unknown_places_under_other() -> None:
    counts = result().geohash_cells
    assert counts is not None
    regions = tree(counts, REGIONS)
    assert regions[0].label == "new_york"
    assert OTHER in [r.label for r in regions]
    path = [regions[0]]
    while path[-1].children:
        path.append(path[-1].children[0])
    assert [n.label for n in path] == ["new_york", WORST_KEY[:4], WORST_KEY[:5], WORST_KEY]
    assert path[-1].unexplained == 1 and regions[0].unexplained == 1
    assert sum(r.cells for r in regions) == sum(counts.cells)


def test_each_worst_cell_carries_the_command_that_checks_its_one_window(tmp_path: Path) -> None:
    page = render_html(result(), ReportContext(project=tmp_path))
    expected = (f"parity check ride_requests --start 2026-11-26T08:07:00Z --end 2026-11-26T08:08:00Z "
                f"--project {tmp_path}")
    assert expected in page


def test_the_change_since_the_previous_check_comes_from_the_history() -> None:
    from parity.report import HistoryPoint

    history = (HistoryPoint("older", "2026-11-26T06:00:00Z", "passed", 0.9995),
               HistoryPoint("prev", "2026-11-26T07:00:00Z", "passed", 0.9990))
    page = render_html(result(), ReportContext(history=history))
    change = (result().agreement - 0.9990) * 100
    assert f"{change:+.3f} pt" in page and "prev" in page
    assert 'id="history-chart"' in page


def test_a_report_renders_again_from_its_json_identically(tmp_path: Path) -> None:
    original = full_result()
    files = write_reports(original, tmp_path)
    again = CheckResult.from_json(json.loads(files.json.read_text()))
    assert to_json(again) == to_json(original)
    assert render_html(again) == files.html.read_text()
    assert (tmp_path / "index.html").is_file() and "ride_requests/20261126T100000Z-abcdef.html" in (
        tmp_path / "index.html").read_text()
    assert HOSTILE not in files.html.read_text()
