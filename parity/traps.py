"""Porting traps: places where a feature's Beam job and its Spark SQL can be seen to mean different things.

`parity lint` reads both sides of an existing port without running either: the SQL through sqlglot
(`parity.query`), the job through Python's `ast` (a `transform_ref` module is parsed, never imported; the
Python expressions and callables of a Beam YAML `transform` likewise). Each side is reduced to what it
visibly does (the job to `JobFact`s: a row count, a distinct set, a floor division, a lowercasing, a local
clock, its own `WindowInto`, ...), and one function per trap compares them. A trap found is a
`TrapWarning` naming the SQL line, the job step, the trap and the fix: data, never an exception.

The checks are heuristics over what can be seen: a job that computes the same thing in a way they do not
recognise is not flagged, and a warning says what was seen on each side, so a reader can judge it. The
Spark vs Python facts behind each trap are in SEMANTICS.md (parity's Spark session is always UTC,
`parity.offline`). A query window that differs from the spec's is not a trap here: `lint_query` already
rejects it as an error.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlglot import exp

from parity.errors import SpecError
from parity.query import DIALECT, read_query
from parity.spec import FeatureSpec, format_duration, project_path


class Trap(enum.Enum):
    COUNT_NULLS = "count_nulls"
    INTEGER_DIVISION = "integer_division"
    AVG_INTEGER = "avg_integer"
    CASE_SENSITIVITY = "case_sensitivity"
    LOCAL_TIME = "local_time"
    DISTINCT_COUNT = "distinct_count"
    WINDOW = "window"


@dataclass(frozen=True, slots=True)
class SqlPlace:
    """A line of the offline query and the SQL found there."""

    file: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class JobStep:
    """Where in the job: a Beam YAML transform (index, type, field) or a line of a Python job file.

    Neither (only `file`) means the job as a whole, for a trap that is about what the job does not do.
    """

    file: str
    index: int | None = None
    type: str | None = None
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.index is not None:
            return f"{self.file} transform[{self.index}] {self.type} {self.field or ''}".rstrip()
        if self.line is not None:
            return f"{self.file}:{self.line}"
        return f"{self.file} (the whole job)"


@dataclass(frozen=True, slots=True)
class TrapWarning:
    feature: str
    trap: Trap
    sql: SqlPlace
    job: JobStep
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.sql}: warning: {self.trap.value}: {self.problem} [job: {self.job}]; fix: {self.fix}"


# --- what the job visibly does ----------------------------------------------------------------------------


class Fact(enum.Enum):
    ROW_COUNT = "counts rows"
    MEAN = "averages"
    DISTINCT = "keeps distinct values"
    NONE_FILTER = "drops None"
    FLOOR_DIV = "floor-divides"
    MEAN_FLOOR = "floors a mean"
    TRUE_DIV = "divides"
    CASE_FOLD = "changes case"
    STRING_COMPARE = "compares strings"
    LOCAL_CLOCK = "reads a local or processing-time clock"
    TIME_ZONE = "converts to a time zone"
    REWINDOW = "windows the elements itself"
    EVENT_TIME = "reads event_time"


@dataclass(frozen=True, slots=True)
class JobFact:
    fact: Fact
    step: JobStep
    column: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    """What can be seen of a feature's job: the file it is written in and its facts, in source order."""

    file: str
    facts: tuple[JobFact, ...]

    def of(self, *kinds: Fact) -> list[JobFact]:
        return [f for f in self.facts if f.fact in kinds]

    def whole(self) -> JobStep:
        return JobStep(self.file)


def read_job(spec: FeatureSpec, project: Path) -> Job:
    """The facts of a feature's job, from its YAML `transform` or its `transform_ref` module (parsed, not run).

    A job file that cannot be read or parsed is a `SpecError` naming the spec and the file: `parity stream`
    would fail on it too.
    """
    spec_file = _shown(spec.path, project)
    if spec.transform_yaml is not None:
        return Job(spec_file, tuple(_yaml_facts(yaml.safe_load(spec.transform_yaml), spec_file)))
    assert spec.transform_ref is not None
    relative = spec.transform_ref.split(":")[0]
    try:
        source = project_path(project, relative).read_text()
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise SpecError(spec_file, "transform_ref", f"{relative}: cannot read the job: {reason}") from exc
    try:
        tree = ast.parse(source, filename=relative)
    except (SyntaxError, ValueError) as exc:
        where = f"line {exc.lineno}: {exc.msg}" if isinstance(exc, SyntaxError) else str(exc)
        raise SpecError(spec_file, "transform_ref", f"{relative}: {where}; fix the job") from exc
    facts = _python_facts(tree, lambda node: JobStep(relative, line=getattr(node, "lineno", 1)), _Names(python_job=True))
    return Job(relative, tuple(sorted(facts, key=lambda fact: fact.step.line or 0)))


@dataclass(frozen=True, slots=True)
class _Names:
    """How to read bare names. In a Python job they are locals; in a YAML expression they are fields, and
    earlier steps made some of them lists (Combine `group`) or means (Combine `mean`)."""

    python_job: bool
    lists: frozenset[str] = frozenset()
    means: frozenset[str] = frozenset()


_CLOCK_CALLS = {"now", "today", "utcnow", "localtime", "mktime", "time"}
_ZONE_CALLS = {"ZoneInfo", "gettz", "tz_convert", "tz_localize", "timezone"}
_FLOORS = {"int", "floor", "trunc", "round"}
_DISTINCT_CALLS = {"set", "frozenset", "Distinct", "ToSetCombineFn", "ToDictCombineFn", "ApproximateUnique"}


def _python_facts(tree: ast.AST, step: Callable[[ast.AST], JobStep], names: _Names) -> Iterator[JobFact]:
    """The facts of one piece of Python: a whole job module, or one YAML expression or callable."""
    distinct_classes = {
        id(node) for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and any(_makes_set(inner) for inner in ast.walk(node))
    }
    in_distinct_class = {id(inner) for node in ast.walk(tree) if id(node) in distinct_classes for inner in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.FloorDiv):
            yield JobFact(Fact.MEAN_FLOOR if _mean_like(node, names) else Fact.FLOOR_DIV, step(node),
                          detail=ast.unparse(node))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            yield JobFact(Fact.TRUE_DIV, step(node), detail=ast.unparse(node))
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and _is_one(node.value):
            yield JobFact(Fact.ROW_COUNT, step(node), detail=ast.unparse(node))
        elif isinstance(node, ast.Compare):
            yield from _compare_facts(node, step)
        elif isinstance(node, ast.Call):
            yield from _call_facts(node, step, names, inside_distinct=id(node) in in_distinct_class)
        elif isinstance(node, (ast.Set, ast.SetComp)):
            yield JobFact(Fact.DISTINCT, step(node), detail=ast.unparse(node)[:60])
        elif isinstance(node, (ast.Name, ast.Attribute)) and _column(node) == "event_time":
            yield JobFact(Fact.EVENT_TIME, step(node), "event_time", ast.unparse(node))


def _call_facts(node: ast.Call, step: Callable[[ast.AST], JobStep], names: _Names, *,
                inside_distinct: bool) -> Iterator[JobFact]:
    name = _callee(node)
    shown = ast.unparse(node)[:80]
    argument = node.args[0] if node.args else None
    if name in ("lower", "upper", "casefold") and isinstance(node.func, ast.Attribute):
        yield JobFact(Fact.CASE_FOLD, step(node), _column(node.func.value), shown)
    elif name in _FLOORS and len(node.args) == 1 and argument is not None and (
        (isinstance(argument, ast.BinOp) and isinstance(argument.op, ast.Div)) or _column(argument) in names.means
    ):
        kind = Fact.MEAN_FLOOR if _mean_like(argument, names) else Fact.FLOOR_DIV
        yield JobFact(kind, step(node), detail=shown)
    elif name in _CLOCK_CALLS and (name != "time" or _dotted(node.func) == "time.time"):
        yield JobFact(Fact.LOCAL_CLOCK, step(node), detail=shown)
    elif name == "fromtimestamp" and len(node.args) < 2 and not node.keywords:
        yield JobFact(Fact.LOCAL_CLOCK, step(node), detail=f"{shown} (no tz: the machine's local time)")
    elif name == "astimezone":
        yield JobFact(Fact.TIME_ZONE if node.args else Fact.LOCAL_CLOCK, step(node), detail=shown)
    elif name in _ZONE_CALLS and node.args and not _is_utc(node.args[0]):
        yield JobFact(Fact.TIME_ZONE, step(node), detail=shown)
    elif _counts_rows(node, names, inside_distinct):
        yield JobFact(Fact.ROW_COUNT, step(node), detail=shown)
    elif name in ("Mean", "MeanCombineFn") or _dotted(node.func).endswith("Mean.PerKey"):
        yield JobFact(Fact.MEAN, step(node), detail=shown)
    elif name in _DISTINCT_CALLS:
        yield JobFact(Fact.DISTINCT, step(node), detail=shown)
    elif name == "add" and isinstance(node.func, ast.Attribute) and argument is not None:
        mentioned = {_column(n) for n in ast.walk(argument)}
        if "event_id" in mentioned and inside_distinct:
            yield JobFact(Fact.DISTINCT, step(node), "event_id", shown)
    elif name == "WindowInto":
        yield JobFact(Fact.REWINDOW, step(node), detail=_window_of_call(node))
    elif name == "TimestampedValue":
        yield JobFact(Fact.REWINDOW, step(node), detail=f"{shown} (re-stamps the elements)")


def _compare_facts(node: ast.Compare, step: Callable[[ast.AST], JobStep]) -> Iterator[JobFact]:
    column = _column(node.left)
    for op, right in zip(node.ops, node.comparators, strict=True):
        if isinstance(op, ast.IsNot) and isinstance(right, ast.Constant) and right.value is None and column:
            yield JobFact(Fact.NONE_FILTER, step(node), column, ast.unparse(node))
        elif isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) and _holds_strings(right) and column:
            yield JobFact(Fact.STRING_COMPARE, step(node), column, ast.unparse(node))


def _counts_rows(call: ast.Call, names: _Names, inside_distinct: bool) -> bool:
    """Beam's `Count.PerKey()`/`Count.Globally()`/`CountCombineFn()`, `sum(1 for ...)`, and `len(x)` when x is
    a list of the rows (not a set, not a dict of distinct ids)."""
    name = _callee(call)
    if name in ("PerKey", "Globally", "PerElement"):
        return _dotted(call.func).endswith("Count." + name)
    if name == "CountCombineFn":
        return True
    argument = call.args[0] if len(call.args) == 1 else None
    if name == "sum":
        return isinstance(argument, ast.GeneratorExp) and _is_one(argument.elt)
    if name != "len" or argument is None:
        return False
    if isinstance(argument, (ast.List, ast.ListComp, ast.Tuple)):
        return True
    if isinstance(argument, ast.Call):
        return _callee(argument) in ("list", "tuple", "sorted")
    if isinstance(argument, ast.Name):
        # In a Python job `len(rows)` counts rows unless it sits in a CombineFn that accumulates sets; in a
        # YAML expression a bare name is a field, a row count only when a Combine `group` made it a list.
        return argument.id in names.lists or (names.python_job and not inside_distinct)
    return False


def _mean_like(node: ast.expr, names: _Names) -> bool:
    """`sum(...) // len(...)`, `total / count` and the like: a mean being computed (or a Combine `mean` field)."""
    if _column(node) in names.means:
        return True
    if not isinstance(node, ast.BinOp):
        return False
    left = {_callee(n) for n in ast.walk(node.left) if isinstance(n, ast.Call)} | {_column(n) for n in ast.walk(node.left)}
    right = {_callee(n) for n in ast.walk(node.right) if isinstance(n, ast.Call)} | {_column(n) for n in ast.walk(node.right)}
    return bool({"sum", "total"} & left) and bool({"len", "count", "n"} & right)


def _makes_set(node: ast.AST) -> bool:
    return isinstance(node, (ast.Set, ast.SetComp)) or (isinstance(node, ast.Call) and _callee(node) in ("set", "frozenset"))


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _column(node: ast.AST) -> str | None:
    """The event field an expression names: `x` (a YAML field), `row.x`, `row['x']`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    return None


def _is_one(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 1 and not isinstance(node.value, bool)


def _holds_strings(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    return False


def _is_utc(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.upper() in ("UTC", "ETC/UTC")


def _window_of_call(node: ast.Call) -> str:
    """`WindowInto(FixedWindows(120))` -> 'FixedWindows(120): 2m'; the size and period when they are constants."""
    if not node.args or not isinstance(node.args[0], ast.Call):
        return ast.unparse(node)[:80]
    fn = node.args[0]
    seconds = [a.value for a in fn.args if isinstance(a, ast.Constant) and isinstance(a.value, (int, float))]
    shown = ast.unparse(fn)
    if _callee(fn) == "FixedWindows" and seconds:
        return f"{shown}: {format_duration(int(seconds[0] * 1_000_000))} tumbling"
    if _callee(fn) == "SlidingWindows" and len(seconds) >= 2:
        size, slide = (format_duration(int(s * 1_000_000)) for s in seconds[:2])
        return f"{shown}: {size} sliding by {slide}"
    return shown


def _yaml_facts(document: Any, spec_file: str) -> Iterator[JobFact]:
    """The facts of a Beam YAML `transform`: each step's Python expressions and callables, its Combine
    functions and any windowing of its own. Expressions in another `language` are not read."""
    steps = document.get("transforms", [document]) if isinstance(document, dict) else []
    steps = steps if isinstance(steps, list) else [document]
    names = _Names(python_job=False)
    for index, step in enumerate(s for s in steps if isinstance(s, dict)):
        kind = str(step.get("type", "?"))
        config: dict[str, Any] = step["config"] if isinstance(step.get("config"), dict) else {}
        where = JobStep(spec_file, index, kind)
        if kind == "WindowInto" or "windowing" in step:
            windowing = config.get("windowing", step.get("windowing"))
            yield JobFact(Fact.REWINDOW, _at(where, "windowing"), detail=f"windowing {windowing}")
        python = config.get("language") == "python"
        if kind == "Filter" and python:
            yield from _expression_facts(config.get("keep"), _at(where, "config.keep"), names)
        elif kind == "MapToFields" and python and isinstance(config.get("fields"), dict):
            for field, value in config["fields"].items():
                yield from _expression_facts(value, _at(where, f"config.fields.{field}"), names)
        elif kind == "Combine" and isinstance(config.get("combine"), dict):
            lists, means = set(names.lists), set(names.means)
            for field, aggregate in config["combine"].items():
                at = _at(where, f"config.combine.{field}")
                spelled = aggregate if isinstance(aggregate, dict) else {"fn": aggregate, "value": field}
                fn = spelled.get("fn")
                fn_name = str(fn.get("type", "") if isinstance(fn, dict) else fn).rsplit(".", 1)[-1]
                value = spelled.get("value", field)
                first = _first_field(value)
                if fn_name == "count":
                    yield JobFact(Fact.ROW_COUNT, at, first, f"Combine count of {value}")
                elif fn_name in ("mean", "MeanCombineFn"):
                    means.add(field)
                    yield JobFact(Fact.MEAN, at, first, f"Combine mean of {value}")
                elif fn_name in ("group", "ToListCombineFn", "concat"):
                    lists.add(field)
                elif fn_name in _DISTINCT_CALLS:
                    yield JobFact(Fact.DISTINCT, at, first, f"{fn_name} of {value}")
                if python and isinstance(value, str):
                    yield from _expression_facts(value, _at(at, "value"), names)
            names = _Names(False, frozenset(lists), frozenset(means))


def _at(step: JobStep, field: str) -> JobStep:
    return JobStep(step.file, step.index, step.type, field if step.field is None else f"{step.field}.{field}")


def _expression_facts(value: Any, step: JobStep, names: _Names) -> Iterator[JobFact]:
    """One YAML Python field: an expression string, or `{expression: ...}` / `{callable: ...}`."""
    if isinstance(value, dict):
        code, mode = (value.get("callable"), "exec") if "callable" in value else (value.get("expression"), "eval")
    else:
        code, mode = value, "eval"
    if not isinstance(code, str):
        return
    try:
        tree = ast.parse(code.strip() if mode == "eval" else code, mode=mode)
    except (SyntaxError, ValueError) as exc:
        problem = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise SpecError(step.file, f"transform[{step.index}].{step.field}", f"not Python: {problem}") from exc
    yield from _python_facts(tree, lambda _node: step, names)


def _first_field(value: Any) -> str | None:
    """The field a Combine value reads first: `event_id`, or `event_id` of `(event_id, eta_seconds)`."""
    try:
        node = ast.parse(str(value).strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    if isinstance(node, ast.Tuple) and node.elts:
        node = node.elts[0]
    return _column(node)


# --- what the query visibly does ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """The parsed offline query and the file it came from."""

    file: str
    tree: exp.Query

    def place(self, node: exp.Expr) -> SqlPlace:
        return SqlPlace(self.file, _line(node), node.sql(dialect=DIALECT)[:80])

    def first_line(self) -> SqlPlace:
        return SqlPlace(self.file, _line(self.tree), "")

    def not_null(self) -> set[str]:
        """Columns some WHERE keeps non-null (`x IS NOT NULL`): a COUNT(x) under it counts every row."""
        found: set[str] = set()
        for where in self.tree.find_all(exp.Where):
            for test in where.find_all(exp.Not):
                if isinstance(test.this, exp.Is) and isinstance(test.this.this, exp.Column):
                    found.add(test.this.this.name.lower())
        return found

    def time_anchor(self) -> SqlPlace:
        """Where the query reads calendar time: an hour()/date_format()/... call, else its window(), else line 1."""
        calendar = next(iter(self.tree.find_all(*_CALENDAR)), None)
        if calendar is not None:
            return self.place(calendar)
        window = next((c for c in self.tree.find_all(exp.Anonymous) if c.name.lower() == "window"), None)
        return self.place(window) if window is not None else self.first_line()

    def dedupes_event_id(self) -> exp.Expr | None:
        """A `SELECT DISTINCT ... event_id ...`, a `GROUP BY event_id` or a `COUNT(DISTINCT event_id)`: the
        query counts a duplicate delivery once."""
        for select in self.tree.find_all(exp.Select):
            if select.args.get("distinct") is not None and "event_id" in {p.alias_or_name.lower() for p in select.expressions}:
                return select
            group: exp.Group | None = select.args.get("group")
            if group is not None and any(isinstance(g, exp.Column) and g.name.lower() == "event_id" for g in group.expressions):
                return group
        for count in self.tree.find_all(exp.Count):
            if isinstance(count.this, exp.Distinct) and "event_id" in _columns(count.this):
                return count
        return None


_CALENDAR = (exp.Hour, exp.Minute, exp.DayOfWeek, exp.DayOfMonth, exp.DayOfYear, exp.TimeToStr, exp.Day,
             exp.Month, exp.Year, exp.TimestampTrunc, exp.DateTrunc)
_ZONE_CONVERSIONS = (exp.AtTimeZone, exp.FromTimeZone, exp.ConvertTimezone)


def read_sql(spec: FeatureSpec, project: Path) -> Query:
    return Query(_shown(spec.offline_query, project), read_query(spec, project))


def _line(node: exp.Expr) -> int:
    """The line a node starts on: its own token's, else the first token found inside it (sqlglot keeps
    positions on identifiers, literals and function names), else its parent's."""
    for inner in node.walk():
        line = inner.meta.get("line") if inner.meta else None
        if isinstance(line, int):
            return line
    return _line(node.parent) if node.parent is not None else 1


def _columns(node: exp.Expr) -> set[str]:
    return {c.name.lower() for c in node.find_all(exp.Column)}


def _sql_compared(query: Query) -> list[tuple[str, exp.Expr]]:
    """Case-sensitive string comparisons: `col = 'x'`, `col IN ('a', 'b')`, `col LIKE 'p%'` on a bare column."""
    found: list[tuple[str, exp.Expr]] = []
    for node in query.tree.find_all(exp.EQ, exp.NEQ, exp.In, exp.Like):
        column = node.this
        others = node.expressions if isinstance(node, exp.In) else [node.expression]
        if isinstance(column, exp.Column) and any(isinstance(o, exp.Literal) and o.is_string for o in others):
            found.append((column.name.lower(), node))
    return found


def _sql_folded(query: Query) -> list[tuple[str, exp.Expr]]:
    """Case-insensitive reads of a column: `lower(col)`, `upper(col)`, `col ILIKE ...`."""
    found: list[tuple[str, exp.Expr]] = []
    for node in query.tree.find_all(exp.Lower, exp.Upper, exp.ILike):
        found.extend((column, node) for column in sorted(_columns(node.this)))
    return found


# --- the traps: one function each, over the two sides -------------------------------------------------------


def count_nulls(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """`COUNT(col)` skips nulls, a job's row count does not; and `COUNT(*)` counts rows a job that drops
    `None` before counting does not."""
    counts = job.of(Fact.ROW_COUNT)
    if not counts:
        return
    dropped = {f.column.lower(): f for f in job.of(Fact.NONE_FILTER) if f.column}
    kept_non_null = query.not_null()
    for count in query.tree.find_all(exp.Count):
        if isinstance(count.this, exp.Column):
            column = count.this.name.lower()
            if column not in kept_non_null and column not in dropped:
                yield TrapWarning(
                    spec.name, Trap.COUNT_NULLS, query.place(count), counts[0].step,
                    f"{count.sql(dialect=DIALECT)} skips rows whose {column} is null; the job counts every row "
                    f"({counts[0].detail})",
                    f"drop rows whose {column} is None before the job counts them, or write COUNT(*) if they count",
                )
        elif isinstance(count.this, exp.Star) or (isinstance(count.this, exp.Literal) and not count.this.is_string):
            for column, dropping in dropped.items():
                if column not in kept_non_null:
                    yield TrapWarning(
                        spec.name, Trap.COUNT_NULLS, query.place(count), dropping.step,
                        f"{count.sql(dialect=DIALECT)} counts rows whose {column} is null; the job drops them "
                        f"before counting ({dropping.detail})",
                        f"add `{column} IS NOT NULL` to the query's WHERE, or keep None rows in the job",
                    )


def integer_division(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """Spark's `/` gives a double (never floors); `DIV` floors. A job that floors where the SQL divides, or
    divides where the SQL floors. A floor the query's AVG explains is `avg_integer`'s."""
    divisions = list(query.tree.find_all(exp.Div, exp.SafeDivide))
    averages = next(query.tree.find_all(exp.Avg), None)
    floors = job.of(Fact.FLOOR_DIV) + ([] if averages is not None else job.of(Fact.MEAN_FLOOR))
    if divisions:
        for floor in floors:
            yield TrapWarning(
                spec.name, Trap.INTEGER_DIVISION, query.place(divisions[0]), floor.step,
                f"Spark's {divisions[0].sql(dialect=DIALECT)} is a double division (5 / 2 = 2.5); "
                f"the job floors ({floor.detail})",
                "divide with `/` in the job (true division), or write `a DIV b` in the SQL if a whole number is meant",
            )
    true_divisions = job.of(Fact.TRUE_DIV)
    for floor_sql in query.tree.find_all(exp.IntDiv):
        if true_divisions and not job.of(Fact.FLOOR_DIV, Fact.MEAN_FLOOR):
            yield TrapWarning(
                spec.name, Trap.INTEGER_DIVISION, query.place(floor_sql), true_divisions[0].step,
                f"{floor_sql.sql(dialect=DIALECT)} is an integer division in Spark (5 DIV 2 = 2); the job divides "
                f"with `/` ({true_divisions[0].detail}) and gets 2.5",
                "truncate toward zero in the job as DIV does (-7 DIV 2 = -3, int(a / b); Python's -7 // 2 = -4), "
                "or write `/` in the SQL",
            )


def avg_integer(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """`AVG` over integers is a double in Spark; a job that floors its mean (`//`, `int()`, `round()`) is not."""
    average = next(query.tree.find_all(exp.Avg), None)
    if average is None:
        return
    divisions = next(query.tree.find_all(exp.Div, exp.SafeDivide), None)
    floors = job.of(Fact.MEAN_FLOOR) + ([] if divisions is not None else job.of(Fact.FLOOR_DIV))
    for floor in floors:
        yield TrapWarning(
            spec.name, Trap.AVG_INTEGER, query.place(average), floor.step,
            f"Spark's {average.sql(dialect=DIALECT)} is a double even over integers; the job's mean is floored "
            f"or rounded ({floor.detail})",
            "compute the mean with true division (sum / count) and no int()/round(), as Beam's Mean does",
        )


def case_sensitivity(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """SQL `=`/`IN`/`LIKE` compare strings case-sensitively; `lower()`/`upper()`/`ILIKE` on one side only
    makes 'SF' and 'sf' one value there and two on the other side."""
    job_folded = {f.column.lower(): f for f in job.of(Fact.CASE_FOLD) if f.column}
    job_compared = {f.column.lower(): f for f in job.of(Fact.STRING_COMPARE) if f.column}
    sql_folded = dict(reversed(_sql_folded(query)))
    for column, node in sql_folded.items():
        if column in job_compared and column not in job_folded:
            yield TrapWarning(
                spec.name, Trap.CASE_SENSITIVITY, query.place(node), job_compared[column].step,
                f"the SQL ignores the case of {column} ({node.sql(dialect=DIALECT)}); the job compares it "
                f"case-sensitively ({job_compared[column].detail})",
                f"apply the same .lower()/.upper() to {column} in the job, or drop it from the SQL",
            )
    for column, node in dict(reversed(_sql_compared(query))).items():
        if column in job_folded and column not in sql_folded:
            yield TrapWarning(
                spec.name, Trap.CASE_SENSITIVITY, query.place(node), job_folded[column].step,
                f"{node.sql(dialect=DIALECT)} is case-sensitive in Spark; the job changes the case of {column} "
                f"first ({job_folded[column].detail})",
                f"compare lower({column}) in the SQL too, or drop the case change from the job",
            )


def local_time(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """parity's Spark session is UTC and the job's elements carry UTC event times. A conversion to a local
    time zone on one side only, or a job reading the machine's clock or local time, shifts hours and days."""
    conversions = list(query.tree.find_all(*_ZONE_CONVERSIONS))
    zones = job.of(Fact.TIME_ZONE)
    reads_time = job.of(Fact.EVENT_TIME)
    for conversion in conversions:
        if not zones:
            yield TrapWarning(
                spec.name, Trap.LOCAL_TIME, query.place(conversion), reads_time[0].step if reads_time else job.whole(),
                f"{conversion.sql(dialect=DIALECT)} converts to local time; the job works on UTC event times "
                "and converts nothing",
                "convert in the job with the same zone (zoneinfo.ZoneInfo), or keep the SQL in UTC",
            )
    if not conversions:
        for zone in zones:
            yield TrapWarning(
                spec.name, Trap.LOCAL_TIME, query.time_anchor(), zone.step,
                f"the job converts times to a zone ({zone.detail}); the query works in UTC (parity's session "
                "time zone)",
                "keep the job in UTC, or apply from_utc_timestamp(..., zone) in the SQL too",
            )
    for clock in job.of(Fact.LOCAL_CLOCK):
        yield TrapWarning(
            spec.name, Trap.LOCAL_TIME, query.time_anchor(), clock.step,
            f"the job reads local or processing time ({clock.detail}); the query reads UTC event time",
            "read times from the element's event_time (int microseconds UTC) with "
            "datetime.fromtimestamp(event_time / 1_000_000, tz=datetime.UTC)",
        )


def distinct_count(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """A distinct count or an event_id deduplication on one side only: duplicates (a re-delivered event, a
    driver pinging twice) counted once by one side and every time by the other."""
    distinct = job.of(Fact.DISTINCT)
    aggregates = job.of(Fact.ROW_COUNT, Fact.MEAN)
    dedupe = query.dedupes_event_id()
    if aggregates and not distinct:
        for count in query.tree.find_all(exp.Count):
            if isinstance(count.this, exp.Distinct):
                counted = ", ".join(sorted(_columns(count.this))) or count.this.sql(dialect=DIALECT)
                why = ("a re-delivered event counts once offline and every time online" if counted == "event_id"
                       else f"the job counts rows, not distinct {counted}")
                yield TrapWarning(
                    spec.name, Trap.DISTINCT_COUNT, query.place(count), aggregates[0].step,
                    f"{count.sql(dialect=DIALECT)} counts distinct values; {why} ({aggregates[0].detail})",
                    f"count a set of {counted} per cell in the job (ToSetCombineFn, then len)",
                )
        if dedupe is not None and not isinstance(dedupe, exp.Count):
            yield TrapWarning(
                spec.name, Trap.DISTINCT_COUNT, query.place(dedupe), aggregates[0].step,
                "the query deduplicates events by event_id; the job aggregates every delivery "
                f"({aggregates[0].detail})",
                "keep one element per event_id in the job (ToDictCombineFn keyed by event_id, or a set of ids)",
            )
    by_event = [f for f in distinct if f.column == "event_id"]
    if by_event and dedupe is None:
        for count in query.tree.find_all(exp.Count):
            if not isinstance(count.this, exp.Distinct):
                yield TrapWarning(
                    spec.name, Trap.DISTINCT_COUNT, query.place(count), by_event[0].step,
                    f"{count.sql(dialect=DIALECT)} counts every delivery of an event; the job keeps one per "
                    f"event_id ({by_event[0].detail})",
                    "write COUNT(DISTINCT event_id) in the SQL, or count every row in the job",
                )


def window(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """parity windows the events by the spec before the job sees them (and `lint_query` checks the query's
    window against the spec). A job that windows or re-stamps its elements itself replaces that window."""
    call = next((c for c in query.tree.find_all(exp.Anonymous) if c.name.lower() == "window"), None)
    place = query.place(call) if call is not None else query.first_line()
    for rewindow in job.of(Fact.REWINDOW):
        yield TrapWarning(
            spec.name, Trap.WINDOW, place, rewindow.step,
            f"the job applies its own windowing ({rewindow.detail}) over the spec's {spec.window.describe()}, "
            "which parity has already applied",
            "remove the job's WindowInto/TimestampedValue; set the window in the spec's `window:`",
        )


TRAPS: tuple[Callable[[Query, Job, FeatureSpec], Iterator[TrapWarning]], ...] = (
    count_nulls, integer_division, avg_integer, case_sensitivity, local_time, distinct_count, window,
)


def find_traps(spec: FeatureSpec, project: Path) -> list[TrapWarning]:
    """Every trap warning of one feature, trap by trap in `TRAPS` order. SQL or job files that cannot be read
    are `SpecError`s (run `lint_query` first: it reports the query's)."""
    query, job = read_sql(spec, project), read_job(spec, project)
    return [warning for trap in TRAPS for warning in trap(query, job, spec)]


def _shown(path: Path, project: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.resolve()))
    except ValueError:
        return str(path)
