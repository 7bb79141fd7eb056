"""Reading a port's offline query for the traps: where it counts, divides, folds case, converts time zones
or deduplicates events, each with its line (sqlglot keeps token positions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp

from parity.query import DIALECT, _shown, read_query
from parity.spec import FeatureSpec


@dataclass(frozen=True, slots=True)
class SqlPlace:
    """A line of the offline query and the SQL found there."""

    file: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


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

    def filtered(self) -> set[str]:
        """Columns some WHERE reads: the query has its own rule for their nulls, which a job's `is not None`
        on them translates (`city != 'sf'` drops a null city in SQL as `city is not None and ...` does)."""
        return {column.name.lower() for where in self.tree.find_all(exp.Where) for column in where.find_all(exp.Column)}

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
            if isinstance(count.this, exp.Distinct) and "event_id" in columns_in(count.this):
                return count
        return None

    def compared_strings(self) -> list[tuple[str, exp.Expr]]:
        """Case-sensitive string comparisons: `col = 'x'`, `col IN ('a', 'b')`, `col LIKE 'p%'` on a bare column."""
        found: list[tuple[str, exp.Expr]] = []
        for node in self.tree.find_all(exp.EQ, exp.NEQ, exp.In, exp.Like):
            column = node.this
            others = node.expressions if isinstance(node, exp.In) else [node.expression]
            if isinstance(column, exp.Column) and any(isinstance(o, exp.Literal) and o.is_string for o in others):
                found.append((column.name.lower(), node))
        return found

    def case_folded(self) -> list[tuple[str, exp.Expr]]:
        """Case-insensitive reads of a column: `lower(col)`, `upper(col)`, `col ILIKE ...`."""
        found: list[tuple[str, exp.Expr]] = []
        for node in self.tree.find_all(exp.Lower, exp.Upper, exp.ILike):
            found.extend((column, node) for column in sorted(columns_in(node.this)))
        return found

    def zone_conversions(self) -> list[exp.Expr]:
        """`from_utc_timestamp`, `to_utc_timestamp`, `convert_timezone`: local time on purpose."""
        return list(self.tree.find_all(exp.AtTimeZone, exp.FromTimeZone, exp.ConvertTimezone))


_CALENDAR = (exp.Hour, exp.Minute, exp.DayOfWeek, exp.DayOfMonth, exp.DayOfYear, exp.TimeToStr, exp.Day,
             exp.Month, exp.Year, exp.TimestampTrunc, exp.DateTrunc)


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


def columns_in(node: exp.Expr) -> set[str]:
    """The columns an expression reads, lower case."""
    return {c.name.lower() for c in node.find_all(exp.Column)}
