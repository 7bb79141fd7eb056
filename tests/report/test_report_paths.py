"""Finding 4 of issue 24: no input decides where reports go. A feature name or `--run` that is a path, and a JSON
whose `feature` or `run_id` is one, are refused with one line and exit 2; nothing is read from or written to
outside `reports/`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cli_in_process import parity, project_with_a_report
from report_results import result

from parity.errors import EXIT_ERROR
from parity.report.text import to_json

ESCAPE = "../../../elsewhere/x"


def _outside(tmp_path: Path) -> Path:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return elsewhere


def _refused(ran: object, *mentions: str) -> None:
    assert ran.code == EXIT_ERROR, ran  # type: ignore[attr-defined]
    lines = ran.err.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in ran.err and all(m in lines[0] for m in mentions), lines  # type: ignore[attr-defined]


def test_a_run_id_that_is_a_path_is_refused_and_nothing_is_read_or_written_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, checked = project_with_a_report(tmp_path / "project")
    elsewhere = _outside(tmp_path)
    planted = dataclasses.replace(checked, run_id=ESCAPE)  # a report outside, as the finding planted it
    (elsewhere / "x.json").write_text(json.dumps(to_json(planted)))
    ran = parity(capsys, monkeypatch, "report", "ride_requests", "--run", ESCAPE, "--project", str(root))
    _refused(ran, "--run", "not a run id")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["x.json"]
    assert not list(tmp_path.glob("**/x.html")) and not list(tmp_path.glob("**/x.md"))


def test_a_feature_that_is_a_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, checked = project_with_a_report(tmp_path / "project")
    elsewhere = _outside(tmp_path)
    (elsewhere / "f").mkdir()
    (elsewhere / "f" / f"{checked.run_id}.json").write_text(json.dumps(to_json(checked)))
    ran = parity(capsys, monkeypatch, "report", "../../elsewhere/f", "--project", str(root))
    _refused(ran, "FEATURE", "not a feature name")
    assert sorted(p.name for p in (elsewhere / "f").iterdir()) == [f"{checked.run_id}.json"]


@pytest.mark.parametrize("run_id", [ESCAPE, "/nonexistent/x", "20261126T100000Z-abcdef/../../../x", "a\nb"])
def test_a_report_json_whose_run_id_is_a_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, run_id: str,
) -> None:
    root, checked = project_with_a_report(tmp_path / "project")
    path = root / "reports" / "ride_requests" / f"{checked.run_id}.json"
    path.write_text(json.dumps({**to_json(checked), "run_id": run_id}))
    before = sorted(tmp_path.rglob("*"))
    for args in ((), ("--run", checked.run_id)):  # the latest report, and the one named
        ran = parity(capsys, monkeypatch, "report", "ride_requests", *args, "--project", str(root))
        _refused(ran, str(path), "run_id")
    assert sorted(p for p in tmp_path.rglob("*") if p.name != "parity.db") == [
        p for p in before if p.name != "parity.db"]


@pytest.mark.parametrize("feature", ["../../elsewhere/f", "other_feature", 7])
def test_a_report_json_whose_feature_is_not_its_folders_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, feature: object,
) -> None:
    root, checked = project_with_a_report(tmp_path / "project")
    path = root / "reports" / "ride_requests" / f"{checked.run_id}.json"
    path.write_text(json.dumps({**to_json(checked), "feature": feature}))
    ran = parity(capsys, monkeypatch, "report", "ride_requests", "--project", str(root))
    _refused(ran, str(path), "feature")
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_result_whose_names_are_paths_is_never_written(tmp_path: Path) -> None:
    from parity.errors import DataError
    from parity.report import write_reports

    reports = tmp_path / "reports"
    for hostile in (dataclasses.replace(result(60), run_id=ESCAPE), dataclasses.replace(result(60), feature="../x")):
        with pytest.raises(DataError, match="run_id|feature"):
            write_reports(hostile, reports)
    assert not list(tmp_path.rglob("*.html")) and not list(tmp_path.rglob("*.json"))


def test_a_feature_folder_linking_outside_reports_is_refused(tmp_path: Path) -> None:
    from parity.errors import DataError
    from parity.report import write_reports

    reports, elsewhere = tmp_path / "reports", _outside(tmp_path)
    reports.mkdir()
    (reports / "ride_requests").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(DataError, match="outside"):
        write_reports(result(60), reports)
    assert list(elsewhere.iterdir()) == []


def test_reports_itself_may_be_a_symlink(tmp_path: Path) -> None:
    from parity.report import write_reports

    real = tmp_path / "disk" / "reports"
    real.mkdir(parents=True)
    (tmp_path / "reports").symlink_to(real, target_is_directory=True)
    files = write_reports(result(60), tmp_path / "reports")
    assert (real / "ride_requests" / files.json.name).is_file() and (real / "index.html").is_file()


def test_the_run_id_pattern_matches_every_run_id_parity_makes() -> None:
    from parity.check import new_run_id
    from parity.ledger import hour_run_id
    from parity.publish import RUN_ID

    made = [new_run_id("ride_requests", 0, 60), hour_run_id("ride_requests", 1_764_144_000_000_000, "c", 0),
            hour_run_id("ride_requests", 1_764_144_000_000_001, "c", 2)]
    made.append(f"{made[1]}-failed-0a1b2c")  # `schedule`'s id of a failed hour
    assert [bool(RUN_ID.match(run)) for run in made] == [True] * 4, made
