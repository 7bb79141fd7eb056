"""Reading a port's job without running it: a `transform_ref` module through Python's `ast` (parsed, never
imported), a Beam YAML `transform`'s steps and their Python expressions and callables likewise.

The job is reduced to `JobFact`s, each naming its step: what it visibly does (counts rows, keeps distinct
values, floor-divides, lowercases a column, reads the machine's clock, windows its elements itself, ...).
Only top-level YAML steps are read; expressions in another `language` than python are not.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.errors import SpecError
from parity.query import _shown
from parity.spec import FeatureSpec, project_path
from parity.units import format_duration
from parity.yamlfile import load_yaml


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


class Fact(enum.Enum):
    ROW_COUNT = "counts rows"
    NON_NULL_COUNT = "counts the values that are not None"
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
        return Job(spec_file, tuple(_yaml_facts(load_yaml(spec.transform_yaml), spec_file)))
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
_DISTINCT_CALLS = {"set", "frozenset", "Distinct", "ToSetCombineFn", "ToDictCombineFn", "ApproximateUnique",
                   "CountDistinct"}  # parity.port.combine's


def _python_facts(tree: ast.AST, step: Callable[[ast.AST], JobStep], names: _Names) -> Iterator[JobFact]:
    """The facts of one piece of Python: a whole job module, or one YAML expression or callable."""
    distinct_classes = {
        id(node) for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and any(_makes_set(inner) for inner in ast.walk(node))
    }
    in_distinct_class = {id(inner) for node in ast.walk(tree) if id(node) in distinct_classes for inner in ast.walk(node)}
    # `x in {"a", "b"}` tests membership; a set literal there keeps nothing distinct
    membership = {id(right) for node in ast.walk(tree) if isinstance(node, ast.Compare) for right in node.comparators}
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
        elif isinstance(node, (ast.Set, ast.SetComp)) and id(node) not in membership:
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


# Combine functions that count only the values that are not None, as Spark's COUNT(col) does (`parity port`'s).
_NON_NULL_COUNTS = frozenset({"Count"})


def _yaml_facts(document: Any, spec_file: str) -> Iterator[JobFact]:
    """The facts of a Beam YAML `transform`: each step's Python expressions and callables, its Combine
    functions and any windowing of its own. Expressions in another `language` are not read."""
    steps = document.get("transforms", [document]) if isinstance(document, dict) else []
    steps = steps if isinstance(steps, list) else [document]
    names = _Names(python_job=False)
    combined = False
    for index, step in enumerate(s for s in steps if isinstance(s, dict)):
        kind = str(step.get("type", "?"))
        config: dict[str, Any] = step["config"] if isinstance(step.get("config"), dict) else {}
        where = JobStep(spec_file, index, kind)
        if kind == "WindowInto" or "windowing" in step:
            windowing = config.get("windowing", step.get("windowing"))
            yield JobFact(Fact.REWINDOW, _at(where, "windowing"), detail=f"windowing {windowing}")
        python = config.get("language") == "python"
        if kind == "Filter" and python:
            for fact in _expression_facts(config.get("keep"), _at(where, "config.keep"), names):
                # a Filter after a Combine (a ported HAVING) keeps cells, it drops no event before a count
                if not (combined and fact.fact is Fact.NONE_FILTER):
                    yield fact
        elif kind == "MapToFields" and python and isinstance(config.get("fields"), dict):
            for field, value in config["fields"].items():
                for fact in _expression_facts(value, _at(where, f"config.fields.{field}"), names):
                    if fact.fact is not Fact.NONE_FILTER:  # a field's `x is not None` guards a value, drops no row
                        yield fact
        elif kind == "Combine" and isinstance(config.get("combine"), dict):
            combined = True
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
                elif fn_name in _NON_NULL_COUNTS:
                    yield JobFact(Fact.NON_NULL_COUNT, at, first, f"{fn_name} of {value}")
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
