"""parity.query: parsing, output columns and AST rewrites of offline SQL (sqlglot only, no Spark)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from parity import query
from parity.errors import SpecError
from parity.query import (
    arrival_cutoffs,
    keep_cells,
    keep_windows,
    output_columns,
    parse_query,
    restrict_events,
    source_tables,
    timestamp,
    to_sql,
)

REPO = Path(__file__).resolve().parents[2]

AVG_ETA = """
WITH requests AS (
  SELECT DISTINCT event_id, event_time, lat, lon, eta_seconds FROM ride_events WHERE event_type = 'ride_requested'
)
SELECT geohash(lat, lon, 6) AS geohash6, window.start AS window_start, window.end AS window_end,
       AVG(eta_seconds) AS avg_eta_seconds
FROM requests GROUP BY geohash(lat, lon, 6), window(event_time, '5 minutes')
"""


def _event_subqueries(tree: exp.Expression) -> list[exp.Subquery]:
    return [s for s in tree.find_all(exp.Subquery) if s.alias == "ride_events"]


def test_parse_query_rejects_two_statements() -> None:
    with pytest.raises(SpecError, match=r"q\.sql: sql: holds 2 statements"):
        parse_query("SELECT 1; SELECT 2", "q.sql")


def test_parse_query_error_names_file_and_line() -> None:
    with pytest.raises(SpecError) as caught:
        parse_query("SELECT a,\nFROM (", "offline_queries/x.sql")
    assert caught.value.path == "offline_queries/x.sql"
    assert caught.value.field == "sql"
    assert "line 2" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_parse_query_rejects_non_select() -> None:
    with pytest.raises(SpecError, match="one SELECT"):
        parse_query("DROP TABLE ride_events", "q.sql")


def test_output_columns_are_the_outer_aliases() -> None:
    assert output_columns(parse_query(AVG_ETA, "q.sql")) == [
        "geohash6",
        "window_start",
        "window_end",
        "avg_eta_seconds",
    ]


def test_output_columns_follow_star_through_ctes_and_subqueries() -> None:
    sql = """
    WITH base AS (SELECT city AS k, window.start AS window_start, COUNT(*) AS n FROM ride_events
                  GROUP BY city, window(event_time, '1 minute')),
         more AS (SELECT *, n * 2 AS n2 FROM base)
    SELECT * FROM (SELECT * FROM more) AS m
    """
    assert output_columns(parse_query(sql, "q.sql")) == ["k", "window_start", "n", "n2"]


def test_output_columns_keep_star_over_a_real_table() -> None:
    assert output_columns(parse_query("SELECT * FROM ride_events", "q.sql")) == ["*"]


def test_source_tables_exclude_ctes() -> None:
    assert source_tables(parse_query(AVG_ETA, "q.sql")) == {"ride_events"}


def test_restrict_events_replaces_the_source_inside_a_cte() -> None:
    tree = parse_query(AVG_ETA, "q.sql")
    rewritten = restrict_events(tree, "ride_events", "events_view", 60_000_000, 120_000_000)
    (subquery,) = _event_subqueries(rewritten)
    assert subquery.find_ancestor(exp.CTE).alias == "requests"
    assert {t.name for t in rewritten.find_all(exp.Table)} == {"events_view", "requests"}
    where = subquery.this.args["where"].this
    assert where.sql("spark") == (
        "event_time >= TIMESTAMP_MICROS(60000000) AND event_time < TIMESTAMP_MICROS(120000000)"
    )
    assert "ride_events" in {t.name for t in tree.find_all(exp.Table)}, "the input tree is left as it was"


def test_restrict_events_adds_the_arrival_cutoff() -> None:
    tree = parse_query("SELECT city FROM ride_events AS e WHERE e.city = 'x'", "q.sql")
    rewritten = restrict_events(tree, "ride_events", "v", 0, 10, ingest_before=7)
    (subquery,) = [s for s in rewritten.find_all(exp.Subquery)]
    assert subquery.alias == "e", "the reference keeps its alias so e.city still resolves"
    assert "ingest_time < TIMESTAMP_MICROS(7)" in subquery.sql("spark")


def test_restrict_events_leaves_a_cte_that_shadows_the_source() -> None:
    sql = "WITH ride_events AS (SELECT * FROM ride_events WHERE city = 'a') SELECT city FROM ride_events"
    rewritten = restrict_events(parse_query(sql, "q.sql"), "ride_events", "v", 0, 10)
    (subquery,) = _event_subqueries(rewritten)
    assert subquery.find_ancestor(exp.CTE) is not None, "only the read inside the CTE is the real table"
    assert rewritten.args["from_"].this.name == "ride_events"


def test_restrict_events_refuses_a_query_not_reading_the_source() -> None:
    with pytest.raises(ValueError, match="ride_events"):
        restrict_events(parse_query("SELECT 1 AS x FROM other", "q.sql"), "ride_events", "v", 0, 10)


def test_arrival_cutoffs_give_each_tile_its_cutoff() -> None:
    tree = parse_query("SELECT city FROM ride_events", "q.sql")
    cutoffs = arrival_cutoffs([(0, 60, 70), (60, 120, 130)])
    rewritten = restrict_events(tree, "ride_events", "v", 0, 120, ingest_before=cutoffs)
    assert (
        "ingest_time < CASE WHEN event_time >= TIMESTAMP_MICROS(0) AND event_time < TIMESTAMP_MICROS(60) "
        "THEN TIMESTAMP_MICROS(70) WHEN event_time >= TIMESTAMP_MICROS(60) AND event_time < TIMESTAMP_MICROS(120) "
        "THEN TIMESTAMP_MICROS(130) END" in to_sql(rewritten)
    )


def test_keep_windows_filters_window_start_and_projects() -> None:
    tree = parse_query(AVG_ETA, "q.sql")
    wrapped = keep_windows(tree, 0, 300_000_000, ["geohash6", "window_start", "avg_eta_seconds"])
    assert [c.name for c in wrapped.expressions] == ["geohash6", "window_start", "avg_eta_seconds"]
    assert wrapped.args["where"].sql("spark") == (
        "WHERE `window_start` >= TIMESTAMP_MICROS(0) AND `window_start` < TIMESTAMP_MICROS(300000000)"
    )


def test_keep_cells_groups_cells_by_window() -> None:
    tree = parse_query(AVG_ETA, "q.sql")
    kept = keep_cells(tree, ["geohash6"], [("a", 0), ("b", 0), (None, 60_000_000)])
    assert kept.args["where"].sql("spark") == (
        "WHERE (`window_start` = TIMESTAMP_MICROS(0) AND `geohash6` IN ('a', 'b'))"
        " OR (`window_start` = TIMESTAMP_MICROS(60000000) AND `geohash6` IS NULL)"
    )


def test_keep_cells_with_no_cells_keeps_nothing() -> None:
    kept = keep_cells(parse_query(AVG_ETA, "q.sql"), ["geohash6"], [])
    assert kept.args["where"].this == exp.false()


@pytest.mark.parametrize(
    "key", ["it's", "back\\slash", "x' OR '1'='1", "a -- comment", "\\'; DROP TABLE t; --", "end\\"]
)
def test_keep_cells_literals_parse_back_to_the_same_key(key: str) -> None:
    sql = to_sql(keep_cells(parse_query(AVG_ETA, "q.sql"), ["geohash6"], [(key, 0)]))
    reparsed = sqlglot.parse_one(sql, read="spark")
    (in_,) = reparsed.find_all(exp.In)
    assert [e.this for e in in_.expressions] == [key]
    assert len(list(reparsed.find_all(exp.Or))) == 0, "the key did not turn into SQL"


def test_timestamp_is_an_integer_microseconds_literal() -> None:
    assert timestamp(-1).sql("spark") == "TIMESTAMP_MICROS(-1)"


# --- rewrites for the restricted recompute (copies of events moved in time) -------------------------------


def test_a_group_by_that_starts_with_the_window_function_parses() -> None:
    # sqlglot alone reads the WINDOW keyword right after GROUP BY as a named-window clause: "Expecting )".
    tree = query.parse_query(
        "SELECT city, window.start AS window_start FROM t GROUP BY window(event_time, '1 minute'), city", "q.sql"
    )
    group = tree.args["group"].expressions
    assert [type(e).__name__ for e in group] == ["Anonymous", "Column"]
    named = query.parse_query("SELECT avg(x) OVER w FROM t GROUP BY x WINDOW w AS (PARTITION BY y)", "q.sql")
    assert "WINDOW w AS (PARTITION BY y)" in query.to_sql(named), "the named-window clause still parses"

