"""A project unlike the demo, through the CLI: `parity init` over its existing orders log (tests/project2/orders_log.py:
ints, decimals, nullable strings), then `parity port` -> `parity verify` -> `parity check` for each of its two
queries (SUM/MIN/MAX/AVG/COUNT(DISTINCT) over decimal, int and double columns, GROUP BY ordinals, a CASE key over
the decimal, COALESCE, HAVING, ORDER BY). The commands run in this process (typer's runner) so that they share the
test run's one Spark session."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from orders_log import QUERIES, orders
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from parity.cli import app
from parity.events import write_events


def run(project: Path, *args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, [*args, "--project", str(project)], catch_exceptions=False)
    return done.exit_code, done.output


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The orders project after `parity init`, its two queries written by their analyst."""
    root = tmp_path_factory.mktemp("orders_project")
    (root / "pyproject.toml").write_text('[project]\nname = "orders-features"\n')
    written = write_events(orders(), root / "data" / "events", "orders", root / "data" / "quarantine")
    assert written.rows_quarantined == 0
    code, output = run(root, "init", "--event-log", "data/events")
    assert code == 0, output
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text().replace(
        "[tool.parity]\n", '[tool.parity]\nspark_master = "local[2]"\nonline_log = "online"\n', 1))
    for name, sql in QUERIES.items():
        (root / "offline_queries" / f"{name}.sql").write_text(sql)
    return root


@pytest.mark.parametrize("feature", sorted(QUERIES))
def test_a_query_over_ints_decimals_and_nullable_keys_ports_verifies_and_checks(
        feature: str, project: Path, spark: SparkSession) -> None:
    code, output = run(project, "port", f"offline_queries/{feature}.sql")
    assert code == 0, output
    code, output = run(project, "verify", feature, "--hours", "1", "--format", "json")
    verified = json.loads(output.strip().splitlines()[-1])
    assert code == 0 and verified["passed"], output
    assert verified["compared"] > 20 and verified["agreement"] >= 0.999
    # the windows verify streamed, checked again on their own (what a scheduled `parity check` does)
    code, output = run(project, "check", feature, "--start", verified["start"], "--end", verified["end"], "--format",
                       "json")
    checked = json.loads(output.strip().splitlines()[-1])
    assert code == 0 and checked["passed"] and checked["agreement"] >= 0.999, output
    assert checked["compared"] == verified["compared"]


def test_the_online_values_keep_the_columns_types(project: Path, spark: SparkSession) -> None:
    """SUM of an int stays an int, SUM of a decimal(10,2) a decimal of scale 2, AVG of it scale 6 (as Spark)."""
    files = sorted((project / "online" / "store_sales").rglob("*.parquet"))
    if not files:
        pytest.skip("runs after the round trip of store_sales")
    schema = pq.read_schema(files[0])
    assert str(schema.field("items").type) == "int64"
    assert schema.field("revenue").type.scale == 2 and schema.field("mean_basket").type.scale == 6
