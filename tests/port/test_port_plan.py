"""Shapes the port must refuse rather than port wrongly: each changes what the query computes in a way the job
would not (a sample, grouping sets, a FILTER clause, QUALIFY, a lateral view, subqueries, aggregates without an
exact streaming combine, timestamps)."""

from __future__ import annotations

import pytest

from parity.errors import PortRefused
from parity.generate import SCHEMA
from parity.port.plan import plan_query

QUERY = ("SELECT geohash(lat, lon, 6) AS geohash6, window.start AS window_start, window.end AS window_end, {value} AS v "
         "FROM ride_events {source} {where} GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute') {tail}")


def query(value: str = "COUNT(*)", source: str = "", where: str = "", tail: str = "") -> str:
    return QUERY.format(value=value, source=source, where=where, tail=tail)


@pytest.mark.parametrize(("sql", "reason"), [
    (query(source="TABLESAMPLE (10 PERCENT)"), "SAMPLE in ride_events TABLESAMPLE (10 PERCENT): not ported"),
    (query(tail="WITH ROLLUP"), "grouping sets are not ported"),
    (query(value="COUNT(*) FILTER (WHERE available)"), "an aggregate FILTER clause is not ported"),
    (query(tail="QUALIFY v > 1"), "QUALIFY in"),
    (query(tail="SORT BY v"), "a stream emits cells, not an ordered table"),
    (query(source="LATERAL VIEW explode(array(1)) x AS y"), "LATERAL VIEW / explode: not ported"),
    (query(where="WHERE EXISTS (SELECT 1 FROM ride_events)"), "exists() is not in the ported subset"),
    (query(where="WHERE city IN (SELECT city FROM ride_events)"), "IN (subquery) is a join"),
    (query(value="SUM(DISTINCT eta_seconds)"), "an aggregate of DISTINCT values other than COUNT is not ported"),
    (query(value="AVG(available)"), "AVG of a boolean column"),
    (query(value="MAX(event_time)"), "reads a timestamp"),
    (query(value="first(city)"), "aggregate first() has no exact streaming combine"),
    (query(value="stddev(eta_seconds)"), "aggregate stddev() has no exact streaming combine"),
    (query().replace("GROUP BY geohash(lat, lon, 6)", "GROUP BY 9"), "9: grouped by but not selected"),
    (query(value="COUNT(*)").replace("geohash(lat, lon, 6) AS geohash6", "upper(city) AS city").replace(
        "GROUP BY geohash(lat, lon, 6)", "GROUP BY city"), "names both a column of the source and a select alias"),
    (query().replace("'1 minute')", "'1 minute', '1 minute', '10 seconds')"), "a window start offset is not ported"),
    (query().replace("window(event_time", "window(ingest_time"), "windows over a column other than event_time"),
    (query().replace("window.end AS window_end", "window.end AS ends"), "name it window_end"),
])
def test_shape_is_refused_naming_the_construct(sql: str, reason: str) -> None:
    with pytest.raises(PortRefused) as refused:
        plan_query(sql, "offline_queries/q.sql", schema_of=lambda _: SCHEMA)
    assert any(reason in line for line in refused.value.refusals), refused.value.refusals


def test_a_table_alias_is_not_a_refusal() -> None:
    plan = plan_query(query(source="r", where="WHERE r.city = 'sf'"), "offline_queries/q.sql")
    assert plan.filter is not None and plan.filter.text == "city == 'sf'"


def test_every_refused_construct_is_reported_not_only_the_first() -> None:
    sql = query(value="SUM(my_udf(city))", where="WHERE hour(event_time) > 3")
    with pytest.raises(PortRefused) as refused:
        plan_query(sql, "offline_queries/q.sql", schema_of=lambda _: SCHEMA)
    assert len(refused.value.refusals) == 2
    assert "hour()" in refused.value.refusals[0] and "my_udf()" in refused.value.refusals[1]
