"""A run is per feature: a report that cannot be written (a regular file where the feature's report folder goes,
a full disk) fails that feature's hour, recorded with the reason and the path and opening its incident, and the
run goes on to the other features; it exits 2 at the end."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from late_project import add_twin, copied_project
from scheduled_project import FEATURE, HOURS, Logs
from stored import ledger_rows
from typer.testing import CliRunner

import parity.report
from parity.alerts import store
from parity.cli import app
from parity.errors import EXIT_ERROR
from parity.result import CheckResult

RULE = "description: page on a failed check\nfeatures: ['*']\nwhen: {failed: error}\nchannels: [{type: console}]\n"


def test_one_features_report_failure_leaves_the_others_checked_and_recorded(
    tmp_path: Path, generated_logs: Logs, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = copied_project(tmp_path, generated_logs)
    for twin in ("blocked", "full_disk"):
        add_twin(settings, twin)
    (settings.alerts / "failed.yaml").write_text(RULE)
    settings.reports.mkdir()
    (settings.reports / "blocked").write_text("a regular file where the report folder goes")
    real = parity.report.write_reports

    def full_disk(result: CheckResult, *args: Any, **kwargs: Any) -> Any:
        if result.feature == "full_disk":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(result, *args, **kwargs)

    monkeypatch.setattr(parity.report, "write_reports", full_disk)
    done = CliRunner().invoke(app, ["run", "blocked", "full_disk", FEATURE, "--since", "1h", "--alert",
                                    "--project", str(settings.project)])

    assert done.exit_code == EXIT_ERROR, done.output
    assert "Traceback" not in done.output
    said = done.output
    assert f"{settings.reports / 'blocked'}: cannot write the report" in said
    assert f"{settings.reports / 'full_disk'}: cannot write the report" in said and "No space left" in said
    assert [(row.feature, row.start_us) for row in ledger_rows(settings)] == [(FEATURE, HOURS[1])]
    engine = store.connect(settings.database)
    with engine.connect() as conn:
        failed = {r["feature"]: r for r in store.recorded_results(conn) if r.get("kind") != "result"}
        incidents = {incident.feature for incident in store.list_incidents(conn)}
    engine.dispose()
    assert set(failed) == {"blocked", "full_disk"} and incidents == {"blocked", "full_disk"}
    assert str(settings.reports / "blocked") in str(failed["blocked"])
