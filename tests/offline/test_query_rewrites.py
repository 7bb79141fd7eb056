"""parity.query: parsing, output columns and AST rewrites of offline SQL (sqlglot only, no Spark)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from parity import copies, query
from parity.errors import SpecError
from parity.lineage import geohash_key
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
from parity.spec import load_feature

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


def test_event_time_only_in_window_calls_allows_moving_events() -> None:
    for name in ("ride_requests", "demand_supply", "available_drivers", "avg_eta"):
        tree = query.read_query(load_feature(name, REPO), REPO)
        assert copies.windows_only_read_event_time(tree, "ride_events"), name


@pytest.mark.parametrize(
    "sql",
    [
        ("SELECT hour(event_time) AS h, window.start AS window_start, COUNT(*) AS n FROM ride_events "
        "GROUP BY hour(event_time), window(event_time, '1 minute')"),
        ("SELECT city, window.start AS window_start, COUNT(*) AS n FROM ride_events "
        "WHERE event_time > TIMESTAMP '2024-01-01' GROUP BY city, window(event_time, '1 minute')"),
        ("SELECT a.city, window.start AS window_start, COUNT(*) AS n FROM ride_events a "
        "JOIN ride_events b ON a.event_id = b.event_id GROUP BY a.city, window(a.event_time, '1 minute')"),
        ("SELECT city, window.start AS window_start, COUNT(*) AS n FROM ride_events "
        "GROUP BY city, window(event_time + INTERVAL 1 MINUTE, '1 minute')"),
        ("WITH d AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY ingest_time) AS rn FROM ride_events) "
         "SELECT city, window.start AS window_start, COUNT(*) AS n FROM d WHERE rn = 1 "
         "GROUP BY city, window(event_time, '1 minute')"),
        ("WITH e AS (SELECT * FROM ride_events) SELECT r.city, window.start AS window_start, COUNT(*) AS n "
         "FROM e r JOIN e a ON r.ride_id = a.ride_id AND a.event_type = 'ride_accepted' "
         "GROUP BY r.city, window(r.event_time, '5 minutes', '1 minute')"),
        ("SELECT city, hour(window.start) AS h, window.start AS window_start, COUNT(*) AS n FROM ride_events "
         "GROUP BY city, window(event_time, '1 minute')"),
        ("SELECT city, window.start AS window_start, COUNT(*) AS n FROM ride_events "
         "GROUP BY city, window(event_time, '1 minute') HAVING window.end <= current_timestamp()"),
        ("SELECT city, window.start AS window_start, COUNT(*) AS n FROM ride_events "
         "GROUP BY city, window(ingest_time, '1 minute')"),
        ("SELECT city, window.start AS window_start, COUNT(*) AS n FROM (SELECT city, ingest_time AS event_time "
         "FROM ride_events) GROUP BY city, window(event_time, '1 minute')"),
        ("SELECT city, window.start AS window_start, COUNT(*) AS n FROM ride_events JOIN marks USING (event_time) "
         "GROUP BY city, window(event_time, '1 minute')"),
    ],
    ids=["key from event_time", "filter on event_time", "source read twice", "arithmetic inside window",
         "dedupe by a window function", "a CTE of the source read twice", "key from the window",
         "filter on the window", "windows over another time", "another time named event_time",
         "joined on event_time"],
)
def test_any_other_use_of_event_time_forbids_moving_events(sql: str) -> None:
    assert not copies.windows_only_read_event_time(query.parse_query(sql, "q.sql"), "ride_events")


def test_tumbling_windows_drop_the_slide_only_when_the_size_is_the_windows() -> None:
    tree = query.parse_query(
        "SELECT city, window.start AS window_start FROM t GROUP BY city, window(event_time, '5 minutes', '1 minute')", "q.sql"
    )
    tumbling = copies.tumbling_windows(tree, 300_000_000)
    assert tumbling is not None
    assert "WINDOW(event_time, '5 minutes')" in query.to_sql(tumbling)
    assert "'1 minute'" in query.to_sql(tree), "the input tree is left alone"
    assert copies.tumbling_windows(tree, 60_000_000) is None
    odd = query.parse_query("SELECT city FROM t GROUP BY city, window(event_time, '5 fortnights')", "q.sql")
    assert copies.tumbling_windows(odd, 300_000_000) is None


def test_shifted_copies_join_the_copies_table_and_keep_keys_as_data() -> None:
    tree = query.parse_query("SELECT city, COUNT(*) AS n FROM ride_events GROUP BY city", "q.sql")
    sql = query.to_sql(query.keep_keys(
        copies.shifted_copies(tree, "ride_events", "v", ["event_id", "event_time", "city"], "c", (0, 110)),
        ["city"], [("x' OR '1'='1",)],
    ))
    assert "FROM v AS parity_e JOIN c AS parity_c ON" in sql
    assert "`parity_e`.`event_time` >= TIMESTAMP_MICROS(`parity_c`.`lo`)" in sql
    assert "`parity_e`.`ingest_time` < TIMESTAMP_MICROS(`parity_c`.`cutoff`)" in sql
    assert "WHERE `parity_e`.`event_time` >= TIMESTAMP_MICROS(0) AND `parity_e`.`event_time` < TIMESTAMP_MICROS(110)" in sql
    assert "TIMESTAMP_MICROS(UNIX_MICROS(`parity_e`.`event_time`) + `parity_c`.`shift`) AS event_time" in sql
    assert "'x\\' OR \\'1\\'=\\'1'" in sql or "'x'' OR ''1''=''1'" in sql
    assert query.parse_query(sql, "rewritten.sql") is not None


def test_grid_copies_join_on_the_events_grid_cell_in_doubles() -> None:
    tree = query.parse_query("SELECT city, COUNT(*) AS n FROM ride_events GROUP BY city", "q.sql")
    grid = copies.Grid("lat", "lon", 0.0054931640625, 0.010986328125)
    sql = query.to_sql(copies.shifted_copies(tree, "ride_events", "v", ["event_time", "lat", "lon"], "c", (0, 10), grid))
    assert "FLOOR((CAST(`parity_e`.`lat` AS DOUBLE) + 90) / 0.0054931640625) = `parity_c`.`grid_row`" in sql
    assert "FLOOR((CAST(`parity_e`.`lon` AS DOUBLE) + 180) / 0.010986328125) = `parity_c`.`grid_column`" in sql


def test_a_group_by_that_starts_with_the_window_function_parses() -> None:
    # sqlglot alone reads the WINDOW keyword right after GROUP BY as a named-window clause: "Expecting )".
    tree = query.parse_query(
        "SELECT city, window.start AS window_start FROM t GROUP BY window(event_time, '1 minute'), city", "q.sql"
    )
    group = tree.args["group"].expressions
    assert [type(e).__name__ for e in group] == ["Anonymous", "Column"]
    named = query.parse_query("SELECT avg(x) OVER w FROM t GROUP BY x WINDOW w AS (PARTITION BY y)", "q.sql")
    assert "WINDOW w AS (PARTITION BY y)" in query.to_sql(named), "the named-window clause still parses"


@pytest.mark.parametrize("name", ["available_drivers", "avg_eta", "demand_supply", "ride_requests"])
def test_every_shipped_feature_keys_on_a_geohash_of_the_event_coordinates(name: str) -> None:
    spec = load_feature(name, REPO)
    tree = query.read_query(spec, REPO)
    precision = 5 if spec.keys == ("geohash5",) else 6
    assert geohash_key(tree, spec.source, spec.keys[0]) == ("lat", "lon", precision)


@pytest.mark.parametrize(
    "sql",
    [
        # grouped by alias and by position, the key passed on through a subquery and a CTE's star
        ("SELECT g AS cell, w AS window_start FROM (SELECT geohash(lat, lon, 6) AS g, window.start AS w, COUNT(*) AS n "
        "FROM ride_events GROUP BY g, window(event_time, '1 minute'))"),
        "WITH t AS (SELECT geohash(lat, lon, 6) AS cell, COUNT(*) AS n FROM ride_events GROUP BY 1) SELECT * FROM t",
        # the coordinates renamed on the way from the source, and geohashed per row before grouping
        ("WITH p AS (SELECT latitude_raw AS la, lon AS lo FROM (SELECT lat AS latitude_raw, lon FROM ride_events)) "
        "SELECT cell, COUNT(*) AS n FROM (SELECT geohash(la, lo, 6) AS cell FROM p) GROUP BY cell"),
    ],
)
def test_a_geohash_key_is_traced_through_aliases_positions_subqueries_and_stars(sql: str) -> None:
    origin = geohash_key(parse_query(sql, "q.sql"), "ride_events", "cell")
    assert origin is not None and origin[2] == 6
    assert origin[:2] in {("lat", "lon")}


@pytest.mark.parametrize(
    "sql",
    [
        # the key is not a geohash, or not of the source's own coordinates
        "SELECT city AS cell, COUNT(*) AS n FROM ride_events GROUP BY city",
        "SELECT geohash(lat + 0.01, lon, 6) AS cell, COUNT(*) AS n FROM ride_events GROUP BY 1",
        "SELECT geohash(lat, lon, p) AS cell, COUNT(*) AS n FROM ride_events GROUP BY 1",
        ("WITH s AS (SELECT lat * 2 AS lat, lon FROM ride_events) "
        "SELECT geohash(lat, lon, 6) AS cell, COUNT(*) AS n FROM s GROUP BY 1"),
        "SELECT substr(g, 1, 5) AS cell FROM (SELECT geohash(lat, lon, 6) AS g FROM ride_events)",
        # rows of other cells could reach a cell's row
        ("SELECT geohash(e.lat, e.lon, 6) AS cell, COUNT(*) AS n FROM ride_events e JOIN zones z ON e.city = z.city "
        "GROUP BY 1"),
        "SELECT geohash(lat, lon, 6) AS cell FROM ride_events UNION ALL SELECT cell FROM extra_cells",
        "SELECT geohash(lat, lon, 6) AS cell, COUNT(*) OVER () AS n FROM ride_events",
        "SELECT cell, n FROM (SELECT geohash(lat, lon, 6) AS cell, COUNT(*) AS n FROM ride_events GROUP BY 1 LIMIT 5)",
        "WITH c AS (SELECT geohash(lat, lon, 6) AS g FROM ride_events) SELECT MAX(g) AS cell, COUNT(*) AS n FROM c",
        ("WITH a AS (SELECT lat, lon FROM ride_events) "
        "SELECT geohash(x.lat, x.lon, 6) AS cell FROM a AS x, a AS y"),
    ],
)
def test_a_key_that_other_cells_rows_could_reach_has_no_geohash_origin(sql: str) -> None:
    assert geohash_key(parse_query(sql, "q.sql"), "ride_events", "cell") is None


def test_inside_boxes_is_a_closed_range_per_box_and_false_for_none() -> None:
    sql = to_sql(copies.inside_boxes("lat", "lon", [(1.0, 2.0, 3.0, 4.0), (-1.5, -2.5, 0.5, 0.25)]))
    assert sql == (
        "(`lat` BETWEEN 1.0 AND 3.0 AND `lon` BETWEEN 2.0 AND 4.0) OR "
        "(`lat` BETWEEN -1.5 AND 0.5 AND `lon` BETWEEN -2.5 AND 0.25)"
    )
    assert to_sql(copies.inside_boxes("lat", "lon", [])) == "FALSE"
