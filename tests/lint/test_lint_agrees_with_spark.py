"""`parity lint` against Spark's own analyzer on the corpus (`corpus.py`, 200+ queries): lint never passes a
query Spark rejects, and the count of the reverse (lint rejecting a query Spark would run) is printed and held
at its measured value. Spark decides each query by analysing it (`spark.sql` analyses without running)."""

from __future__ import annotations

from collections import Counter

import pytest
from corpus import SCHEMAS, corpus
from pyspark.sql import SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from parity.sqllint import lint_sql

# Measured: 1, the target is 0. `SELECT s.team, window.start AS window_start, ..., SUM(s.score) AS total, FROM
# scores AS s WHERE ... GROUP BY s.team, window(...)`: Spark 4.3 analyses this trailing comma without the
# TRAILING_COMMA_IN_SELECT error it raises for the same comma without the window grouping; lint calls it a
# trailing comma, which it is.
LINT_REJECTS_SPARK_RUNS = 1


def spark_rejects(spark: SparkSession, sql: str) -> str | None:
    try:
        spark.sql(sql)
    except Exception as exc:  # noqa: BLE001 (a ParseException or AnalysisException: Spark's verdict)
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="module")
def verdicts(spark: SparkSession) -> list[tuple[str, str, str | None, list[str]]]:
    for name, schema in SCHEMAS.items():
        spark.createDataFrame([], from_arrow_schema(schema)).createOrReplaceTempView(name)
    return [(klass, sql, spark_rejects(spark, sql), lint_sql(sql, "q.sql", SCHEMAS)) for klass, sql in corpus()]


def test_the_corpus_holds_at_least_200_queries_of_every_class() -> None:
    classes = Counter(klass for klass, _ in corpus())
    assert sum(classes.values()) >= 200, classes
    assert {"misspelled_column", "trailing_comma", "ambiguous_column", "not_grouped", "type_condition_not_boolean",
            "reserved_word_alias", "misspelled_function"} <= set(classes)


def test_lint_never_passes_a_query_spark_rejects(verdicts: list[tuple[str, str, str | None, list[str]]]) -> None:
    passed_but_rejected = [(klass, sql, spark) for klass, sql, spark, lint in verdicts if spark and not lint]
    assert not passed_but_rejected, "\n".join(f"{k}: {q}\n  spark: {s}" for k, q, s in passed_but_rejected)


def test_lint_rejects_what_spark_runs_no_more_often_than_measured(
        verdicts: list[tuple[str, str, str | None, list[str]]]) -> None:
    rejected_but_runs = [(klass, sql, lint) for klass, sql, spark, lint in verdicts if lint and not spark]
    print(f"\nlint corpus: {len(verdicts)} queries, Spark rejects {sum(1 for v in verdicts if v[2])}, "
          f"lint rejects {sum(1 for v in verdicts if v[3])}, lint rejects what Spark runs: {len(rejected_but_runs)}")
    assert len(rejected_but_runs) <= LINT_REJECTS_SPARK_RUNS, "\n".join(
        f"{k}: {q}\n  lint: {f}" for k, q, f in rejected_but_runs)


def test_each_finding_names_the_file_line_and_column() -> None:
    sql = "SELECT team,\n       SUM(scor) AS total\nFROM scores GROUP BY team"
    findings = lint_sql(sql, "offline_queries/team_total.sql", SCHEMAS)
    assert findings == ["offline_queries/team_total.sql:2:15: Column 'scor' could not be resolved; did you mean score?"]
