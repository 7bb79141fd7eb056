"""The fuzz corpus: bad inputs generated from the valid example files, one mutation each, each with an id.

Every mutation is deterministic (no randomness here; the test samples with a fixed seed) and says up front
what must happen (`Expect`): REJECT (exit 2, one error line naming the file and the field or value), ANY
(the mutation may be valid: exit 0, 1 or 2, and if 2 the same one-line rule), or QUARANTINE (the rows go to
the quarantine, counted, and the check still runs). Areas and how they are made:

- SPEC: YAML tree edits of `realtime_jobs/*.yaml` (unknown, missing, misspelled and mistyped keys, bad
  durations, tolerances, thresholds and names, malformed or non-UTF-8 documents);
- SQL: sqlglot AST edits of `offline_queries/*.sql` (dropped or renamed output columns, unknown functions,
  columns and tables, literals of the wrong type) and token edits (syntax errors);
- SETTINGS: `[tool.parity]` edits of pyproject.toml;
- EVENTS: pyarrow edits of the event log's Parquet file (missing and mistyped columns, timestamps in other
  units or out of range, NaN/inf/null coordinates written past the quarantine) and rows sent through
  `write_events`, which must quarantine them;
- ONLINE: pyarrow edits of ride_requests' realtime output (missing and mistyped columns, nulls, NaN);
- ALERT: YAML tree edits of `alerts/*.yaml` (bad channels, secrets pasted instead of variable names, bad
  durations, severities and conditions).
"""

from __future__ import annotations

import copy
import enum
import functools
import math
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
import yaml
from sqlglot import exp

from parity.query import DIALECT, parse_query, to_sql

REPO = Path(__file__).resolve().parents[2]
FEATURES = ("ride_requests", "available_drivers", "demand_supply", "avg_eta")
RULES = ("oncall", "page_on_breach", "warn_on_suspect")
EVENT_FILE = "events/ride_events/date=*/hour=10/*.parquet"
ONLINE_FILE = "online/ride_requests/date=*/hour=*/*.parquet"  # the online log's hour layout
SECRET = "https://hooks.slack.com/services/T0FUZZ/B0FUZZ/s3cr3tFuzzValue"
# Nested 20,000 deep, flow and block style: Python's recursion would give out reading them (`parity.yamlfile`).
DEEP_FLOW = b"[" * 20_000 + b"]" * 20_000
DEEP_BLOCK = b"- " * 20_000 + b"x\n"  # block sequences on one line: 40 KB, not the 400 MB of indented mappings

TableEdit = Callable[[pa.Table], pa.Table]


class Area(enum.Enum):
    SPEC = "spec"
    SQL = "sql"
    SETTINGS = "settings"
    EVENTS = "events"
    ONLINE = "online"
    ALERT = "alert"


class Expect(enum.Enum):
    REJECT = "reject"  # exit 2 with one error line naming the file and the field or value
    ANY = "any"  # may be valid: 0, 1 or 2; a 2 follows the same one-line rule
    QUARANTINE = "quarantine"  # `write_events` quarantines exactly `Case.quarantined` rows; the check then runs


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    area: Area
    expect: Expect
    files: tuple[str, ...]  # an error line names one of these (relative; a message may show them absolute)
    mentions: tuple[str, ...]  # ... and one of these: the field or the value
    writes: tuple[tuple[str, bytes | None], ...] = ()  # whole files replaced (None: deleted)
    edit: TableEdit | None = None  # applied to the one Parquet file of `files[0]` (a glob)
    feature: str = "ride_requests"  # what `parity check` / `parity stream` run on
    rule: str | None = None  # what `parity alerts test` runs on
    secret: str | None = None  # must appear nowhere in the output
    spark: bool = False  # expected to get as far as Spark (lint accepts it): costly, sampled sparingly
    ingest: TableEdit | None = None  # QUARANTINE: the base events, edited, sent through write_events
    truncate: bool = False  # `files[0]` cut to half its bytes


def corpus() -> list[Case]:
    cases = [*spec_cases(), *sql_cases(), *settings_cases(), *event_cases(), *online_cases(), *alert_cases()]
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "case ids repeat"
    return cases


# --- SPEC ---------------------------------------------------------------------------------------------------

_MISSING = object()
_REQUIRED_SPEC = {"feature", "source", "keys", "window", "window.size", "values"}
_TYPE_SWAPS: tuple[tuple[str, Any], ...] = (
    ("null", None), ("true", True), ("int", 7), ("negint", -3), ("float", 2.5), ("text", "some text"),
    ("list", [1, 2]), ("map", {"x": 1}), ("nan", math.nan), ("inf", math.inf),
)
# Per field: values that must be rejected (by lint or, for what only Spark can tell, by check).
_BAD_SPEC_VALUES: dict[str, tuple[Any, ...]] = {
    "feature": ("", "1abc", "has space", "x-y", "other_name", "ride requests", None, 3, ["a"], "../../elsewhere/f"),
    "source": ("", "bad name", "ride-events", "other_source", None, 3, ["ride_events"], "Ride Events!"),
    "keys": ([], ["bad col"], ["geohash6", "geohash6"], [3], None, ["window_start"], "1abc", [None], [["a"]]),
    "window": (None, "1m", [], {}, {"size": "1m", "slide": "1m", "extra": 1}),
    "window.size": ("0m", "-1m", "1 minute", "1.5m", "1y", "", None, [1], {"a": 1}, "m", 0, -5, "1mm", "1m30s",
                    "9" * 30 + "d", math.nan, math.inf),
    "window.slide": ("0s", "2h", "7s", "abc", -1, "", [1], "1.0m", math.nan),
    "allowed_lateness": ("-1m", "forever", "1.5h", "", None, [1], "2 min", {"m": 2}, -60, math.inf, "9" * 40 + "d"),
    "threshold": (0, -0.5, 1.5, "high", None, math.nan, math.inf, [0.9], {"v": 1}),
    "sample_rate": (0, 2, -0.1, "all", math.nan, None, [1]),
    "transform_ref": ("module.py", "a:b:c", "mod.py:1Class", 3, "", ":Job", [1]),
    "transform": ("not a transform", 3, True),
    "description": (3, [1], {"a": 1}),
    "expectations": ("x", 3, [3], {"a": 1}),
}


def spec_cases() -> Iterator[Case]:
    for feature in FEATURES:
        path = f"realtime_jobs/{feature}.yaml"
        text = (REPO / path).read_text()
        document = yaml.safe_load(text)

        case = functools.partial(_spec_case, feature)

        fields = _spec_fields(document)
        for dotted in fields:
            last = dotted.split(".")[-1]
            # missing key
            yield case(f"{dotted}-missing", _edited(document, dotted, _MISSING), (dotted, last, "transform"),
                       Expect.REJECT if dotted in _REQUIRED_SPEC or dotted.startswith("transform") else Expect.ANY,
                       spark=dotted not in _REQUIRED_SPEC and not dotted.startswith("transform"))
            # misspelled key
            yield case(f"{dotted}-misspelled", _renamed(document, dotted, last + "x"), (last + "x",))
            # mistyped value: every swap, must-reject only where the field's table says so
            for name, value in _TYPE_SWAPS:
                bad = any(_same(value, b) for b in _BAD_SPEC_VALUES.get(dotted, ()))
                yield case(f"{dotted}-type-{name}", _edited(document, dotted, value), (dotted, last, _shown(value)),
                           Expect.REJECT if bad else Expect.ANY, spark=not bad)
            for index, value in enumerate(_BAD_SPEC_VALUES.get(dotted, ())):
                yield case(f"{dotted}-bad-{index}", _edited(document, dotted, value),
                           (dotted, last, _shown(value), *_column_mentions(value)))
        # unknown keys at every mapping level
        for level in ("", "window", *(f"values.{v}" for v in document["values"]),
                      *(f"values.{v}.tolerance" for v in document["values"])):
            target = _edited(document, f"{level}.unknown_key" if level else "unknown_key", "surprise")
            yield case(f"unknown-key-{level or 'top'}", target, ("unknown_key",))
        for value in document["values"]:
            for side in ("abs", "rel"):
                for index, bad in enumerate((-1, -1e-9, "x", None, [1], math.nan, -math.inf, math.inf, "1e-3%")):
                    yield case(f"values.{value}.tolerance.{side}-bad-{index}",
                               _edited(document, f"values.{value}.tolerance.{side}", bad), (side, value, _shown(bad)))
        # values and keys whose columns the SQL does not output
        yield case("values-renamed", _renamed(document, f"values.{next(iter(document['values']))}", "not_in_sql"),
                   ("not_in_sql",))
        yield case("values-empty", _edited(document, "values", {}), ("values",))
        yield case("values-not-identifier", _renamed(document, f"values.{next(iter(document['values']))}",
                                                      "bad col"), ("bad col", "values"))
        yield case("keys-not-in-sql", _edited(document, "keys", ["not_in_sql"]), ("not_in_sql",))
        yield case("key-is-value", _edited(document, "keys", [next(iter(document["values"]))]),
                   ("key", "value", "keys"))
        yield case("both-transforms", _edited(_edited(document, "transform", [{"type": "Filter"}]),
                                              "transform_ref", "x.py:Job"), ("transform",))
        yield case("offline-query-missing-file", _edited(document, "offline_query", "offline_queries/nope.sql"),
                   ("missing",), also=("offline_queries/nope.sql",))
        yield case("offline-query-escapes", _edited(document, "offline_query", "../../../etc/passwd"),
                   ("passwd", "offline_query"), Expect.ANY, also=("etc/passwd",))
        # whole documents
        whole: tuple[tuple[str, bytes], ...] = (
            ("empty", b""), ("list", b"- a\n- b\n"), ("scalar", b"just a string\n"), ("number", b"42\n"),
            ("unclosed", b"feature: [ride\n"), ("tab-indent", b"feature: x\n\tsource: y\n"),
            ("bad-anchor", b"feature: *nope\n"), ("binary", b"\x00\xff\xfe garbage \x80"),
            ("latin1", (text + "# caf\xe9\n").encode("latin-1", "replace")),
            ("bom", b"\xef\xbb\xbf" + text.encode()), ("duplicate-key", (text + "\nsource: other\n").encode()),
            ("truncated-half", text[: len(text) // 2].encode()), ("truncated-third", text[: len(text) // 3].encode()),
            ("null-document", b"~\n"), ("deep", b"[" * 200 + b"]" * 200),
            ("deep-20000-flow", DEEP_FLOW), ("deep-20000-block", DEEP_BLOCK),
        )
        for kind, raw in whole:
            # a BOM and a repeated key are read; a truncated document may still be a whole spec
            expect = Expect.ANY if kind in ("bom", "duplicate-key") or kind.startswith("truncated") else Expect.REJECT
            yield case(f"document-{kind}", None, ("yaml", "YAML", "mapping", "line", "feature", "source", "utf-8",
                                                  "UTF-8", "key", "keys", "window", "values", "transform"),
                       expect, raw=raw)


def _spec_case(feature: str, kind: str, mutated: Any, mentions: tuple[str, ...], expect: Expect = Expect.REJECT,
               *, spark: bool = False, raw: bytes | None = None, also: tuple[str, ...] = ()) -> Case:
    path = f"realtime_jobs/{feature}.yaml"
    body = raw if raw is not None else yaml.safe_dump(mutated, sort_keys=False).encode()
    files = (path, f"offline_queries/{feature}.sql", f"offline query of {feature}", *also)
    return Case(f"spec-{feature}-{kind}", Area.SPEC, expect, files, mentions,
                writes=((path, body),), feature=feature, spark=spark)


def _spec_fields(document: dict[str, Any]) -> list[str]:
    fields = [key for key in document if key != "values" and key != "window"]
    fields += ["window", *(f"window.{key}" for key in document["window"]), "values"]
    fields += [f"values.{v}.tolerance.{s}" for v in document["values"] for s in document["values"][v]["tolerance"]]
    for optional in ("threshold", "sample_rate", "expectations", "window.slide"):
        if optional not in fields:
            fields.append(optional)
    return fields


def _column_mentions(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _shown(value: Any) -> str:
    """How an error message would show a value (one of several forms is enough)."""
    return repr(value) if isinstance(value, str) else str(value)


def _edited(document: Any, dotted: str, value: Any) -> Any:
    """A copy of `document` with the dotted path set to `value` (or removed for `_MISSING`)."""
    result = copy.deepcopy(document)
    *parents, last = dotted.split(".")
    node = result
    for part in parents:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[int(part)]
    if value is _MISSING:
        if isinstance(node, dict):
            node.pop(last, None)
    else:
        node[last] = value
    return result


def _renamed(document: Any, dotted: str, new: str) -> Any:
    result = copy.deepcopy(document)
    *parents, last = dotted.split(".")
    node = result
    for part in parents:
        node = node[part]
    if last in node:
        node[new] = node.pop(last)
    else:
        node[new] = "value"
    return result


# --- SQL ----------------------------------------------------------------------------------------------------


def sql_cases() -> Iterator[Case]:
    for feature in FEATURES:
        path = f"offline_queries/{feature}.sql"
        text = (REPO / path).read_text()
        tree = parse_query(text, path)
        files = (path, f"offline query of {feature}")
        case = functools.partial(_sql_case, feature)

        outer = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
        assert outer is not None
        for index, projection in enumerate(outer.expressions):
            name = projection.alias_or_name
            dropped = tree.copy()
            target = dropped if isinstance(dropped, exp.Select) else dropped.find(exp.Select)
            assert target is not None
            target.expressions[index].pop()
            yield case(f"drop-output-{name}", to_sql(dropped), (name,))
            renamed = tree.copy()
            target = renamed if isinstance(renamed, exp.Select) else renamed.find(exp.Select)
            assert target is not None
            target.expressions[index].replace(exp.alias_(target.expressions[index].unalias().copy(), f"{name}_x"))
            yield case(f"rename-output-{name}", to_sql(renamed), (name,))
        for index, node in enumerate(list(tree.find_all(exp.Func))):
            if isinstance(node, exp.Cast | exp.Case | exp.If | exp.Alias):
                continue
            mutated = tree.copy()
            twin = list(mutated.find_all(exp.Func))[index]
            args = [a.copy() for a in twin.args.values() if isinstance(a, exp.Expr)]
            twin.replace(exp.Anonymous(this="no_such_fn", expressions=args))
            yield case(f"unknown-function-{index}-{node.key}", to_sql(mutated), ("no_such_fn",), spark=True)
        for index, node in enumerate(list(tree.find_all(exp.Column))):
            mutated = tree.copy()
            list(mutated.find_all(exp.Column))[index].replace(exp.column("no_such_column"))
            yield case(f"unknown-column-{index}-{node.name}", to_sql(mutated),
                       ("no_such_column", "window", *(c.alias_or_name for c in outer.expressions)), spark=True)
        for index, node in enumerate(list(tree.find_all(exp.Table))):
            mutated = tree.copy()
            list(mutated.find_all(exp.Table))[index].set("this", exp.to_identifier("no_such_table"))
            yield case(f"unknown-table-{index}", to_sql(mutated), ("no_such_table", "ride_events", node.name),
                       Expect.ANY if node.name.lower() != "ride_events" else Expect.REJECT)
        for index, node in enumerate(list(tree.find_all(exp.Literal))):
            mutated = tree.copy()
            twin = list(mutated.find_all(exp.Literal))[index]
            wrong = exp.Literal.number(42) if node.is_string else exp.Literal.string("six")
            twin.replace(wrong)
            yield case(f"literal-type-{index}", to_sql(mutated), (node.this, "42", "six"), Expect.ANY, spark=True)
        # token edits: delete one token (may stay valid), or add a stray ')' after it (never valid)
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(text)
        for index, token in enumerate(tokens):
            deleted = text[: token.start] + text[token.end + 1 :]
            yield case(f"delete-token-{index}", deleted, (token.text, "parse", "column", "line"), Expect.ANY,
                       spark=True)
            if index % 3 == 0:
                stray = text[: token.end + 1] + " )" + text[token.end + 1 :]
                yield case(f"stray-paren-{index}", stray, (")", "parse", "line"))
        whole = (
            ("empty", ""), ("comment-only", "-- nothing here\n"), ("two-statements", text + ";\nSELECT 1"),
            ("ddl", "DROP TABLE ride_events"), ("insert", "INSERT INTO ride_events VALUES (1)"),
            ("star", "SELECT * FROM ride_events"), ("unclosed-quote", text.replace("'", "", 1)),
            ("unclosed-comment", "/* " + text), ("truncated", text[: len(text) // 2]),
            ("garbage", "\x00\x01 SELEKT frm"), ("binary", "\udcff"),
        )
        for kind, sql in whole:
            raw = sql.encode("utf-8", "surrogateescape")
            yield Case(f"sql-{feature}-document-{kind}", Area.SQL, Expect.REJECT, files,
                       ("parse", "SELECT", "statement", "statements", "column", "output", "*", "source", "UTF-8",
                        "utf-8", "line", "missing", "read"),
                       writes=((path, raw),), feature=feature)


def _sql_case(feature: str, kind: str, sql: str, mentions: tuple[str, ...], expect: Expect = Expect.REJECT,
              *, spark: bool = False) -> Case:
    path = f"offline_queries/{feature}.sql"
    return Case(f"sql-{feature}-{kind}", Area.SQL, expect, (path, f"offline query of {feature}"), mentions,
                writes=((path, sql.encode()),), feature=feature, spark=spark)


# --- SETTINGS -----------------------------------------------------------------------------------------------

BASE_PYPROJECT = (
    "[tool.parity]\n"
    'event_log = "events"\n'
    'online_log = "online"\n'
    'quarantine = "quarantine"\n'
    'reports = "reports"\n'
    'database = "sqlite:///parity.db"\n'
    'spark_master = "local[2]"\n'
    'beam_runner = "BundleBasedDirectRunner"\n'
)


def settings_cases() -> Iterator[Case]:
    path = "pyproject.toml"
    table = tomllib.loads(BASE_PYPROJECT)["tool"]["parity"]
    edits: list[tuple[str, str, str]] = [
        ("unknown-key", "colour = \"red\"\n", "colour"),
        ("event-log-int", "event_log = 3\n", "event_log"),
        ("beam-options-string", "beam_options = \"--x\"\n", "beam_options"),
        ("beam-options-ints", "beam_options = [1, 2]\n", "beam_options"),
        ("clock-skew-bad", "clock_skew_bound = \"soon\"\n", "clock_skew_bound"),
        ("clock-skew-negative", "clock_skew_bound = \"-5m\"\n", "clock_skew_bound"),
        ("clock-skew-float", "clock_skew_bound = 1.5\n", "clock_skew_bound"),
        ("database-list", "database = [\"x\"]\n", "database"),
    ]
    for kind, line, mention in edits:
        key = line.split("=")[0].strip()
        body = "".join(f"{k} = {_toml(v)}\n" for k, v in table.items() if k != key)
        yield Case(f"settings-{kind}", Area.SETTINGS, Expect.REJECT, (path,), (mention,),
                   writes=((path, ("[tool.parity]\n" + body + line).encode()),))
    for kind, raw in (("invalid-toml", b"[tool.parity\nevent_log = \n"), ("binary", b"\xff\xfe\x00"),
                      ("tool-not-table", b"tool = 3\n"), ("parity-not-table", b"[tool]\nparity = 3\n")):
        yield Case(f"settings-{kind}", Area.SETTINGS, Expect.REJECT, (path,),
                   ("TOML", "toml", "tool", "parity", "UTF-8", "utf-8", "table"), writes=((path, raw),))
    for kind, raw in (("deep-20000-flow", DEEP_FLOW), ("deep-20000-block", DEEP_BLOCK)):
        yield Case(f"settings-regions-{kind}", Area.SETTINGS, Expect.REJECT, ("regions.yaml",), ("YAML", "nested"),
                   writes=(("regions.yaml", raw),))


def _toml(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


# --- EVENTS -------------------------------------------------------------------------------------------------


def _set(table: pa.Table, column: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    index = table.schema.get_field_index(column)
    return table.set_column(index, pa.field(column, values.type), values)


def _drop(column: str) -> TableEdit:
    return lambda table: table.drop_columns([column])


def _cast(column: str, kind: pa.DataType) -> TableEdit:
    return lambda table: _set(table, column, pc.cast(table[column], kind, safe=False))


def _as_text(column: str) -> TableEdit:
    return lambda table: _set(table, column, pc.cast(pc.cast(table[column], pa.string()), pa.string()))


def _every_nth(column: str, value: Any, kind: pa.DataType | None = None, step: int = 7) -> TableEdit:
    """Every `step`-th row of `column` set to `value` (the first row included)."""

    def edit(table: pa.Table) -> pa.Table:
        values = table[column].to_pylist()
        for row in range(0, len(values), step):
            values[row] = value
        return _set(table, column, pa.array(values, kind or table.schema.field(column).type))

    return edit


def _reunit(column: str, unit: str, tz: str | None = "UTC") -> TableEdit:
    return lambda table: _set(table, column, pc.cast(table[column], pa.timestamp(unit, tz=tz), safe=False))


def _raw_ints(column: str, scale: int) -> TableEdit:
    """The column's instants as plain integers (seconds, ms, ...) in a timestamp[us] column: the wrong unit."""

    def edit(table: pa.Table) -> pa.Table:
        micros = pc.cast(table[column], pa.int64())
        return _set(table, column, pc.cast(pc.divide(micros, scale), pa.timestamp("us", tz="UTC")))

    return edit


def _shift(column: str, micros: int) -> TableEdit:
    def edit(table: pa.Table) -> pa.Table:
        values = pc.add(pc.cast(table[column], pa.int64()), micros)
        return _set(table, column, pc.cast(values, pa.timestamp("us", tz="UTC")))

    return edit


READ_BY_RIDE_REQUESTS = ("event_id", "event_time", "ingest_time", "event_type", "lat", "lon")
YEAR_US = 365 * 86_400 * 1_000_000


def event_cases() -> Iterator[Case]:
    names = ("event_id", "event_time", "ingest_time", "event_type", "city", "lat", "lon", "rider_id",
             "driver_id", "available", "eta_seconds", "device_id")
    for column in names:
        read = column in READ_BY_RIDE_REQUESTS
        expect = Expect.REJECT if read else Expect.ANY
        yield _event(f"drop-{column}", _drop(column), expect, (column,))
        yield _event(f"text-{column}", _as_text(column), Expect.ANY if column != "event_time"
                     and column != "ingest_time" else Expect.REJECT, (column, "string"))
        for name, kind in (("int", pa.int64()), ("float", pa.float64()), ("bool", pa.bool_()),
                           ("date", pa.date32()), ("binary", pa.binary())):
            try:
                pc.cast(pa.array([None], pa.string()), kind)
            except pa.ArrowException:
                continue
            yield _event(f"nulls-as-{name}-{column}", lambda t, c=column, k=kind: _set(t, c, pa.nulls(len(t), k)),
                         expect if column in ("event_id", "event_time", "ingest_time") else Expect.ANY,
                         (column, str(kind)))
        yield _event(f"all-null-{column}", lambda t, c=column: _set(t, c, pa.nulls(len(t), t.schema.field(c).type)),
                     Expect.ANY, (column,))
    for column in ("event_time", "ingest_time"):
        for unit in ("s", "ms", "ns"):
            yield _event(f"{column}-unit-{unit}", _reunit(column, unit), Expect.ANY, (column,))
        yield _event(f"{column}-naive", _reunit(column, "us", None), Expect.ANY, (column,))
        yield _event(f"{column}-tz-tokyo", _reunit(column, "us", "Asia/Tokyo"), Expect.ANY, (column,))
        yield _event(f"{column}-as-int", _cast(column, pa.int64()), Expect.REJECT, (column, "int64"))
        yield _event(f"{column}-as-float", lambda t, c=column: _set(t, c, pc.cast(pc.cast(t[c], pa.int64()),
                                                                                  pa.float64())),
                     Expect.REJECT, (column, "double"))
        yield _event(f"{column}-as-date", _cast(column, pa.date32()), Expect.REJECT, (column, "date32"))
        for name, scale in (("seconds", 1_000_000), ("millis", 1_000)):
            yield _event(f"{column}-wrong-unit-{name}", _raw_ints(column, scale), Expect.ANY, (column,))
        for name, years in (("year-2500", 476), ("year-1900", -124), ("year-9000", 6976), ("year-1", -2023)):
            yield _event(f"{column}-{name}", _shift_some(column, years), Expect.ANY, (column,))
        yield _event(f"{column}-some-null", _every_nth(column, None), Expect.ANY, (column,))
    for column, bound in (("lat", 90.0), ("lon", 180.0)):
        for name, value in (("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf), ("null", None),
                            ("over", bound + 1), ("under", -bound - 0.5), ("huge", 1e308)):
            # written past the quarantine by another tool: the check and the stream must still say something
            yield _event(f"foreign-{column}-{name}", _every_nth(column, value), Expect.ANY, (column,))
            yield _ingested(f"ingest-{column}-{name}", column, value)
    for column in ("event_id", "event_time", "ingest_time"):
        yield _ingested(f"ingest-{column}-null", column, None)
    yield _ingested("ingest-event_id-empty", "event_id", "  ")
    yield _ingested("ingest-event_time-year-1", "event_time", -62_135_596_800_000_000 - 1)
    # whole files
    for kind, raw in (("garbage", b"PAR1 not really parquet"), ("empty", b"")):
        yield Case(f"events-file-{kind}", Area.EVENTS, Expect.REJECT, (EVENT_FILE,),
                   ("Parquet", "parquet", "file", "unreadable"),
                   writes=(("events/ride_events/date=2024-06-03/hour=10/zz-bad.parquet", raw),))
    yield Case("events-file-truncated", Area.EVENTS, Expect.REJECT, (EVENT_FILE,),
               ("Parquet", "parquet", "file", "unreadable"), truncate=True)
    yield Case("events-partition-bad-date", Area.EVENTS, Expect.REJECT, ("date=2024-13-45",), ("date=",),
               writes=(("events/ride_events/date=2024-13-45/hour=10/part.parquet", b"x"),))
    yield Case("events-partition-bad-hour", Area.EVENTS, Expect.REJECT, ("hour=31",), ("hour=",),
               writes=(("events/ride_events/date=2024-06-03/hour=31/part.parquet", b"x"),))
    yield Case("events-partition-bad-name", Area.EVENTS, Expect.REJECT, ("day=3",), ("date=",),
               writes=(("events/ride_events/day=3/hour=10/part.parquet", b"x"),))


def _shift_some(column: str, years: int) -> TableEdit:
    """Every 7th row's instant moved `years` years (out of the partition it sits in, or out of range)."""

    def edit(table: pa.Table) -> pa.Table:
        micros = pc.cast(table[column], pa.int64()).to_pylist()
        for row in range(0, len(micros), 7):
            if micros[row] is not None:
                micros[row] += years * YEAR_US
        return _set(table, column, pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC")))

    return edit


def _event(kind: str, edit: TableEdit, expect: Expect, mentions: tuple[str, ...]) -> Case:
    return Case(f"events-{kind}", Area.EVENTS, expect, (EVENT_FILE, "ride_events", "offline query of ride_requests",
                                                        "realtime job of ride_requests"),
                mentions, edit=edit, spark=True)


def _ingested(kind: str, column: str, value: Any) -> Case:
    """Rows that `write_events` must quarantine: every 7th row of the base file gets `value` in `column`."""
    if column in ("event_time", "ingest_time") and value is not None:
        setter = _every_nth(column, value, pa.int64())

        def edit(table: pa.Table) -> pa.Table:
            changed = setter(_set(table, column, pc.cast(table[column], pa.int64())))
            return _set(changed, column, pc.cast(changed[column], pa.timestamp("us", tz="UTC")))
    else:
        edit = _every_nth(column, value)
    return Case(f"events-{kind}", Area.EVENTS, Expect.QUARANTINE, (EVENT_FILE,), (column,), ingest=edit,
                spark=True)


# --- ONLINE -------------------------------------------------------------------------------------------------


def online_cases() -> Iterator[Case]:
    columns = ("geohash6", "requests", "window_start", "window_end", "pane_timing", "pane_index")
    for column in columns:
        yield _online(f"drop-{column}", _drop(column), Expect.REJECT, (column,))
        yield _online(f"text-{column}", _as_text(column), Expect.REJECT if column.startswith("window") else Expect.ANY,
                      (column, "string"))
        for name, kind in (("int", pa.int64()), ("float", pa.float64()), ("bool", pa.bool_()), ("date", pa.date32()),
                           ("binary", pa.binary()), ("null", pa.null())):
            yield _online(f"nulls-as-{name}-{column}", lambda t, c=column, k=kind: _set(t, c, pa.nulls(len(t), k)),
                          Expect.REJECT if column.startswith("window") else Expect.ANY,
                          (column, str(kind)))
        yield _online(f"some-null-{column}", _every_nth(column, None), Expect.ANY, (column,))
        yield _online(f"all-null-{column}", lambda t, c=column: _set(t, c, pa.nulls(len(t), t.schema.field(c).type)),
                      Expect.ANY, (column,))
    yield _online("requests-float", _cast("requests", pa.float64()), Expect.ANY, ("requests",))
    yield _online("requests-nan", lambda t: _every_nth("requests", math.nan, pa.float64())(
        _cast("requests", pa.float64())(t)), Expect.ANY, ("requests",))
    yield _online("requests-inf", lambda t: _every_nth("requests", math.inf, pa.float64())(
        _cast("requests", pa.float64())(t)), Expect.ANY, ("requests",))
    yield _online("requests-negative", _every_nth("requests", -5), Expect.ANY, ("requests",))
    yield _online("requests-huge", _every_nth("requests", 2**62), Expect.ANY, ("requests",))
    # past 2**53 and beyond int64: compared exactly, never wrapped or rounded (`parity.compare`)
    yield _online("requests-uint64-max", lambda t: _every_nth("requests", 2**64 - 1, pa.uint64())(
        _cast("requests", pa.uint64())(t)), Expect.ANY, ("requests",))
    yield _online("requests-2-53-plus-1", _every_nth("requests", 2**53 + 1), Expect.ANY, ("requests",))
    yield _online("requests-decimal-38", _cast("requests", pa.decimal128(38, 0)), Expect.ANY, ("requests",))
    # keys that used to share a text with another key (`parity.sample.key_text`)
    for kind, key in (("nul-null", "\x00null"), ("mark-null", "\x01null"), ("true-text", "True"), ("nul-inside", "9q8\x00yy")):
        yield _online(f"geohash6-{kind}", _every_nth("geohash6", key), Expect.ANY, ("geohash6",))
    yield _online("extra-column", lambda t: t.append_column("surprise", pa.array(["x"] * len(t))), Expect.ANY,
                  ("surprise",))
    for column in ("window_start", "window_end"):
        for unit in ("s", "ms", "ns"):
            yield _online(f"{column}-unit-{unit}", _reunit(column, unit), Expect.ANY, (column,))
        yield _online(f"{column}-naive", _reunit(column, "us", None), Expect.ANY, (column,))
        yield _online(f"{column}-as-int", _cast(column, pa.int64()), Expect.REJECT, (column, "int64"))
        yield _online(f"{column}-year-9000", _shift_some(column, 6976), Expect.ANY, (column,))
        yield _online(f"{column}-shifted-30s", _shift(column, 30_000_000), Expect.ANY, (column,))
    yield _online("empty-table", lambda t: t.slice(0, 0), Expect.ANY, ("ride_requests",))
    for kind, raw in (("garbage", b"PAR1 nope"), ("empty", b"")):
        yield Case(f"online-file-{kind}", Area.ONLINE, Expect.REJECT, ("online/ride_requests",),
                   ("Parquet", "parquet", "file", "unreadable"),
                   writes=(("online/ride_requests/zz-bad.parquet", raw),), spark=True)


def _online(kind: str, edit: TableEdit, expect: Expect, mentions: tuple[str, ...]) -> Case:
    return Case(f"online-{kind}", Area.ONLINE, expect, (ONLINE_FILE,), mentions, edit=edit, spark=True)


# --- ALERT --------------------------------------------------------------------------------------------------

def _alert_case(rule: str, kind: str, mutated: Any, mentions: tuple[str, ...], expect: Expect = Expect.REJECT, *,
                raw: bytes | None = None, secret: str | None = None) -> Case:
    path = f"alerts/{rule}.yaml"
    body = raw if raw is not None else yaml.safe_dump(mutated, sort_keys=False).encode()
    return Case(f"alert-{rule}-{kind}", Area.ALERT, expect, (path,), mentions, writes=((path, body),), rule=rule,
                secret=secret)


_BAD_RULE_VALUES: dict[str, tuple[Any, ...]] = {
    "features": ([], "ride_requests", [3], None, ["no_such_feature"]),
    "when": ({}, {"breach": "urgent"}, {"explode": "critical"}, [], "breach", None, {"breach": None}),
    "agreement": ("cooked", 3, None),
    "resolve_after": (0, -1, "twice", 1.5, None),
    "renotify_after": ("-1h", "soon", "1.5h", 3, "", [1]),
    "bar": (0, 1.5, "high", math.nan),
    "name": ("other", 3),
    "description": (3, [1]),
    "condition": ("explode", 3),
    "severity": ("urgent", 3),
    "channels": ([], None, "console", [{}], [3], [{"type": "email"}], [{"type": ""}], [{"type": 3}]),
}
_BAD_CHANNEL_VALUES: dict[str, tuple[Any, ...]] = {
    "type": ("email", "", 3, None, "Console"),
    "timeout": ("-1s", "soon", "1.5s", "", 5, None),
    "backoff": ("-1s", "later", "", 1, None),
    "retries": (-1, 11, "many", 1.5, None),
    "url_env": (SECRET, "has space", "", 3, None, "1STARTS_WITH_DIGIT"),
    "routing_key_env": (SECRET, "R0123-secret-key", "", 3, None),
    "path": (3, None, [1], "/tmp/parity-fuzz-outside.jsonl", "../../outside.jsonl", "out/../../../outside.jsonl"),
    "url": (3, None),
}


def alert_cases() -> Iterator[Case]:
    for rule in RULES:
        path = f"alerts/{rule}.yaml"
        document = yaml.safe_load((REPO / path).read_text())

        case = functools.partial(_alert_case, rule)

        for key, values in _BAD_RULE_VALUES.items():
            for index, value in enumerate(values):
                mutated = _edited(document, key, value)
                if key in ("condition", "severity"):  # the shorthand form replaces `when`
                    mutated = _edited(_edited(mutated, "when", _MISSING), "condition" if key == "severity"
                                      else "severity", "breach" if key == "severity" else "critical")
                    mutated["condition" if key == "condition" else "severity"] = value
                yield case(f"{key}-bad-{index}", mutated, (key, _shown(value)))
            if key in document:
                yield case(f"{key}-misspelled", _renamed(document, key, key + "x"), (key + "x",))
                yield case(f"{key}-missing", _edited(document, key, _MISSING), (key,),
                           Expect.REJECT if key in ("when", "channels") else Expect.ANY)
        yield case("unknown-key", _edited(document, "unknown_key", 1), ("unknown_key",))
        yield case("bar-without-below", _edited(_edited(document, "when", {"breach": "critical"}), "bar", 0.9),
                   ("bar",))
        yield case("below-without-bar", _edited(_edited(document, "when", {"below": "warning"}), "bar", _MISSING),
                   ("bar", "below"))
        yield case("when-and-condition", _edited(document, "condition", "breach"), ("condition", "when"))
        for index, channel in enumerate(document["channels"]):
            for key, values in _BAD_CHANNEL_VALUES.items():
                for number, value in enumerate(values):
                    mutated = copy.deepcopy(document)
                    mutated["channels"][index][key] = value
                    secret = value if value == SECRET or value == "R0123-secret-key" else None
                    yield case(f"channel{index}-{key}-bad-{number}", mutated,
                               (f"channels.{index}.{key}", f"channels.{index}", key,
                                *(() if secret else (_shown(value),))), secret=secret)
            mutated = copy.deepcopy(document)
            mutated["channels"][index]["unknown_key"] = 1
            yield case(f"channel{index}-unknown-key", mutated, ("unknown_key",))
            mutated = copy.deepcopy(document)
            mutated["channels"][index] = {"type": "webhook", "url": "http://x", "url_env": "X"}
            yield case(f"channel{index}-webhook-both-urls", mutated, ("url",))
            mutated = copy.deepcopy(document)
            mutated["channels"][index] = {"type": "slack", "url": SECRET}
            yield case(f"channel{index}-slack-secret-url", mutated, ("url", "url_env"), secret=SECRET)
        for kind, raw in (("empty", b""), ("list", b"- a\n"), ("unclosed", b"when: {breach\n"),
                          ("binary", b"\x00\xff\xfe"), ("tab", b"when:\n\tbreach: critical\n"),
                          ("deep-20000-flow", DEEP_FLOW), ("deep-20000-block", DEEP_BLOCK)):
            yield case(f"document-{kind}", None, ("YAML", "yaml", "mapping", "UTF-8", "utf-8", "when"), raw=raw)
    yield Case("alert-bad-file-name", Area.ALERT, Expect.REJECT, ("alerts/Bad Name.yaml",), ("file name", "name"),
               writes=(("alerts/Bad Name.yaml", (REPO / "alerts/oncall.yaml").read_bytes()),), rule="oncall")


