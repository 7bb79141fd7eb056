"""The Markdown summary of a check for on-call: the one-minute read, every value from the data escaped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from parity.report.words import VERDICT_WORDS, expectation_words, next_step, pct, reproduce_command, value_text
from parity.result import CellDiff, CheckResult

# The characters that start Markdown or HTML inline anywhere in a line (emphasis, code, links, images, raw HTML,
# entities, table cells, headings); backslash-escaped, they are plain text in CommonMark and GFM tables.
# An underscore between two letters or digits cannot emphasise anything, so `missing_online` stays as it is.
_INLINE = re.compile(r"[\\`*\[\]<>|#&!~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What starts a block only at the beginning of a line: a list item, a setext underline, an ordered list.
_LINE_START = re.compile(r"^(\d+[.)]|[-+=])")


def md(value: object) -> str:
    """Any value as inert Markdown text, safe in a table cell: markup characters escaped, line breaks shown as
    `\\n` (a value never starts a new line, so never a heading, a list or a table row)."""
    text = _INLINE.sub(lambda match: "\\" + match.group(0), str(value))
    text = _LINE_START.sub(lambda match: match.group(0)[:-1] + "\\" + match.group(0)[-1], text)
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


def markdown(result: CheckResult, project: Path | None = None) -> str:
    r = result
    lines = [
        f"# {md(r.feature)}: {VERDICT_WORDS[r.verdict]}",
        "",
        *([md(r.description), ""] if r.description else []),
        f"Windows starting {md(r.start)} to {md(r.end)}, sample rate {r.sample_rate:g}, run {md(r.run_id)}.",
        "",
        (
            f"- Agreement: **{pct(r.agreement)}** (threshold {pct(r.threshold)}; 95% Wilson interval "
            f"{pct(r.ci_low)} to {pct(r.ci_high)}; {r.cells_needed} cells needed to show the threshold)"
        ),
        f"- Agreement net of explained causes: {pct(r.agreement_net_of_explained)}",
        "- Agreement of the ON_TIME pane (what a model read at window close): "
        + ("no ON_TIME pane" if r.agreement_on_time_pane is None else pct(r.agreement_on_time_pane)),
        *([f"- Lateness needed to reach the threshold: {md(r.lateness_needed)}"] if r.lateness_needed else []),
        f"- Cells compared: {r.compared}, matched: {r.matched}",
        "",
        "| status | cells |",
        "|---|---|",
        f"| value_mismatch | {r.value_mismatch} |",
        f"| missing_online | {r.missing_online} |",
        f"| missing_offline | {r.missing_offline} |",
        f"| duplicate_online | {r.duplicate_online} |",
        "",
        "| cause | cells |",
        "|---|---|",
        *(f"| {md(cause)} | {count} |" for cause, count in r.causes.items()),
        "",
    ]
    if r.served is not None:
        from parity.report.served import served_markdown

        lines += served_markdown(r.served)
    if r.unsettled:
        lines += [f"Note: {md(r.unsettled)}.", ""]
    if r.failed_expectations:
        lines += ["## Failed data expectations (result is inconclusive)", ""]
        lines += [f"- {md(expectation_words(failed))}" for failed in r.failed_expectations]
        lines.append("")
    if r.diagnoses:
        lines += ["## Diagnoses", "", *(f"- {md(d.cause)} ({d.cells} cells): {md(d.detail)}" for d in r.diagnoses), ""]
    if r.worst_cells:
        lines += ["## Worst cells", "", "| keys | window_start | status | cause | online | offline | reproduce |",
                  "|---|---|---|---|---|---|---|"]
        lines += [_cell_row(r, cell, project) for cell in r.worst_cells]
        lines.append("")
    lines += ["## Next step", "", md(next_step(r)), ""]
    return "\n".join(lines)


def _cell_row(result: CheckResult, cell: CellDiff, project: Path | None) -> str:
    keys = ", ".join(f"{k}={value_text(v)}" for k, v in cell.keys.items())
    return (
        f"| {md(keys)} | {md(cell.window_start)} | {md(cell.status.value)} | {md(cell.cause.value)} | "
        f"{md(_values(cell.online))} | {md(_values(cell.offline))} | "
        f"{md(reproduce_command(result, cell.window_start, project))} |"
    )


def _values(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={value_text(v)}" for k, v in values.items())
