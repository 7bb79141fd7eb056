"""Writing reports: `reports/<feature>/<run-id>.json` (everything), `.md` (the one-minute read) and `.html` (the
on-call page), and `reports/index.html` (every feature's latest). `parity report` re-renders them from the JSON."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.errors import DataError
from parity.report.html import HistoryPoint, IndexRow, ReportContext, render_html, render_index
from parity.report.markdown import markdown
from parity.report.text import to_json
from parity.result import CheckResult
from parity.settings import Settings

INDEX = "index.html"
TREND_REPORTS = 10  # the index's trend: a feature's last reports
log = logging.getLogger("parity.report")


@dataclass(frozen=True, slots=True)
class ReportFiles:
    json: Path
    markdown: Path
    html: Path


def report_link(base_url: str | None, feature: str, run_id: str) -> str | None:
    """Where the HTML report of a check is served, when `[tool.parity] report_base_url` says."""
    return None if not base_url else f"{base_url.rstrip('/')}/{feature}/{run_id}.html"


def context_for(settings: Settings, feature: str) -> ReportContext:
    """The project, its regions and the feature's recorded checks (oldest first) from the results store. A store
    that cannot be read leaves the history empty and says why on the page; it never stops a report."""
    from parity.alerts import store

    history: tuple[HistoryPoint, ...] = ()
    note = None
    try:
        engine = store.connect(settings.database)
        try:
            with engine.connect() as conn:
                rows = store.recorded_results(conn, feature)
        finally:
            engine.dispose()
        history = tuple(
            HistoryPoint(str(row.get("run_id")), str(row.get("start", "")),
                         str(row.get("verdict") or "failed"), row.get("agreement") if row.get("kind") == "result" else None)
            for row in rows
        )
    except Exception as exc:  # noqa: BLE001  the history is optional; say why it is missing
        note = f"History unavailable: the results store could not be read ({type(exc).__name__})."
        log.warning("report_history_unavailable feature=%s error=%s", feature, type(exc).__name__)
    return ReportContext(settings.project, settings.regions, history, note)


def write_reports(result: CheckResult, reports: Path, context: ReportContext | None = None) -> ReportFiles:
    """The three reports of one check, then the refreshed index. Returns the paths written."""
    context = context or ReportContext()
    folder = reports / result.feature
    folder.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(folder / f"{result.run_id}.json", folder / f"{result.run_id}.md",
                        folder / f"{result.run_id}.html")
    _write_atomically(files.json, json.dumps(to_json(result), indent=2) + "\n")
    _write_atomically(files.markdown, markdown(result, context.project))
    _write_atomically(files.html, render_html(result, context))
    write_index(reports)
    return files


def rerender(settings: Settings, feature: str, run_id: str | None) -> ReportFiles:
    """`parity report FEATURE [--run RUN_ID]`: the reports of a recorded check, rendered again from its JSON."""
    folder = settings.reports / feature
    path = folder / f"{run_id}.json" if run_id else _latest(folder)
    if path is None or not path.is_file():
        raise DataError(str(path or folder), f"no report of {feature}" + (f" run {run_id}" if run_id else "")
                        + "; run `parity check` first, or list the folder for the run ids")
    try:
        result = CheckResult.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(str(path), f"not a parity report ({type(exc).__name__}: {str(exc)[:120]})") from exc
    context = context_for(settings, feature)
    recorded = [point.run_id for point in context.history]
    if result.run_id in recorded:  # only what was recorded before this check
        context = ReportContext(context.project, context.regions,
                                context.history[:recorded.index(result.run_id)], context.history_note)
    return write_reports(result, settings.reports, context)


def write_index(reports: Path) -> Path:
    """`reports/index.html`: every feature's latest report, its verdict, agreement and trend."""
    rows = []
    for folder in sorted(p for p in reports.iterdir() if p.is_dir()) if reports.is_dir() else []:
        recent = sorted(folder.glob("*.json"))[-TREND_REPORTS:]
        bodies = [body for body in (_read(path) for path in recent) if body is not None]
        if not bodies:
            continue
        latest = bodies[-1]
        rows.append(IndexRow(
            feature=folder.name,
            run_id=str(latest.get("run_id")),
            verdict=str(latest.get("verdict")),
            agreement=latest.get("agreement"),
            start=str(latest.get("start")),
            end=str(latest.get("end")),
            trend=tuple(float(b["agreement"]) for b in bodies if isinstance(b.get("agreement"), int | float)),
            link=f"{folder.name}/{latest.get('run_id')}.html",
        ))
    path = reports / INDEX
    reports.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, render_index(rows))
    return path


def _latest(folder: Path) -> Path | None:
    """Run ids start with their UTC time, so the last name is the latest run."""
    found = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return found[-1] if found else None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError):
        log.warning("report_unreadable path=%s", path)
        return None
    return body if isinstance(body, dict) and "verdict" in body else None


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text)
    partial.replace(path)
