"""Renderings of a `CheckResult`, one model and several renderings: the JSON report, the Markdown summary and the
HTML page for on-call, the CLI's text lines, and `reports/index.html`.

`text` (JSON and the terminal), `markdown`, `html` (with `charts` and the geohash `drilldown`) render; `formats`
is the registry of report formats (name -> suffix and renderer) every `--format` offers; `publish` writes
`reports/<feature>/<run-id>.<suffix>` for each (JSON last) and the index, through `parity.publish`; `words` holds
the sentences they share.
"""

from __future__ import annotations

from parity.report.html import HistoryPoint, ReportContext, render_html
from parity.report.markdown import markdown, md
from parity.report.publish import ReportFiles, context_for, report_link, rerender, write_index, write_reports
from parity.report.text import SUMMARY_FIELDS, failure_json, summary_json, text_table, to_json
from parity.report.words import expectation_words, next_step

__all__ = [
    "SUMMARY_FIELDS",
    "HistoryPoint",
    "ReportContext",
    "ReportFiles",
    "context_for",
    "expectation_words",
    "failure_json",
    "markdown",
    "md",
    "next_step",
    "render_html",
    "report_link",
    "rerender",
    "summary_json",
    "text_table",
    "to_json",
    "write_index",
    "write_reports",
]
