"""Writing reports: `reports/<feature>/<run-id>.json` (everything), `.md` (the one-minute read), `.html` (the
on-call page) and any other registered format (`parity.report.formats`), and `reports/index.html` (every
feature's latest). `parity report` re-renders them from the JSON. Every file goes through `parity.publish`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.errors import DataError
from parity.publish import (
    FEATURE_NAME,
    RUN_ID,
    PublishError,
    UnsafeName,
    clean_leftovers,
    feature_name,
    inside,
    publish_text,
    published,
    run_id,
)
from parity.report.formats import FORMATS, writing_order
from parity.report.html import HistoryPoint, IndexRow, ReportContext, render_index
from parity.result import CheckResult
from parity.settings import Settings

INDEX = "index.html"
TREND_REPORTS = 10  # the index's trend: a feature's last reports
log = logging.getLogger("parity.report")


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where a check's reports are: the three built-in formats' paths, and every file written, by format."""

    json: Path
    markdown: Path
    html: Path
    written: dict[str, Path] = field(default_factory=dict)


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


def write_reports(result: CheckResult, reports: Path, context: ReportContext | None = None,
                  formats: tuple[str, ...] | None = None) -> ReportFiles:
    """The reports of one check in every format (or `formats`), the JSON last, then the refreshed index. Returns the
    paths. The feature and run id become file names, so they are checked first; nothing is written outside
    `reports` (itself a symlink is fine). A failure names the file and leaves no partial file behind."""
    context = context or ReportContext()
    folder = _report_folder(reports, _checked(feature_name, result.feature, reports, "feature"))
    name = _checked(run_id, result.run_id, folder, "run_id")
    clean_leftovers(folder)  # what a killed writer left (its temporaries); never a live writer's
    written = {}
    for chosen in writing_order(formats):
        report_format = FORMATS[chosen]
        written[chosen] = publish_text(folder / f"{name}{report_format.suffix}", report_format.render(result, context))
    write_index(reports)
    return ReportFiles(folder / f"{name}.json", folder / f"{name}.md", folder / f"{name}.html", written)


def rerender(settings: Settings, feature: str, run: str | None, formats: tuple[str, ...] | None = None) -> ReportFiles:
    """`parity report FEATURE [--run RUN_ID] [--format F]`: the reports of a recorded check, rendered again from its
    JSON. The feature and the run id must be names parity makes, and so must the JSON's own `feature` (the one
    asked) and `run_id`: a JSON never decides where the reports go."""
    reports = settings.reports
    feature = _checked(feature_name, feature, reports, "FEATURE")
    folder = reports / feature
    path = folder / f"{_checked(run_id, run, folder, '--run')}.json" if run else _latest(folder)
    if path is None or not path.is_file():
        raise DataError(str(path or folder), f"no report of {feature}" + (f" run {run}" if run else "")
                        + "; run `parity check` first, or list the folder for the run ids")
    _checked(lambda p: inside(reports, p.absolute()), path, reports, "report")
    try:
        result = CheckResult.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(str(path), f"not a parity report ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if result.feature != feature:
        raise DataError(str(path), f"feature: {str(result.feature)[:80]!r} is not {feature!r}, the feature whose folder "
                                   "holds it; not a report of this feature")
    _checked(run_id, result.run_id, path, "run_id")
    context = context_for(settings, feature)
    recorded = [point.run_id for point in context.history]
    if result.run_id in recorded:  # only what was recorded before this check
        context = ReportContext(context.project, context.regions,
                                context.history[:recorded.index(result.run_id)], context.history_note)
    return write_reports(result, reports, context, formats)


def write_index(reports: Path) -> Path:
    """`reports/index.html`: every feature's latest report, its verdict, agreement and trend. Folders that are not
    a feature's name, and reports whose `run_id` is not a run id, are left out (they could make the links lead
    anywhere)."""
    rows = []
    for folder in sorted(p for p in reports.iterdir() if p.is_dir()) if reports.is_dir() else []:
        if not FEATURE_NAME.match(folder.name):
            continue
        recent = _reports_in(folder)[-TREND_REPORTS:]
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
    _make_folder(reports)
    clean_leftovers(reports)
    return publish_text(reports / INDEX, render_index(rows))


def _checked(check: Callable[[Any], Any], value: Any, where: Path, field: str) -> Any:
    """`check(value)`, its `UnsafeName` as one line naming `where` and the field."""
    try:
        return check(value)
    except UnsafeName as exc:
        raise DataError(str(where), f"{field}: {exc}") from None


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(folder, f"cannot make the folder ({exc.strerror or type(exc).__name__}); "
                                   "move what is there aside", exc.errno) from exc


def _report_folder(reports: Path, feature: str) -> Path:
    """`reports/<feature>`, made if missing, and still under `reports` once resolved (not a link elsewhere)."""
    folder = reports / feature
    _make_folder(folder)
    _checked(lambda p: inside(reports, p.absolute()), folder, folder, "folder")
    return folder


def _latest(folder: Path) -> Path | None:
    """Run ids start with their UTC time, so the last name is the latest run."""
    found = _reports_in(folder) if folder.is_dir() else []
    return found[-1] if found else None


def _reports_in(folder: Path) -> list[Path]:
    """The report JSONs of a feature's folder, oldest first: never a writer's temporary, only run ids' names."""
    return [path for path in published(folder, ".json") if RUN_ID.match(path.stem)]


def _read(path: Path) -> dict[str, Any] | None:
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError):
        log.warning("report_unreadable path=%s", path)
        return None
    if not isinstance(body, dict) or "verdict" not in body:
        return None
    if not isinstance(body.get("run_id"), str) or not RUN_ID.match(body["run_id"]):
        log.warning("report_run_id_refused path=%s", path)
        return None
    return body
