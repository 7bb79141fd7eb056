"""The report-format registry (issue 19, item 3): a format registered from outside `parity/` is written beside
every check's reports, rendered again by `parity report --format <it>`, and offered by every command's
`--format`. The example is the one docs/extending.md shows under "Add a report format"."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_in_process import parity, project_with_a_report

from parity.errors import EXIT_ERROR, EXIT_OK
from parity.report.formats import FORMATS, register
from parity.report.html import ReportContext
from parity.result import CheckResult


# --- the docs/extending.md example -------------------------------------------------------------------------
class CsvReport:
    """The worst cells of a check, one row each: a spreadsheet for the on-call review."""

    suffix = ".csv"

    def render(self, result: CheckResult, context: ReportContext) -> str:
        out = io.StringIO()
        rows = csv.writer(out, lineterminator="\n")
        rows.writerow(["feature", "window_start", "status", "cause", "keys"])
        for cell in result.worst_cells:
            rows.writerow([result.feature, cell.window_start, cell.status.value, cell.cause.value, json.dumps(cell.keys)])
        return out.getvalue()
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def csv_registered() -> Iterator[None]:
    register("csv", CsvReport())
    try:
        yield
    finally:
        FORMATS.pop("csv", None)


def test_parity_report_renders_a_format_registered_from_the_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, csv_registered: None,
) -> None:
    root, checked = project_with_a_report(tmp_path)
    ran = parity(capsys, monkeypatch, "report", "ride_requests", "--format", "csv", "--project", str(root))
    assert ran.code == EXIT_OK, ran.err
    written = root / "reports" / "ride_requests" / f"{checked.run_id}.csv"
    assert ran.out.strip() == str(written)
    rows = list(csv.reader(io.StringIO(written.read_text())))
    assert rows[0] == ["feature", "window_start", "status", "cause", "keys"]
    assert len(rows) == 1 + len(checked.worst_cells) and rows[1][:4] == [
        "ride_requests", "2026-11-26T08:07:00Z", "value_mismatch", "unexplained"]
    assert not (written.parent / f"{checked.run_id}.html").exists()  # only the format asked for


def test_every_check_writes_every_registered_format(tmp_path: Path, csv_registered: None) -> None:
    from report_results import result

    from parity.report import write_reports

    files = write_reports(result(60), tmp_path / "reports")
    assert sorted(files.written) == ["csv", "html", "json", "markdown"]
    assert files.written["csv"].read_text().startswith("feature,window_start")


@pytest.mark.parametrize("command", [["check", "ride_requests", "--start", "2026-11-26T08:00Z", "--end",
                                      "2026-11-26T09:00Z"], ["verify", "ride_requests"]])
def test_every_format_option_offers_what_the_registry_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str],
) -> None:
    refused = parity(capsys, monkeypatch, *command, "--format", "csv", "--project", str(tmp_path))
    assert refused.code == EXIT_ERROR
    assert refused.err.strip() == "error: --format: 'csv' is not one of text, markdown, html, json"
    register("csv", CsvReport())
    try:
        accepted = parity(capsys, monkeypatch, *command, "--format", "csv", "--project", str(tmp_path))
    finally:
        FORMATS.pop("csv", None)
    assert accepted.err.startswith("error: unknown feature 'ride_requests'")  # past the option, at the project


def test_parity_report_refuses_an_unknown_format_naming_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, _ = project_with_a_report(tmp_path)
    ran = parity(capsys, monkeypatch, "report", "ride_requests", "--format", "pdf", "--project", str(root))
    assert (ran.code, ran.err.strip()) == (EXIT_ERROR, "error: --format: 'pdf' is not one of markdown, html, json")


def test_a_format_cannot_take_another_formats_suffix_or_the_terminals_name() -> None:
    class Clash(CsvReport):
        suffix = ".json"

    with pytest.raises(ValueError, match="json format"):
        register("csv", Clash())
    with pytest.raises(ValueError, match="text"):
        register("text", CsvReport())
    assert "csv" not in FORMATS


def test_the_example_in_docs_extending_registers_a_format_parity_report_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "extending.md"
    text = doc.read_text() if doc.is_file() else ""
    if "### Add a report format" not in text:
        pytest.skip("docs/extending.md has no 'Add a report format' section yet (README-snippet.md of h-publish)")
    section = text.split("### Add a report format", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    try:
        exec(compile(code, f"{doc}:Add a report format", "exec"), {})  # noqa: S102  the doc's own example
        root, checked = project_with_a_report(tmp_path)
        ran = parity(capsys, monkeypatch, "report", "ride_requests", "--format", "csv", "--project", str(root))
    finally:
        FORMATS.pop("csv", None)
    assert ran.code == EXIT_OK, ran.err
    assert (root / "reports" / "ride_requests" / f"{checked.run_id}.csv").read_text().startswith("feature,")
