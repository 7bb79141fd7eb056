"""`parity alerts ...` and the store pre-check of `parity check`, through the real CLI in a subprocess.

No Spark here: the store is validated before the check reads any data, so a project without data shows it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from parity import results_store as alert_store
from parity.errors import StoreError

REPO = Path(__file__).resolve().parents[2]
BAD_SLACK_URL = "hooks.slack.com/services/X/Y/xoxclitokensecret"


def parity(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "parity.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=120, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "alerts").mkdir(parents=True)
    (root / "alerts" / "oncall.yaml").write_text("""
when: {breach: critical}
channels:
  - {type: slack, url_env: PARITY_SLACK_WEBHOOK_URL, timeout: 2s, retries: 0}
  - {type: jsonl, path: out/alerts.jsonl}
""")
    (root / "pyproject.toml").write_text('[tool.parity]\ndatabase = "sqlite:///data/parity.db"\n')
    return root


def test_alerts_test_runs_in_the_project_given_to_alerts(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = parity(elsewhere, "alerts", "--project", str(project), "test", "oncall",
                  env={"PARITY_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook"})
    assert done.returncode == 2, done.stderr  # nothing listens on port 9: the Slack channel failed
    assert "sent test to jsonl:out/alerts.jsonl (1 attempt)" in done.stdout.splitlines()
    assert (project / "out" / "alerts.jsonl").is_file() and (project / "data" / "parity.db").is_file()
    assert not (elsewhere / "data").exists()


def test_a_malformed_slack_secret_is_reported_by_name_and_never_printed(project: Path) -> None:
    done = parity(project, "alerts", "test", "oncall", "--project", str(project),
                  env={"PARITY_SLACK_WEBHOOK_URL": BAD_SLACK_URL})
    assert done.returncode == 2, done.stderr
    assert done.stdout.splitlines() == [
        ("not sent test to slack:$PARITY_SLACK_WEBHOOK_URL: $PARITY_SLACK_WEBHOOK_URL is not an http(s) URL such as "
         "https://host/path; fix the value (not shown)"),
        "sent test to jsonl:out/alerts.jsonl (1 attempt)",
    ]
    assert "Traceback" not in done.stderr
    stored = (project / "data" / "parity.db").read_bytes()
    for piece in ("xoxclitokensecret", "hooks.slack.com"):
        assert piece not in done.stdout + done.stderr
        assert piece.encode() not in stored


def test_alerts_test_exits_zero_only_when_every_channel_took_the_notification(project: Path) -> None:
    (project / "alerts" / "files.yaml").write_text("when: {breach: critical}\nchannels:\n  - {type: jsonl, path: out/a.jsonl}\n")
    assert parity(project, "alerts", "test", "files", "--project", str(project)).returncode == 0
    unset = parity(project, "alerts", "test", "oncall", "--project", str(project),
                   env={"PARITY_SLACK_WEBHOOK_URL": ""})
    assert unset.returncode == 2
    assert "not sent test to slack:$PARITY_SLACK_WEBHOOK_URL: skipped" in unset.stdout
    rule_file = project / "alerts" / "oncall.yaml"
    assert unset.stderr.splitlines() == [
        f"error: {rule_file}: 1 of 2 channels of rule oncall did not take the test notification (see above)"]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_store_stops_the_check_before_it_runs_with_one_line_naming_the_database(
    project: Path, damage: str
) -> None:
    database = project / "data" / "parity.db"
    database.parent.mkdir()
    if damage == "garbage":
        database.write_bytes(b"this is not a SQLite database\n" * 400)
    else:
        engine = alert_store.connect(f"sqlite:///{database}")
        with engine.begin() as conn:
            conn.execute(alert_store.check_results.insert(), [
                {"run_id": f"r{i}", "feature": "f", "outcome": "passed", "range_start": "a", "range_end": "b",
                 "recorded_at_us": i, "body": {"pad": "x" * 2000}} for i in range(300)])
        engine.dispose()
        size = database.stat().st_size
        with database.open("r+b") as handle:
            handle.truncate(size // 2)
    for alert in ([], ["--alert"]):
        done = parity(project, "check", "ride_requests", "--start", "2026-11-26T08:00Z", "--end",
                      "2026-11-26T09:00Z", *alert, "--project", str(project))
        assert done.returncode == 2
        [line] = done.stderr.splitlines()
        assert line.startswith(f"error: results store {database}: ")
        assert "move the file aside to start an empty store, or restore it from a backup" in line
        assert done.stdout == "" and not (project / "reports").exists()


def test_a_store_error_never_shows_a_postgresql_password() -> None:
    with pytest.raises(StoreError) as failed:
        alert_store.validate("postgresql://parity:hunter2secret@127.0.0.1:1/nowhere")
    assert "hunter2secret" not in str(failed.value) and str(failed.value).startswith(
        "results store postgresql://parity:***@127.0.0.1:1/nowhere: ")

