"""The porting traps: one function per trap over the two sides of a port, in `TRAPS` order."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp

from parity.query import DIALECT
from parity.spec import FeatureSpec
from parity.traps.job import Fact, Job, JobFact, JobStep, read_job
from parity.traps.sql import Query, SqlPlace, columns_in, read_sql


class Trap(enum.Enum):
    """The porting traps `parity lint` knows (SEMANTICS.md has the Spark vs Python facts behind each)."""

    COUNT_NULLS = "count_nulls"
    INTEGER_DIVISION = "integer_division"
    AVG_INTEGER = "avg_integer"
    CASE_SENSITIVITY = "case_sensitivity"
    LOCAL_TIME = "local_time"
    DISTINCT_COUNT = "distinct_count"
    WINDOW = "window"


@dataclass(frozen=True, slots=True)
class TrapWarning:
    """One trap found in one feature: where in the SQL, where in the job, what differs and how to fix it."""

    feature: str
    trap: Trap
    sql: SqlPlace
    job: JobStep
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.sql}: warning: {self.trap.value}: {self.problem} [job: {self.job}]; fix: {self.fix}"


def count_nulls(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """`COUNT(col)` skips nulls, a job's row count does not; and `COUNT(*)` counts rows a job that drops
    `None` before counting does not."""
    counts = job.of(Fact.ROW_COUNT)
    if not counts:
        return
    dropped = _by_column(job.of(Fact.NONE_FILTER))
    kept_non_null = query.not_null()
    counts_values = bool(job.of(Fact.NON_NULL_COUNT))
    for count in query.tree.find_all(exp.Count):
        if isinstance(count.this, exp.Column) and not counts_values:
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
                if column not in kept_non_null and column not in query.filtered():
                    yield TrapWarning(
                        spec.name, Trap.COUNT_NULLS, query.place(count), dropping.step,
                        f"{count.sql(dialect=DIALECT)} counts rows whose {column} is null; the job drops them "
                        f"before counting ({dropping.detail})",
                        f"add `{column} IS NOT NULL` to the query's WHERE, or keep None rows in the job",
                    )


def integer_division(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """Spark's `/` gives a double (or a decimal), never a whole number; `DIV` truncates to one. A job that
    floors where the SQL divides, or divides where the SQL truncates. A floor the query's AVG explains is
    `avg_integer`'s."""
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
    job_folded = _by_column(job.of(Fact.CASE_FOLD))
    job_compared = _by_column(job.of(Fact.STRING_COMPARE))
    sql_folded = dict(reversed(query.case_folded()))
    for column, node in sql_folded.items():
        if column in job_compared and column not in job_folded:
            yield TrapWarning(
                spec.name, Trap.CASE_SENSITIVITY, query.place(node), job_compared[column].step,
                f"the SQL ignores the case of {column} ({node.sql(dialect=DIALECT)}); the job compares it "
                f"case-sensitively ({job_compared[column].detail})",
                f"apply the same .lower()/.upper() to {column} in the job, or drop it from the SQL",
            )
    for column, node in dict(reversed(query.compared_strings())).items():
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
    conversions = query.zone_conversions()
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
                counted = ", ".join(sorted(columns_in(count.this))) or count.this.sql(dialect=DIALECT)
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
    # The reverse: the job keeps distinct values where the query (with no DISTINCT anywhere) takes every row.
    if dedupe is not None or not distinct or any(isinstance(c.this, exp.Distinct) for c in query.tree.find_all(exp.Count)):
        return
    by_event = [f for f in distinct if f.column == "event_id"]
    keeper = (by_event or distinct)[0]
    for aggregate in query.tree.find_all(*((exp.Count, exp.Sum, exp.Avg) if by_event else (exp.Count,))):
        kept = "one element per event_id" if by_event else "distinct values"
        yield TrapWarning(
            spec.name, Trap.DISTINCT_COUNT, query.place(aggregate), keeper.step,
            f"{aggregate.sql(dialect=DIALECT)} takes in every row (a re-delivered event, a repeated id); the job "
            f"keeps {kept} ({keeper.detail})",
            "deduplicate in the SQL as the job does (COUNT(DISTINCT ...), or SELECT DISTINCT event_id, ... in a "
            "CTE), or keep every row in the job",
        )


def window(query: Query, job: Job, spec: FeatureSpec) -> Iterator[TrapWarning]:
    """parity windows the events by the spec before the job sees them (and `parity.feature` checks the query's
    window against the spec). A job that windows or re-stamps its elements itself replaces that window."""
    call = next((c for c in query.tree.find_all(exp.Anonymous) if c.name.lower() == "window"), None)
    place = query.place(call) if call is not None else query.first_line()
    for rewindow in job.of(Fact.REWINDOW):
        yield TrapWarning(
            spec.name, Trap.WINDOW, place, rewindow.step,
            f"the job applies its own windowing ({rewindow.detail}) over the spec's {spec.window.describe()}, "
            "which parity has already applied",
            "remove the job's WindowInto/TimestampedValue and set the window in the spec's `window:` "
            "(`parity stream` rejects output in windows other than the spec's)",
        )


TRAPS: tuple[Callable[[Query, Job, FeatureSpec], Iterator[TrapWarning]], ...] = (
    count_nulls, integer_division, avg_integer, case_sensitivity, local_time, distinct_count, window,
)


def _by_column(facts: list[JobFact]) -> dict[str, JobFact]:
    """The first fact about each column (lower case), in source order."""
    first: dict[str, JobFact] = {}
    for fact in facts:
        if fact.column:
            first.setdefault(fact.column.lower(), fact)
    return first


def find_traps(spec: FeatureSpec, project: Path, query: Query | None = None) -> list[TrapWarning]:
    """Every trap warning of one feature, trap by trap in `TRAPS` order; `query` is its SQL already parsed
    (`parity.feature.Feature.query`), else read here. SQL or job files that cannot be read are `SpecError`s
    (`parity.feature.inspect` reports the query's first)."""
    query, job = query if query is not None else read_sql(spec, project), read_job(spec, project)
    return [warning for trap in TRAPS for warning in trap(query, job, spec)]
