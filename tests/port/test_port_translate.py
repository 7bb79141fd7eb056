"""The translator against real Spark: every supported expression, translated to Python and evaluated on rows with
nulls, negatives and edge values, gives Spark's value (value mode) and keeps the rows Spark's WHERE keeps (truth
mode). And what it does not know, it refuses with the construct and the reason."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from parity.geo import geohash
from parity.port import spark as spark_fns
from parity.port.sqltypes import Column, Refused, SqlType
from parity.port.translate import truth, value
from parity.query import parse_query

SCOPE = {
    "s": Column(SqlType.STRING), "t": Column(SqlType.STRING), "x": Column(SqlType.DOUBLE),
    "y": Column(SqlType.DOUBLE), "i": Column(SqlType.INT), "j": Column(SqlType.INT), "b": Column(SqlType.BOOLEAN),
    "lat": Column(SqlType.DOUBLE), "lon": Column(SqlType.DOUBLE),
}
SCHEMA = T.StructType([
    T.StructField("id", T.IntegerType()), T.StructField("s", T.StringType()), T.StructField("t", T.StringType()),
    T.StructField("x", T.DoubleType()), T.StructField("y", T.DoubleType()), T.StructField("i", T.LongType()),
    T.StructField("j", T.LongType()), T.StructField("b", T.BooleanType()), T.StructField("lat", T.DoubleType()),
    T.StructField("lon", T.DoubleType()),
])
ROWS = [  # j and y are never zero: `/` by zero raises on both sides (tested apart)
    (1, "a", "b", 2.675, 3.0, -7, 2, True, 37.7749, -122.4194),
    (2, "ab", "a", -2.5, -2.0, 7, -3, False, 51.5, -0.12),
    (3, None, "ab", None, None, None, None, None, None, -0.12),
    (4, "B", None, 1000.0, 0.5, 0, 5, True, -33.9, 151.2),
    (5, "héllo", "z", -7.5, 7.0, 15, 2, False, 0.0, 0.0),
    (6, " a ", "", 0.125, 2.0, -15, -2, None, 90.0, 180.0),
]
VALUES = [
    "i + j", "i - j * 2", "x * y", "x / y", "i / j", "i div j", "i % j", "x % y", "-i", "-(x)",
    "i = j", "s = 'a'", "s != 'a'", "s < t", "x >= y", "b AND s = 'a'", "b OR i > 0", "NOT b",
    "s IS NULL", "s IS NOT NULL", "b IS TRUE", "b IS NOT FALSE", "s IN ('a', 'ab')", "s NOT IN ('a')",
    "s LIKE 'a%'", "s NOT LIKE '%b'", "s LIKE '_'",
    "CASE WHEN i > 0 THEN 'pos' WHEN i < 0 THEN 'neg' END", "CASE s WHEN 'a' THEN 1 ELSE 0 END",
    "IF(b, i, j)", "COALESCE(i, j, 0)", "COALESCE(s, t)", "CAST(x AS INT)", "CAST(x AS BIGINT)", "CAST(i AS DOUBLE)",
    "CAST(i AS STRING)", "CAST(b AS INT)", "lower(s)", "upper(s)", "length(s)", "substring(s, 2, 2)",
    "substring(s, -2)", "substr(s, 0, 1)", "concat(s, '-', t)", "s || t", "abs(i)", "abs(x)", "round(x, 2)",
    "round(x)", "round(i, -1)", "floor(x)", "ceil(x)", "sqrt(x)", "pow(x, 2)", "power(i, 2)", "trim(s)",
    "try_divide(i, j)", "try_divide(x, 0)", "try_divide(i, 0)", "geohash(lat, lon, 6)", "geohash(lat, lon, 1)",
    "i > 0 AND (s IS NULL OR NOT b)", "x + 1.5", "i + 1.5D", "x * 2e1", "COALESCE(x, 0.0)", "i > 0.5",
]
PREDICATES = [
    "i = j", "s = 'a'", "s != 'a'", "s < t", "x >= y", "b AND s = 'a'", "b OR i > 0", "NOT b", "b",
    "s IS NULL", "s IS NOT NULL", "b IS TRUE", "b IS NOT FALSE", "s IN ('a', 'ab')", "s NOT IN ('a')",
    "s LIKE 'a%'", "s NOT LIKE '%b'", "i > 0 AND (s IS NULL OR NOT b)", "NOT (s = 'a' OR b)", "NOT (i > 0 AND b)",
    "IF(b, i > 0, s IS NULL)", "CASE WHEN b THEN s = 'a' END", "COALESCE(b, false)", "i > 0.5",
]


def _python(text: str, row: dict[str, Any]) -> Any:
    return eval(text, {"spark": spark_fns, "geohash": geohash}, dict(row))  # our own translation, over test rows


def _same(offline: Any, online: Any) -> bool:
    if isinstance(offline, float) and isinstance(online, float):
        return (math.isnan(offline) and math.isnan(online)) or math.isclose(offline, online, rel_tol=1e-12)
    return offline == online and type(offline) is type(online) or (
        isinstance(offline, int | float) and not isinstance(offline, bool) and offline == online
        and isinstance(online, int | float) and not isinstance(online, bool))


def _expr(sql: str) -> Any:
    return parse_query(f"SELECT {sql} AS v FROM t", "test").expressions[0].this


@pytest.fixture(scope="module")
def table(spark: SparkSession) -> list[dict[str, Any]]:
    spark.createDataFrame(ROWS, SCHEMA).createOrReplaceTempView("port_translate_rows")
    return [dict(zip(SCHEMA.names, row, strict=True)) for row in ROWS]


def test_every_translated_value_equals_sparks(spark: SparkSession, table: list[dict[str, Any]]) -> None:
    columns = ", ".join(f"{sql} AS v{n}" for n, sql in enumerate(VALUES))
    offline = {row["id"]: row for row in spark.sql(f"SELECT id, {columns} FROM port_translate_rows").collect()}
    wrong = []
    for n, sql in enumerate(VALUES):
        translated = value(_expr(sql), SCOPE)
        for row in table:
            online = _python(translated.text, row)
            expected = offline[row["id"]][f"v{n}"]
            if not _same(expected, online):
                wrong.append(f"{sql} on row {row['id']}: Spark {expected!r}, Python `{translated.text}` {online!r}")
    assert not wrong, "\n".join(wrong)


def test_every_translated_predicate_keeps_the_rows_sparks_where_keeps(spark: SparkSession,
                                                                      table: list[dict[str, Any]]) -> None:
    wrong = []
    for sql in PREDICATES:
        kept = {r["id"] for r in spark.sql(f"SELECT id FROM port_translate_rows WHERE {sql}").collect()}
        translated = truth(_expr(sql), SCOPE)
        ours = {row["id"] for row in table if _python(translated.text, row) is True}
        if ours != kept:
            wrong.append(f"WHERE {sql}: Spark keeps {sorted(kept)}, `{translated.text}` keeps {sorted(ours)}")
    assert not wrong, "\n".join(wrong)


def test_division_by_zero_raises_on_both_sides(spark: SparkSession) -> None:
    with pytest.raises(Exception, match="DIVIDE_BY_ZERO"):
        spark.sql("SELECT 1.0D / 0D").collect()
    with pytest.raises(ZeroDivisionError):
        _python(value(_expr("x / y"), SCOPE).text, {"x": 1.0, "y": 0.0})


def test_plain_python_where_it_agrees_with_spark() -> None:
    """Readable output: no helper call where Python's operator already gives Spark's answer."""
    not_null = {"n": Column(SqlType.INT, nullable=False), "s": Column(SqlType.STRING)}
    assert truth(_expr("s = 'a'"), not_null).text == "s == 'a'"
    assert truth(_expr("s != 'a'"), not_null).text == "s is not None and s != 'a'"
    assert value(_expr("n + 1"), not_null).text == "n + 1"
    assert value(_expr("CAST(n AS DOUBLE) / 2"), not_null).text == "float(n) / 2"


@pytest.mark.parametrize(("sql", "reason"), [
    ("my_udf(x)", "unknown function or UDF my_udf()"),
    ("s = 1", "compares string with int"),
    ("s + 1", "operands, got string"),
    ("x div 2", "needs int operands, got double"),
    ("CAST(s AS INT)", "CAST of a string to a number is not ported"),
    ("CAST(x AS STRING)", "formats differently in Spark and Python"),
    ("try_cast(i AS INT)", "try_cast gives NULL where the job would raise"),
    ("hour(event_time)", "function hour() is not in the ported subset"),
    ("CASE WHEN b THEN 1 ELSE 2.5D END", "mixes integer and double results"),
    ("s RLIKE 'a+'", "regexp_like() is not in the ported subset"),
    ("window.start", "reads the window outside"),
    ("nope", "unknown column"),
    ("i + 1.5", "Spark computes this in DECIMAL"),
    ("COALESCE(i, 0.5)", "Spark gives a DECIMAL here"),
])
def test_unknown_or_unproven_constructs_are_refused_with_a_reason(sql: str, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        value(_expr(sql), SCOPE)
    assert reason in refused.value.reason
