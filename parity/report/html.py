"""The HTML report of a check and the reports index: Jinja2 templates with autoescaping, inline CSS, charts as
inline SVG, the drill-down as native `<details>`. The page has no script and loads nothing: it opens from disk,
and a value from the data can only ever be text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from parity.report import charts
from parity.report.drilldown import tree
from parity.report.words import VERDICT_WORDS, expectation_words, next_step, pct, reproduce_command, value_text
from parity.result import Cause, CheckResult

HISTORY_SHOWN = 30  # last checks in the history chart


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One earlier check of the feature, from the results store."""

    run_id: str
    start: str
    outcome: str  # a Verdict value, or "failed"
    agreement: float | None


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What a report shows beside the result: the project (for the commands it prints), its regions, and the
    feature's earlier checks (`history_note` says why there are none when the store could not be read)."""

    project: Path | None = None
    regions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    history: tuple[HistoryPoint, ...] = ()
    history_note: str | None = None


@dataclass(frozen=True, slots=True)
class IndexRow:
    feature: str
    run_id: str
    verdict: str
    agreement: float | None
    start: str
    end: str
    trend: tuple[float, ...]  # agreement of its last reports, oldest first
    link: str  # relative to reports/


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters.update(pct=pct, value=value_text)


def render_html(result: CheckResult, context: ReportContext | None = None) -> str:
    from parity.report.served import served_html  # after parity.alerts, which imports this module

    r = result
    context = context or ReportContext()
    earlier = [point for point in context.history if point.run_id != r.run_id]
    previous = next((p for p in reversed(earlier) if p.agreement is not None), None)
    shown = [p for p in earlier if p.agreement is not None][-HISTORY_SHOWN:]
    history_svg = None
    if shown:
        history_svg = charts.history_chart([p.start[5:16].replace("T", " ") for p in shown] + ["this"],
                                           [p.agreement or 0.0 for p in shown] + [r.agreement], r.threshold)
    page = _ENVIRONMENT.get_template("report.html.j2").render(
        r=r,
        verdict=VERDICT_WORDS[r.verdict],
        verdict_class=r.verdict.value,
        previous=previous,
        change=None if previous is None or previous.agreement is None else r.agreement - previous.agreement,
        range_svg=Markup(charts.range_chart(r.windows, r.threshold)) if r.windows else None,
        bars_per_window=charts.bins(r.windows) if r.windows else 1,
        what_if_svg=Markup(charts.what_if_chart(r.lateness_what_if, r.threshold)) if r.lateness_what_if else None,
        history_svg=Markup(history_svg) if history_svg else None,
        history_count=len(shown),
        history_note=context.history_note,
        regions=tree(r.geohash_cells, context.regions) if r.geohash_cells else (),
        worst=[_cell(r, cell, context.project) for cell in r.worst_cells],
        expectations=[expectation_words(failed) for failed in r.failed_expectations],
        next_step=next_step(r),
        causes=r.causes,
        unexplained=Cause.UNEXPLAINED.value,
        served_section=Markup(served_html(r.served, r.feature)) if r.served is not None else None,
    )
    return page


def _cell(result: CheckResult, cell: Any, project: Path | None) -> dict[str, Any]:
    return {
        "keys": cell.keys,
        "window_start": cell.window_start,
        "status": cell.status.value,
        "cause": cell.cause.value,
        "online": cell.online,
        "offline": cell.offline,
        "detail": cell.detail,
        "command": reproduce_command(result, cell.window_start, project),
    }


def render_index(rows: list[IndexRow]) -> str:
    trends = {row.feature: Markup(charts.sparkline(row.trend)) if len(row.trend) > 1 else None for row in rows}
    return _ENVIRONMENT.get_template("index.html.j2").render(rows=rows, trends=trends)
