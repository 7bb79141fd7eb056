"""Shapes the port must refuse rather than port wrongly: each changes what the query computes in a way the job
would not (a sample, grouping sets, a FILTER clause, QUALIFY, a lateral view, subqueries, aggregates without an
exact streaming combine, timestamps)."""

from __future__ import annotations

import pyarrow as pa
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


ORDERS = pa.schema([("event_id", pa.string()), ("event_time", pa.timestamp("us", tz="UTC")),
                    ("store_id", pa.int32()), ("basket", pa.decimal128(10, 2)), ("tip", pa.float64()),
                    ("zone", pa.string())])
ORDERS_QUERY = ("SELECT {key} AS k, window.start AS window_start, window.end AS window_end, {value} AS v "
                "FROM orders {where} GROUP BY 1, window(event_time, '5 minutes') {tail}")


def orders_query(value: str = "COUNT(*)", key: str = "store_id", where: str = "", tail: str = "") -> str:
    return ORDERS_QUERY.format(value=value, key=key, where=where, tail=tail)


@pytest.mark.parametrize(("sql", "reason"), [
    (orders_query(value="SUM(basket * 2)"), "arithmetic on a decimal(10,2) value: Spark computes it in DECIMAL"),
    (orders_query(value="SUM(basket) / COUNT(*)"), "arithmetic on a decimal(20,2) value"),
    (orders_query(where="WHERE basket > 0.5D"), "compares a decimal(10,2) with a double"),
    (orders_query(where="WHERE basket = zone"), "compares a decimal(10,2) with a string"),
    (orders_query(where="WHERE basket > tip"), "compares a decimal(10,2) with a double"),
    (orders_query(value="SUM(CASE WHEN zone IS NULL THEN basket ELSE 0 END)"), "mixes decimal(10,2) and int results"),
    (orders_query(value="CAST(SUM(basket) AS STRING)"), "CAST of a decimal to STRING"),
    (orders_query(tail="HAVING SUM(basket) > 100"), "a HAVING condition a later pane can make false"),
    (orders_query(tail="HAVING MIN(tip) > 1"), "a HAVING condition a later pane can make false"),
    (orders_query(tail="HAVING COUNT(*) < 3"), "a HAVING condition a later pane can make false"),
    (orders_query(tail="HAVING COUNT(*) + 1 > 3"), "a HAVING condition a later pane can make false"),
    (orders_query(tail="HAVING NOT COUNT(*) > 3"), "a HAVING condition a later pane can make false"),
    ("SELECT k, window_start, window_end, v FROM (" + orders_query() + ") HAVING v > 1",
     "HAVING of a query not grouped by window"),
    (orders_query(tail="ORDER BY 7"), "ORDER BY position 7 is not in the select list (1 to 4)"),
    (orders_query(tail="ORDER BY v LIMIT 3"), "LIMIT 3: a stream cannot keep the first rows"),
    (orders_query(key="from_utc_timestamp(event_time, 'Europe/Paris')"), "the local_time porting trap"),
    (orders_query(value="MAX(hour(to_utc_timestamp(event_time, 'Asia/Tokyo')))"), "the local_time porting trap"),
    (orders_query(value="MAX(date_trunc('HOUR', event_time))"), "truncates a timestamp"),
    ("SELECT store_id, date_trunc('hour', event_time) AS hour, COUNT(*) AS n FROM orders GROUP BY 1, 2",
     "group by window(event_time, '1 hour') and select window.start AS window_start"),
])
def test_what_the_port_cannot_do_on_another_projects_columns_is_refused_by_name(sql: str, reason: str) -> None:
    with pytest.raises(PortRefused) as refused:
        plan_query(sql, "offline_queries/q.sql", schema_of=lambda _: ORDERS)
    assert any(reason in line for line in refused.value.refusals), refused.value.refusals
    assert all(line.startswith("line ") for line in refused.value.refusals), refused.value.refusals


def test_a_having_over_keys_only_is_ported_it_holds_in_every_pane_of_a_cell() -> None:
    plan = plan_query(orders_query(key="upper(zone)", tail="HAVING k > 'M' AND COUNT(*) >= 2"), "offline_queries/q.sql",
                      schema_of=lambda _: ORDERS)
    assert plan.having is not None and plan.having.text == "k is not None and k > 'M' and v >= 2"  # v: COUNT(*) already


def test_a_decimal_literal_beside_a_decimal_column_is_an_exact_decimal() -> None:
    plan = plan_query(orders_query(where="WHERE basket >= 10.10", tail="HAVING MAX(basket) > 20.5"),
                      "offline_queries/q.sql", schema_of=lambda _: ORDERS)
    assert plan.filter is not None and plan.filter.text == "basket is not None and basket >= decimal.Decimal('10.10')"
    assert plan.having is not None and "max_basket > decimal.Decimal('20.5')" in plan.having.text


def test_having_over_deduplicated_events_is_refused() -> None:
    sql = ("WITH e AS (SELECT DISTINCT event_id, event_time, store_id FROM orders) SELECT store_id AS k, "
           "window.start AS window_start, window.end AS window_end, COUNT(*) AS v FROM e "
           "GROUP BY 1, window(event_time, '5 minutes') HAVING COUNT(*) > 1")
    with pytest.raises(PortRefused, match="HAVING over deduplicated events"):
        plan_query(sql, "offline_queries/q.sql", schema_of=lambda _: ORDERS)


def test_decimal_aggregates_keep_sparks_result_types() -> None:
    sql = orders_query(value="SUM(basket)").replace(" AS v", " AS total, AVG(basket) AS mean, MAX(basket) AS top, "
                                                     "SUM(store_id) AS ids, CAST(MIN(basket) AS DOUBLE) AS low")
    plan = plan_query(sql, "offline_queries/q.sql", schema_of=lambda _: ORDERS)
    kinds = {v.name: (v.py.type.value, str(v.py.decimal) if v.py.decimal else None) for v in plan.values}
    assert kinds == {"total": ("decimal", "decimal(20,2)"), "mean": ("decimal", "decimal(14,6)"),
                     "top": ("decimal", "decimal(10,2)"), "ids": ("int", None), "low": ("double", None)}
