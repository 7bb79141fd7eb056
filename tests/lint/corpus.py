"""The lint corpus: hand-written queries over two projects' events and mutations of them, each run through
Spark's analyzer and `parity lint` (`test_lint_agrees_with_spark.py`).

Two sources: the demo's `ride_events` and a game project's `scores` (integer scores, a decimal bonus, per
team). Each base query is valid; each mutation class plants one fault analysts make: a misspelled column (every
column reference, one at a time), a trailing comma before FROM, a misspelled function, an ambiguous column in
a self-join, a selected column missing from GROUP BY, wrong types Spark's analyzer rejects (a non-boolean
condition, a boolean compared with a number, AVG of a boolean) and implicit casts it accepts (a string
compared with a number, SUM of a string), reserved words as aliases. Mutations are AST edits with sqlglot;
only the trailing comma, which has no AST, is made in the text.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from sqlglot import exp

from parity.generate import SCHEMA
from parity.query import DIALECT, parse_query

STAMP = pa.timestamp("us", tz="UTC")
SCORES = pa.schema([
    pa.field("event_id", pa.string()), pa.field("event_time", STAMP), pa.field("ingest_time", STAMP),
    pa.field("team", pa.string()), pa.field("player", pa.string()), pa.field("score", pa.int64()),
    pa.field("bonus", pa.decimal128(10, 2)), pa.field("ranked", pa.bool_()),
])
SCHEMAS = {"ride_events": SCHEMA, "scores": SCORES}

BASES = [
    # GROUP BY ordinals and an ORDER BY over select aliases (dropped by port; Spark resolves the aliases).
    ("SELECT geohash(lat, lon, 6) AS geohash6, "
    "window.start AS window_start, window.end AS window_end, COUNT(*) AS events FROM ride_events "
    "GROUP BY 1, window(event_time, '1 minute') ORDER BY geohash6, window_start, events DESC"),
    ("SELECT geohash(lat, lon, 6) AS geohash6, window.start AS window_start, window.end AS window_end, "
    "COUNT(DISTINCT event_id) AS requests FROM ride_events WHERE event_type = 'ride_requested' "
    "GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')"),
    ("SELECT geohash(lat, lon, 5) AS geohash5, window.start AS window_start, window.end AS window_end, "
    "COUNT(DISTINCT rider_id) AS riders, AVG(eta_seconds) AS eta FROM ride_events "
    "WHERE event_type IN ('ride_requested', 'ride_accepted') AND eta_seconds IS NOT NULL "
    "GROUP BY geohash(lat, lon, 5), window(event_time, '5 minutes', '1 minute')"),
    ("SELECT city, window.start AS window_start, window.end AS window_end, "
    "SUM(CASE WHEN available THEN 1 ELSE 0 END) AS drivers, MAX(eta_seconds) AS worst FROM ride_events "
    "GROUP BY city, window(event_time, '1 minute')"),
    ("WITH requests AS (SELECT DISTINCT event_id, event_time, lat, lon FROM ride_events "
    "WHERE event_type = 'ride_requested') SELECT geohash(lat, lon, 6) AS geohash6, window.start AS window_start, "
    "window.end AS window_end, COUNT(*) AS requests FROM requests GROUP BY geohash(lat, lon, 6), "
    "window(event_time, '1 minute')"),
    ("SELECT upper(city) AS city_key, window.start AS window_start, window.end AS window_end, "
    "COALESCE(MIN(eta_seconds), 0) AS fastest FROM ride_events GROUP BY upper(city), window(event_time, '1 minute')"),
    ("SELECT team, window.start AS window_start, window.end AS window_end, SUM(score) AS total, "
    "MAX(bonus) AS best_bonus FROM scores GROUP BY team, window(event_time, '1 hour')"),
    ("SELECT team, window.start AS window_start, window.end AS window_end, COUNT(DISTINCT player) AS players, "
    "AVG(score) AS mean FROM scores WHERE ranked GROUP BY team, window(event_time, '1 hour')"),
    ("SELECT lower(team) AS team_key, window.start AS window_start, window.end AS window_end, "
    "SUM(IF(ranked, score, 0)) AS ranked_total FROM scores WHERE score >= 0 "
    "GROUP BY lower(team), window(event_time, '10 minutes')"),
    ("SELECT team, window.start AS window_start, window.end AS window_end, "
    "try_divide(SUM(score), COUNT(*)) AS per_event FROM scores GROUP BY team, window(event_time, '1 hour')"),
    ("SELECT s.team, window.start AS window_start, window.end AS window_end, SUM(s.score) AS total "
    "FROM scores AS s WHERE s.player IS NOT NULL GROUP BY s.team, window(s.event_time, '1 hour')"),
]


def _misspelled(name: str) -> str:
    return name[:-1] if len(name) > 3 else name + "x"


def _sql(tree: exp.Expr) -> str:
    return tree.sql(dialect=DIALECT)


def mutations(base: str) -> Iterator[tuple[str, str]]:
    """(class, query) pairs planted in one base query."""
    tree = parse_query(base, "base.sql")
    yield "valid", base
    references = [c for c in tree.find_all(exp.Column) if c.table.lower() != "window"]
    for i in range(len(references)):
        copy = tree.copy()
        column = [c for c in copy.find_all(exp.Column) if c.table.lower() != "window"][i]
        column.set("this", exp.to_identifier(_misspelled(column.name)))
        yield "misspelled_column", _sql(copy)
    yield "trailing_comma", _sql(tree).replace(" FROM ", ", FROM ", 1)
    for i, call in enumerate(tree.find_all(exp.Func)):
        if isinstance(call, exp.AggFunc | exp.Anonymous) or i > 3:
            continue
        copy = tree.copy()
        target = list(copy.find_all(exp.Func))[i]
        arguments = [a.copy() for a in target.iter_expressions()]
        target.replace(exp.Anonymous(this=_misspelled(call.sql_name().lower()), expressions=arguments))
        yield "misspelled_function", _sql(copy)
    select = tree.find(exp.Select)
    assert select is not None
    table = select.args["from_"].this
    if isinstance(table, exp.Table) and table.name in SCHEMAS:
        copy = tree.copy()
        outer = copy.find(exp.Select)
        assert outer is not None
        outer.set("joins", [exp.Join(this=exp.to_table(table.name).as_("other"), kind="INNER",
                                     on=exp.EQ(this=exp.column("event_id", "other"),
                                               expression=exp.column("event_id", table.alias_or_name)))])
        yield "ambiguous_column", _sql(copy)
        source = SCHEMAS[table.name]
        extra = next(f.name for f in source if f.name not in {c.name for c in references})
        copy = tree.copy()
        outer = copy.find(exp.Select)
        assert outer is not None
        outer.set("expressions", [*outer.expressions, exp.column(extra)])
        yield "not_grouped", _sql(copy)
        for klass, edit in _type_edits(table.name):
            copy = tree.copy()
            outer = copy.find(exp.Select)
            assert outer is not None
            edit(outer)
            yield klass, _sql(copy)
    copy = tree.copy()
    outer = copy.find(exp.Select)
    assert outer is not None
    last = outer.expressions[-1]
    outer.expressions[-1].replace(exp.alias_(last.unalias().copy(), "`select`"))
    yield "reserved_word_alias", _sql(copy)


def _where(predicate: exp.Expr):  # type: ignore[no-untyped-def]
    def edit(select: exp.Select) -> None:
        select.where(predicate, copy=False)
    return edit


def _add(projection: exp.Expr):  # type: ignore[no-untyped-def]
    def edit(select: exp.Select) -> None:
        select.set("expressions", [*select.expressions, projection])
    return edit


def _type_edits(source: str) -> list[tuple[str, object]]:
    text, number, flag = ("city", "lat", "available") if source == "ride_events" else ("team", "score", "ranked")
    return [
        ("type_condition_not_boolean", _where(exp.column(text))),
        ("type_boolean_vs_number", _where(exp.EQ(this=exp.column(flag), expression=exp.Literal.number(1)))),
        ("type_avg_of_boolean", _add(exp.alias_(exp.Avg(this=exp.column(flag)), "avg_flag"))),
        ("type_case_on_number", _add(exp.alias_(exp.Max(this=exp.Case(ifs=[exp.If(this=exp.column(number),
                                     true=exp.Literal.number(1))])), "odd"))),
        ("cast_string_vs_number", _where(exp.EQ(this=exp.column(number), expression=exp.Literal.string("7")))),
        ("cast_sum_of_string", _add(exp.alias_(exp.Sum(this=exp.column(text)), "text_sum"))),
    ]


# Hand-written: what analysts write around the edges, each with its class (Spark decides the verdict).
HAND = [
    ("valid", "SELECT city, COUNT(*) AS n FROM ride_events GROUP BY 1"),
    ("valid", "SELECT city AS c, COUNT(*) AS n FROM ride_events GROUP BY c"),
    ("valid", "SELECT team, SUM(score) AS total FROM scores GROUP BY team HAVING SUM(score) > 10"),
    ("valid", "SELECT team, COUNT(*) AS n FROM scores WHERE bonus > 1.5 GROUP BY team"),
    ("valid", "SELECT date_trunc('HOUR', event_time) AS hour, COUNT(*) AS n FROM scores GROUP BY 1"),
    ("valid", "SELECT `order`.team FROM scores AS `order`"),
    ("valid", "SELECT team FROM scores WHERE score BETWEEN 1 AND 10"),
    ("valid", "SELECT CAST(ranked AS INT) + 1 AS r FROM scores"),
    ("valid", "SELECT coalesce(player, 'nobody') AS p, COUNT(*) AS n FROM scores GROUP BY coalesce(player, 'nobody')"),
    ("valid", "SELECT team, MAX(score) - MIN(score) AS spread FROM scores GROUP BY team"),
    ("valid", "SELECT nvl(city, 'x') AS c FROM ride_events"),
    ("valid", "SELECT substring(city, 1, 2) AS c FROM ride_events"),
    ("valid", "SELECT from_utc_timestamp(event_time, 'Asia/Kolkata') AS local FROM ride_events"),
    ("valid", "SELECT city FROM ride_events WHERE NOT available"),
    ("valid", "SELECT city, COUNT(*) AS n FROM (SELECT city FROM ride_events WHERE lat > 0) AS t GROUP BY city"),
    ("misspelled_column", "SELECT team, SUM(scores) AS total FROM scores GROUP BY team"),
    ("misspelled_column", "SELECT city, COUNT(*) AS n FROM ride_events GROUP BY cities"),
    ("misspelled_column", "SELECT team, SUM(score) AS total FROM scores GROUP BY team HAVING SUM(scor) > 10"),
    ("misspelled_table", "SELECT team FROM score"),
    ("misspelled_function", "SELECT geohsh(lat, lon, 6) AS g FROM ride_events"),
    ("misspelled_function", "SELECT aproks_count_distinct(player) AS p FROM scores"),
    ("not_grouped", "SELECT team, player, SUM(score) AS total FROM scores GROUP BY team"),
    ("not_grouped", "SELECT team, SUM(score) AS total FROM scores"),
    ("not_grouped", "SELECT team, SUM(score) AS total FROM scores GROUP BY team HAVING player = 'x'"),
    ("trailing_comma", "SELECT team, SUM(score) AS total, FROM scores GROUP BY team"),
    ("trailing_comma", "SELECT team, SUM(score) AS total FROM scores GROUP BY team,"),
    ("trailing_comma", "SELECT team, COUNT(*) AS n FROM scores WHERE team IN ('a', 'b',) GROUP BY team"),
    ("ambiguous_column", "SELECT team FROM scores AS a JOIN scores AS b ON a.event_id = b.event_id"),
    ("type_condition_not_boolean", "SELECT team FROM scores WHERE score"),
    ("type_condition_not_boolean", "SELECT team, COUNT(*) AS n FROM scores GROUP BY team HAVING COUNT(*)"),
    ("type_boolean_vs_number", "SELECT team FROM scores WHERE ranked > 0"),
    ("type_avg_of_boolean", "SELECT AVG(ranked) AS a FROM scores"),
    ("cast_string_vs_number", "SELECT team FROM scores WHERE team = 1"),
    ("cast_string_plus_number", "SELECT score + '1' AS s FROM scores"),
    ("reserved_word", "SELECT order FROM scores"),
    ("reserved_word_alias", "SELECT team AS from FROM scores"),
    ("reserved_word_alias", "SELECT team AS `from` FROM scores"),
]


def corpus() -> list[tuple[str, str]]:
    """Every (class, query), each once."""
    seen: dict[str, str] = {sql: klass for klass, sql in HAND}
    for base in BASES:
        for klass, sql in mutations(base):
            seen.setdefault(sql, klass)
    return [(klass, sql) for sql, klass in seen.items()]
