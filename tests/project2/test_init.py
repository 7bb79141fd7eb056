"""`parity init` through the real CLI: a project set up around an existing Parquet event log, never overwritten,
and one-line errors for what it cannot set up."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from orders_log import orders

from parity.events import write_events
from parity.schema import event_schema
from parity.settings import load_settings


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
                          capture_output=True, text=True, cwd=project, timeout=120, check=False)


@pytest.fixture
def log_project(tmp_path: Path) -> Path:
    write_events(orders(count=20), tmp_path / "data" / "events", "orders", tmp_path / "data" / "quarantine")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "orders-features"  # the team\'s own\n')
    return tmp_path


def test_init_declares_the_logs_columns_and_makes_the_folders(log_project: Path) -> None:
    before = (log_project / "pyproject.toml").read_text()
    done = parity(log_project, "init", "--event-log", "data/events")
    assert done.returncode == 0, done.stderr
    text = (log_project / "pyproject.toml").read_text()
    assert text.startswith(before)  # what was there is untouched
    table = tomllib.loads(text)["tool"]["parity"]
    assert table["event_log"] == "data/events"
    assert table["event_schema"]["orders"] == {
        "event_id": "string", "event_time": "timestamp", "ingest_time": "timestamp", "store_id": "int",
        "basket": "decimal(10,2)", "items": "bigint", "zone": "string", "courier_id": "string", "tip": "double"}
    for folder in ("offline_queries", "realtime_jobs", "alerts", "reports"):
        assert (log_project / folder).is_dir()
    settings = load_settings(log_project)  # the settings load, and the declared schema reads back as the files'
    declared = event_schema(settings.event_log, "orders", settings.declared_schemas)
    assert [(f.name, f.type) for f in declared] == [(f.name, f.type) for f in orders().schema]


def test_init_never_overwrites_a_parity_table(log_project: Path) -> None:
    assert parity(log_project, "init", "--event-log", "data/events").returncode == 0
    first = (log_project / "pyproject.toml").read_text()
    done = parity(log_project, "init", "--event-log", "data/events")
    assert done.returncode == 2 and "already has [tool.parity]" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert (log_project / "pyproject.toml").read_text() == first


def test_init_writes_a_new_pyproject_and_quotes_odd_names(tmp_path: Path) -> None:
    folder = tmp_path / "log" / "clicks.v2" / "date=2026-11-26" / "hour=08"
    folder.mkdir(parents=True)
    stamp = pa.timestamp("us", tz="UTC")
    pq.write_table(pa.table({"event_id": pa.array(["e1"]), "event_time": pa.array([0], stamp),
                             "ingest_time": pa.array([0], stamp), "page id": pa.array([3], pa.int16())}),
                   folder / "part-0.parquet")
    project = tmp_path / "project"
    project.mkdir()
    done = parity(project, "init", "--event-log", str(tmp_path / "log"))
    assert done.returncode == 0, done.stderr
    table = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["parity"]
    assert table["event_log"] == str((tmp_path / "log").resolve())  # outside the project: absolute
    assert table["event_schema"]["clicks.v2"]["page id"] == "smallint"


@pytest.mark.parametrize(("setup", "args", "message"), [
    ("none", ["--event-log", "missing"], "missing: no such event log folder"),
    ("empty", ["--event-log", "data/events"], "holds no source folder with Parquet files"),
    ("log", ["--event-log", "data/events", "--source", "rides"], "no Parquet files for source 'rides'; sources found: orders"),
    ("no_ingest", ["--event-log", "data/events"], "lacks the required column(s) ingest_time"),
    ("list_column", ["--event-log", "data/events"], "column 'tags' has type list<"),
    ("bad_toml", ["--event-log", "data/events"], "invalid TOML"),
])
def test_init_refuses_in_one_line_and_writes_nothing(tmp_path: Path, setup: str, args: list[str], message: str) -> None:
    (tmp_path / "data" / "events").mkdir(parents=True)
    stamp = pa.timestamp("us", tz="UTC")
    columns = {"event_id": pa.array(["e1"]), "event_time": pa.array([0], stamp), "ingest_time": pa.array([0], stamp)}
    if setup == "no_ingest":
        del columns["ingest_time"]
    if setup == "list_column":
        columns["tags"] = pa.array([["a"]])
    if setup in ("log", "no_ingest", "list_column", "bad_toml"):
        folder = tmp_path / "data" / "events" / "orders" / "date=2026-11-26" / "hour=08"
        folder.mkdir(parents=True)
        pq.write_table(pa.table(columns), folder / "part-0.parquet")
    if setup == "bad_toml":
        (tmp_path / "pyproject.toml").write_text("[project\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    done = parity(tmp_path, "init", *args)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_its_ports_lint_clean_with_no_trap_warning(log_project: Path) -> None:
    """What `parity port` writes over another project's columns trips no porting trap (`parity lint --strict`)."""
    from orders_log import QUERIES
    from typer.testing import CliRunner

    from parity.cli import app

    def run(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(app, [*args, "--project", str(log_project)], catch_exceptions=False)
        return done.exit_code, done.output

    assert run("init", "--event-log", "data/events")[0] == 0
    for name, sql in QUERIES.items():
        (log_project / "offline_queries" / f"{name}.sql").write_text(sql)
        code, output = run("port", f"offline_queries/{name}.sql")
        assert code == 0, output
    code, output = run("lint", "--strict")
    assert code == 0 and "warning" not in output, output
