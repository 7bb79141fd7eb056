"""`parity port` and `parity new` through the CLI: what they write, what they refuse, and that they never overwrite."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from parity.generate import SCHEMA
from parity.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
        capture_output=True, text=True, cwd=project, timeout=300, check=False,
    )


SPARK_TYPES = {"string": "string", "double": "double", "bool": "boolean", "timestamp[us, tz=UTC]": "timestamp"}


def declared_ride_events() -> str:
    """`[tool.parity.event_schema.ride_events]`: the demo's columns, declared (the project has no events yet)."""
    return "[tool.parity.event_schema.ride_events]\n" + "".join(
        f'{field.name} = "{SPARK_TYPES[str(field.type)]}"\n' for field in SCHEMA)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "offline_queries", tmp_path / "offline_queries")
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\n\n' + declared_ride_events())
    return tmp_path


def test_port_without_events_or_a_declared_schema_says_how_to_declare_it(tmp_path: Path) -> None:
    shutil.copytree(REPO / "offline_queries", tmp_path / "offline_queries")
    done = parity(tmp_path, "port", "offline_queries/ride_requests.sql")
    assert done.returncode == 2 and not (tmp_path / "realtime_jobs" / "ride_requests.yaml").exists()
    assert done.stderr.count("\n") == 1 and "[tool.parity.event_schema.ride_events]" in done.stderr


def test_port_types_columns_from_the_projects_own_event_files(tmp_path: Path) -> None:
    """A project unlike the demo: integer scores summed per team; the type comes from its Parquet files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "data" / "events" / "scores" / "date=2026-11-26" / "hour=08"
    folder.mkdir(parents=True)
    stamp = pa.timestamp("us", tz="UTC")
    pq.write_table(pa.table({"event_id": pa.array(["e1"]), "event_time": pa.array([0], stamp),
                             "ingest_time": pa.array([0], stamp), "team": pa.array(["red"]),
                             "score": pa.array([3], pa.int64())}), folder / "part-0.parquet")
    (tmp_path / "offline_queries").mkdir()
    (tmp_path / "offline_queries" / "team_score.sql").write_text(
        "SELECT team, window.start AS window_start, window.end AS window_end, SUM(score) AS total\n"
        "FROM scores GROUP BY team, window(event_time, '1 hour')\n")
    done = parity(tmp_path, "port", "offline_queries/team_score.sql")
    assert done.returncode == 0, done.stderr
    spec = load_spec(tmp_path / "realtime_jobs" / "team_score.yaml", tmp_path)
    assert spec.values == ("total",) and spec.tolerance["total"].rel == 0  # an integer sum is exact


def test_port_writes_a_spec_that_loads_with_keys_window_values_and_lateness(project: Path) -> None:
    done = parity(project, "port", "offline_queries/demand_supply.sql", "--lateness", "90s")
    assert done.returncode == 0, done.stderr
    spec = load_spec(project / "realtime_jobs" / "demand_supply.yaml", project)
    assert spec.keys == ("geohash5",)
    assert (spec.window.size_us, spec.window.slide_us) == (300_000_000, 60_000_000)
    assert spec.values == ("requests", "drivers", "ratio")
    tolerance = spec.tolerance
    assert (tolerance["requests"].abs, tolerance["requests"].rel) == (0, 0)  # a count is exact
    assert tolerance["ratio"].rel > 0  # a double is not
    assert spec.allowed_lateness_us == 90_000_000
    assert spec.transform_yaml is not None and "try_divide" in spec.transform_yaml


def test_port_refuses_to_overwrite_without_force_in_one_line(project: Path) -> None:
    assert parity(project, "port", "offline_queries/ride_requests.sql").returncode == 0
    target = project / "realtime_jobs" / "ride_requests.yaml"
    target.write_text(target.read_text() + "# edited by hand\n")
    done = parity(project, "port", "offline_queries/ride_requests.sql")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: realtime_jobs/ride_requests.yaml: exists; pass --force to overwrite it"]
    assert target.read_text().endswith("# edited by hand\n")
    assert parity(project, "port", "offline_queries/ride_requests.sql", "--force").returncode == 0
    assert not target.read_text().endswith("# edited by hand\n")


def test_port_refuses_each_construct_on_its_own_line_and_writes_nothing(project: Path) -> None:
    shutil.copy(CORPUS / "refused_order_limit.sql", project / "offline_queries" / "busiest.sql")
    done = parity(project, "port", "offline_queries/busiest.sql")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        ("error: offline_queries/busiest.sql: line 9: ORDER BY events DESC: a stream emits cells, not an ordered table;"
         " remove it (an ORDER BY of the outermost query is dropped, unless a LIMIT keeps its first rows)"),
        ("error: offline_queries/busiest.sql: line 10: LIMIT 10: a stream cannot keep the first rows of an unordered"
         " result; remove it"),
    ]
    assert not (project / "realtime_jobs" / "busiest.yaml").exists()


def test_port_refuses_approx_count_distinct_with_the_issues_wording(project: Path) -> None:
    shutil.copy(CORPUS / "refused_approx_count_distinct.sql", project / "offline_queries" / "riders.sql")
    done = parity(project, "port", "offline_queries/riders.sql")
    assert done.returncode == 2
    assert ("APPROX_COUNT_DISTINCT(rider_id): no exact streaming equivalent; port it as an exact distinct count or "
            "declare a tolerance") in done.stderr


def test_port_of_a_missing_file_is_one_line_exit_2(project: Path) -> None:
    done = parity(project, "port", "offline_queries/nope.sql")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: offline_queries/nope.sql: no such file; name an offline query such as offline_queries/<feature>.sql"]


def test_new_scaffolds_query_spec_and_test_and_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\n')
    done = parity(tmp_path, "new", "surge_requests", "--source", "ride_events")
    assert done.returncode == 0, done.stderr
    query = tmp_path / "offline_queries" / "surge_requests.sql"
    test = tmp_path / "tests" / "test_surge_requests_parity.py"
    spec = load_spec(tmp_path / "realtime_jobs" / "surge_requests.yaml", tmp_path)
    assert query.read_text().startswith("-- surge_requests: ")
    assert spec.keys == ("geohash6",) and spec.values == ("events",) and spec.window.size_us == 60_000_000
    tree = ast.parse(test.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module == "parity.testing" for alias in node.names}
    assert {"assert_parity", "events", "ride_event"} <= imported
    assert any(isinstance(n, ast.FunctionDef) and n.name.startswith("test_surge_requests") for n in ast.walk(tree))

    query.write_text(query.read_text().replace("COUNT(*) AS events", "COUNT(DISTINCT event_id) AS events"))
    again = parity(tmp_path, "new", "surge_requests", "--source", "ride_events")
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "error: offline_queries/surge_requests.sql: exists; parity new writes only new files"]
    assert "COUNT(DISTINCT event_id)" in query.read_text()


def test_new_refuses_a_feature_name_that_is_not_an_identifier(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\n')
    done = parity(tmp_path, "new", "surge-requests")
    assert done.returncode == 2
    assert "'surge-requests' is not an identifier" in done.stderr
    assert not (tmp_path / "offline_queries").exists()


def test_port_of_a_query_outside_offline_queries_names_it_in_the_spec(project: Path) -> None:
    (project / "sql").mkdir()
    shutil.copy(CORPUS / "count_star.sql", project / "sql" / "requests.sql")
    done = parity(project, "port", "sql/requests.sql")
    assert done.returncode == 0, done.stderr
    spec = load_spec(project / "realtime_jobs" / "requests.yaml", project)
    assert spec.offline_query == project / "sql" / "requests.sql"


def test_port_reads_the_source_from_the_query(project: Path) -> None:
    sql = (CORPUS / "count_star.sql").read_text().replace("FROM ride_events", "FROM bike_events")
    (project / "offline_queries" / "bike_requests.sql").write_text(sql)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + declared_ride_events().replace("ride_events", "bike_events"))
    done = parity(project, "port", "offline_queries/bike_requests.sql")
    assert done.returncode == 0, done.stderr
    assert load_spec(project / "realtime_jobs" / "bike_requests.yaml", project).source == "bike_events"


def test_port_with_a_bad_lateness_is_one_line_exit_2_and_writes_nothing(project: Path) -> None:
    done = parity(project, "port", "offline_queries/ride_requests.sql", "--lateness", "soon")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--lateness" in lines[0] and "'soon'" in lines[0], lines
    assert not (project / "realtime_jobs" / "ride_requests.yaml").exists()
