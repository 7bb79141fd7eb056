"""Input data quality: Great Expectations suites over a check's event range and online rows.

The check validates its two inputs with suites derived from the feature spec, over what its readers read:

events (`validate_events`: the feature's source events for the widened event range, beside the recompute)
  - `event_id`, `ingest_time` present and non-null;
  - no row of the opened partitions misplaced: a null `event_time`, or one outside the hour of its `date=/hour=`
    partition (`parity.events.EventRead.misplaced`; the range filter would otherwise drop it silently);
  - `event_time - ingest_time <= clock_skew_bound` for at least `CLOCK_SKEW_MOSTLY` of the rows: a small share
    of skewed device clocks is normal, a large share pushes a streaming watermark ahead and drops data.
online (`validate_online`: the realtime output for the checked range, once the offline result is known)
  - keys non-null, except a key the offline result itself has null (a NULL key is a cell, joined null-safely);
  - `window_end` present and non-null; value columns present (a value may be null);
  - no stray row read: a null `window_start`, or one outside the windows its file covers
    (`parity.check.OnlineRead.strays`); windows outside the checked range are normal and not strays;
  - `window_start` on the window grid (a multiple of the slide since the epoch);
  - `window_end - window_start == window size`.
A feature adds its own expectations in its spec (`expectations:` list, see `parse_expectations`).

Timestamps are validated as integer microseconds since the epoch (UTC), as everywhere in parity: a custom
expectation on `event_time` or `window_start` compares microseconds. Derived columns that Great Expectations has
no direct expectation for are computed with pandas first (`event_time_ahead_of_ingest_s`,
`window_start_off_grid_us`, `window_length_us`). Great Expectations is given only the columns the rules read, and
a column that only not-null rules read as its null mask (`_null_masked`): it hashes every frame it validates.

A failed expectation is data, not an exception: it lands in the `QualityReport`, and the caller makes the check
`inconclusive`. Great Expectations runs in an ephemeral, in-memory context (no `gx/` directory, no analytics,
no progress bars) and is imported lazily, because importing it takes seconds.
"""

from __future__ import annotations

import enum
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parity.errors import DataError, SpecError
from parity.quality.gx import SAMPLE_VALUES, validate
from parity.units import iso

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from great_expectations.expectations.expectation import Expectation

    from parity.settings import Settings
    from parity.spec import FeatureSpec

CLOCK_SKEW_MOSTLY = 0.99
"""Share of events whose `event_time` must not run ahead of `ingest_time` by more than the clock-skew bound."""

SKEW_COLUMN = "event_time_ahead_of_ingest_s"
OFF_GRID_COLUMN = "window_start_off_grid_us"
LENGTH_COLUMN = "window_length_us"
_DERIVED_FROM = {
    SKEW_COLUMN: ("event_time", "ingest_time"),
    OFF_GRID_COLUMN: ("window_start",),
    LENGTH_COLUMN: ("window_start", "window_end"),
}


class Suite(enum.StrEnum):
    EVENTS = "events"
    ONLINE = "online"


@dataclass(frozen=True, slots=True)
class FailedExpectation:
    """One expectation that did not hold, with what was observed."""

    suite: Suite
    expectation: str  # Great Expectations type, snake_case: expect_column_values_to_not_be_null
    column: str | None
    kwargs: dict[str, Any]
    observed: str  # one line a reader can act on
    unexpected_count: int | None
    unexpected_percent: float | None
    description: str

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": str(self.suite),
            "expectation": self.expectation,
            "column": self.column,
            "kwargs": self.kwargs,
            "observed": self.observed,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": self.unexpected_percent,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class QualityReport:
    passed: bool
    failed: tuple[FailedExpectation, ...]
    evaluated: int  # expectations run over both suites
    event_rows: int
    online_rows: int
    seconds: float  # wall time of the validation, Great Expectations import excluded

    def __add__(self, other: QualityReport) -> QualityReport:
        """Both suites of one check: `validate_events(...) + validate_online(...)`."""
        return QualityReport(
            passed=self.passed and other.passed,
            failed=self.failed + other.failed,
            evaluated=self.evaluated + other.evaluated,
            event_rows=self.event_rows + other.event_rows,
            online_rows=self.online_rows + other.online_rows,
            seconds=self.seconds + other.seconds,
        )


@dataclass(frozen=True, slots=True)
class SpecExpectation:
    """One entry of a spec's `expectations:` list, validated against Great Expectations."""

    expectation: str  # Great Expectations class name: ExpectColumnValuesToMatchRegex
    kwargs: Mapping[str, Any]
    on: Suite


class _SpecExpectationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    expectation: str = Field(min_length=1)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    on: Literal["events", "online"]


@dataclass(frozen=True, slots=True)
class Rule:
    """An expectation of a suite, with the sentence a report shows and how to print its column's values."""

    expectation: Expectation
    description: str
    columns: tuple[str, ...]  # columns it needs; the rule is skipped (and reported missing) without them
    timestamps: bool = False  # the column holds epoch microseconds: show sample values as ISO times
    whole_table: bool = False  # reads every column (ExpectTableColumnsToMatchSet, ...): validate the full frame
    exists: str | None = None  # the column whose presence this rule checks (ExpectColumnToExist)
    examples: tuple[str, ...] = ()  # rows a reader set aside, shown when a "there are none" rule fails

    @property
    def nulls_only(self) -> bool:
        """The rule reads only whether each value of its column is null."""
        from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
            ExpectColumnValuesToNotBeNull,
        )

        return isinstance(self.expectation, ExpectColumnValuesToNotBeNull)


def validate_events(
    spec: FeatureSpec, settings: Settings, events: pa.Table | pd.DataFrame, misplaced: pa.Table | pd.DataFrame
) -> QualityReport:
    """Validate the events of one check and the rows its reader found misplaced (see `parity.events.EventRead`);
    failures are returned, not raised. Raises DataError when a timestamp column is not a timestamp at all."""
    began = time.perf_counter()
    rules = _with_presence(
        [*_events_rules(settings.clock_skew_bound_us), *_custom_rules(spec, Suite.EVENTS)]
    )
    frame = _events_frame(events, _needed_columns(rules), _null_masked(rules))
    layout = _none_of(
        _to_pandas(misplaced, None, set()),
        "every event read has an event_time inside the hour of its date=/hour= partition (a null event_time or "
        "a misplaced row is dropped by the range filter, and lost to any check of its own hour)",
        lambda row: f"{row['event_id']} at {_shown_time(row['event_time'])} in {row['partition']}",
    )
    return _report(Suite.EVENTS, frame, rules, layout, began)


def validate_online(
    spec: FeatureSpec, online: pa.Table | pd.DataFrame, strays: pa.Table | pd.DataFrame, offline: pd.DataFrame
) -> QualityReport:
    """Validate the online rows of one check and the strays its reader found (see `parity.check.OnlineRead`).

    `offline` is the recomputed truth of the same range: a key it holds NULL in may be NULL online too.
    """
    began = time.perf_counter()
    nullable = {key for key in spec.keys if key in offline.columns and bool(offline[key].isna().any())}
    rules = _with_presence([*_online_rules(spec, nullable), *_custom_rules(spec, Suite.ONLINE)])
    frame = _online_frame(online, _needed_columns(rules), _null_masked(rules), spec)
    layout = _none_of(
        _to_pandas(strays, None, set()),
        "every online row read has a window_start, inside the windows its file claims (<writer>.<start>.<end>...)",
        lambda row: f"{_shown_time(row['window_start'])} in {row['file']}",
    )
    return _report(Suite.ONLINE, frame, rules, layout, began)


def _report(
    suite: Suite, frame: pd.DataFrame, rules: list[Rule], layout: tuple[pd.DataFrame, Rule], began: float
) -> QualityReport:
    """The suite's rules over `frame`, plus the rule that its reader set nothing aside (`layout`)."""
    failed, evaluated = _run(suite, frame, rules)
    failed += validate(suite, layout[0], [layout[1]])
    return QualityReport(
        passed=not failed,
        failed=tuple(failed),
        evaluated=evaluated + 1,
        event_rows=len(frame) if suite is Suite.EVENTS else 0,
        online_rows=len(frame) if suite is Suite.ONLINE else 0,
        seconds=time.perf_counter() - began,
    )


def _run(suite: Suite, frame: pd.DataFrame, rules: list[Rule]) -> tuple[list[FailedExpectation], int]:
    runnable = [rule for rule in rules if set(rule.columns) <= set(frame.columns)]
    return validate(suite, frame, runnable), len(runnable)


def _custom_rules(spec: FeatureSpec, suite: Suite) -> list[Rule]:
    return [_custom_rule(entry) for entry in spec.expectations if entry.on is suite]


def _none_of(rows: pd.DataFrame, description: str, show: Callable[[Any], str]) -> tuple[pd.DataFrame, Rule]:
    """`rows` a reader set aside as breaking the layout, and the rule that there are none, with a few shown."""
    from great_expectations.expectations.core.expect_table_row_count_to_equal import ExpectTableRowCountToEqual

    examples = tuple(show(row) for _, row in rows.head(SAMPLE_VALUES).iterrows())
    return rows, Rule(ExpectTableRowCountToEqual(value=0), description, (), examples=examples)


def _shown_time(value: Any) -> str:
    import pandas as pd

    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "null"
    return iso(int(pd.Timestamp(value).value // 1_000)) if not isinstance(value, int) else iso(value)


def parse_expectations(entries: Sequence[Any], shown: str) -> tuple[SpecExpectation, ...]:
    """Validate a spec's own `expectations:` entries: `{expectation: <GE class or snake name>, kwargs: {...},
    on: events|online}`. The class must exist in Great Expectations and accept the kwargs. `load_spec` calls it,
    so `parity lint` and every command see a malformed entry before any work; `shown` is the spec file's name
    in errors. Imports Great Expectations only when there are entries."""
    if not entries:
        return ()
    from great_expectations.compatibility.pydantic import ValidationError as GxValidationError

    parsed: list[SpecExpectation] = []
    for index, raw in enumerate(entries):
        field = f"expectations.{index}"
        if isinstance(raw, dict):  # YAML 1.1 reads the bare key `on` as the boolean True
            raw = {("on" if key is True else key): value for key, value in raw.items()}
        try:
            entry = _SpecExpectationEntry.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise SpecError(shown, f"{field}.{where}" if where else field, _entry_problem(first)) from exc
        cls = _expectation_class(entry.expectation)
        if cls is None:
            raise SpecError(
                shown,
                f"{field}.expectation",
                f"{entry.expectation!r} is not a Great Expectations expectation; write a class name such as "
                "ExpectColumnValuesToMatchRegex or its snake_case name expect_column_values_to_match_regex",
            )
        try:
            cls(**entry.kwargs)
        except GxValidationError as exc:
            error = exc.errors()[0]
            argument = ".".join(str(part) for part in error["loc"])
            problem = "required argument is missing" if error["type"] == "value_error.missing" else error["msg"]
            raise SpecError(shown, f"{field}.kwargs.{argument}", f"{problem} (for {cls.__name__})") from exc
        except (TypeError, ValueError) as exc:
            raise SpecError(shown, f"{field}.kwargs", f"{exc} (for {cls.__name__})") from exc
        for name in ("regex", "regex_list"):
            patterns = entry.kwargs.get(name, [])
            for pattern in [patterns] if isinstance(patterns, str) else patterns:
                try:
                    re.compile(pattern)
                except (re.error, TypeError) as exc:
                    raise SpecError(
                        shown, f"{field}.kwargs.{name}", f"bad regular expression {pattern!r}: {exc}"
                    ) from exc
        parsed.append(SpecExpectation(expectation=cls.__name__, kwargs=dict(entry.kwargs), on=Suite(entry.on)))
    return tuple(parsed)


# --- suites derived from the spec ------------------------------------------------------------------------------


def _events_rules(skew_bound_us: int) -> list[Rule]:
    from great_expectations.expectations.core.expect_column_values_to_be_between import (
        ExpectColumnValuesToBeBetween,
    )
    from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
        ExpectColumnValuesToNotBeNull,
    )

    # event_time: the reader keeps only non-null times in range; its nulls and misplaced rows are their own rule.
    rules = [
        Rule(ExpectColumnValuesToNotBeNull(column=name), f"{name} is never null", (name,))
        for name in ("event_id", "ingest_time")
    ]
    bound_s = skew_bound_us / 1_000_000
    rules.append(
        Rule(
            ExpectColumnValuesToBeBetween(column=SKEW_COLUMN, max_value=bound_s, mostly=CLOCK_SKEW_MOSTLY),
            f"event_time at most {bound_s:g}s ahead of ingest_time for {CLOCK_SKEW_MOSTLY:.0%} of events "
            "(skewed device clocks push the streaming watermark ahead)",
            (SKEW_COLUMN,),
        )
    )
    return rules


def _online_rules(spec: FeatureSpec, nullable_keys: set[str]) -> list[Rule]:
    from great_expectations.expectations.core.expect_column_values_to_be_between import (
        ExpectColumnValuesToBeBetween,
    )
    from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
        ExpectColumnValuesToNotBeNull,
    )

    # window_start: the reader keeps only non-null starts in range; its nulls are strays, a rule of their own.
    rules = [
        Rule(
            ExpectColumnValuesToNotBeNull(column=name),
            f"{name} is never null" + (" (the offline result has no null key there)" if name in spec.keys else ""),
            (name,),
        )
        for name in (*spec.keys, "window_end")
        if name not in nullable_keys
    ]
    rules += [_column_exists(name, f"value column {name} is present") for name in spec.values]
    rules += [_column_exists(name, f"key column {name} is present") for name in sorted(nullable_keys)]
    window = spec.window
    rules.append(
        Rule(
            ExpectColumnValuesToBeBetween(column=OFF_GRID_COLUMN, min_value=0, max_value=0),
            f"window_start on the window grid: a multiple of the slide ({window.slide_us} us) since the epoch",
            (OFF_GRID_COLUMN,),
        )
    )
    rules.append(
        Rule(
            ExpectColumnValuesToBeBetween(column=LENGTH_COLUMN, min_value=window.size_us, max_value=window.size_us),
            f"window_end - window_start is the window size ({window.size_us} us, {window.describe()})",
            (LENGTH_COLUMN,),
        )
    )
    return rules


def _custom_rule(entry: SpecExpectation) -> Rule:
    from great_expectations import expectations as gxe

    expectation = getattr(gxe, entry.expectation)(**entry.kwargs)
    description = f"feature expectation {entry.expectation}"
    if entry.expectation == "ExpectColumnToExist":
        return Rule(expectation, description, (), exists=entry.kwargs["column"])
    kwargs = entry.kwargs
    columns = [kwargs[name] for name in ("column", "column_A", "column_B") if isinstance(kwargs.get(name), str)]
    columns += [name for name in kwargs.get("column_list", []) if isinstance(name, str)]
    return Rule(expectation, description, tuple(columns), whole_table=not columns)


def _with_presence(rules: list[Rule]) -> list[Rule]:
    """Every column a rule needs must exist; a missing one is reported once, by ExpectColumnToExist."""
    present = {rule.exists for rule in rules if rule.exists}
    needed: list[str] = []
    for rule in rules:
        for column in rule.columns:
            for source in _DERIVED_FROM.get(column, (column,)):
                if source not in needed and source not in present:
                    needed.append(source)
    return [_column_exists(name, f"column {name} is present") for name in needed] + rules


def _column_exists(name: str, description: str) -> Rule:
    from great_expectations.expectations.core.expect_column_to_exist import ExpectColumnToExist

    return Rule(ExpectColumnToExist(column=name), description, (), exists=name)


def _needed_columns(rules: list[Rule]) -> set[str] | None:
    """The input columns a suite reads (None: all of them). Great Expectations hashes every column it is given."""
    if any(rule.whole_table for rule in rules):
        return None
    needed = {rule.exists for rule in rules if rule.exists}
    for rule in rules:
        for column in rule.columns:
            needed.update(_DERIVED_FROM.get(column, (column,)))
    return needed


def _null_masked(rules: list[Rule]) -> set[str]:
    """The columns that only not-null rules read: Great Expectations is given their null masks (NaN where null,
    0.0 elsewhere), not their values. A string column costs a Python object a row to convert and then to hash
    for the batch fingerprint Great Expectations takes of every frame: at 200k events, `event_id` was most of
    the events suite's time. A mask costs 8 bytes a row, and the rule sees exactly what it checks."""
    if any(rule.whole_table for rule in rules):
        return set()
    masked = {column for rule in rules if rule.nulls_only for column in rule.columns}
    for rule in rules:
        if not rule.nulls_only:
            for column in rule.columns:
                masked -= {column, *_DERIVED_FROM.get(column, ())}
    return masked


# --- frames: timestamps as epoch microseconds, derived columns -------------------------------------------------


def _events_frame(events: pa.Table | pd.DataFrame, columns: set[str] | None, masked: set[str]) -> pd.DataFrame:
    frame = _to_pandas(events, columns, masked)
    for name in ("event_time", "ingest_time"):
        if name in frame.columns and name not in masked:
            frame[name] = _microseconds(frame[name], Suite.EVENTS, name)
    if {"event_time", "ingest_time"} <= set(frame.columns):
        frame[SKEW_COLUMN] = (frame["event_time"] - frame["ingest_time"]) / 1_000_000
    return frame


def _online_frame(
    online: pa.Table | pd.DataFrame, columns: set[str] | None, masked: set[str], spec: FeatureSpec
) -> pd.DataFrame:
    import numpy as np

    frame = _to_pandas(online, columns, masked)
    for name in ("window_start", "window_end", "emitted_at"):
        if name in frame.columns and name not in masked:
            frame[name] = _microseconds(frame[name], Suite.ONLINE, name)
    if "window_start" in frame.columns:
        frame[OFF_GRID_COLUMN] = np.fmod(frame["window_start"], spec.window.slide_us)
        if "window_end" in frame.columns:
            frame[LENGTH_COLUMN] = frame["window_end"] - frame["window_start"]
    return frame


def _to_pandas(table: pa.Table | pd.DataFrame, columns: set[str] | None, masked: set[str]) -> pd.DataFrame:
    """Only the columns the suite reads, on a fresh 0..n index, those in `masked` as their null masks (see
    `_null_masked`); the caller's data is never modified."""
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    if isinstance(table, pd.DataFrame):
        keep = [name for name in table.columns if columns is None or name in columns]
        frame = table.loc[:, [name for name in keep if name not in masked]].reset_index(drop=True)
        nulls = {name: np.asarray(table[name].isna()) for name in keep if name in masked}
    else:
        keep = [name for name in table.column_names if columns is None or name in columns]
        frame = table.select([name for name in keep if name not in masked]).to_pandas()
        nulls = {name: pc.is_null(table[name], nan_is_null=True).to_numpy() for name in keep if name in masked}
    for name, null in nulls.items():
        frame[name] = np.where(null, np.nan, 0.0)
    return frame.loc[:, keep]


def _microseconds(column: pd.Series, suite: Suite, name: str) -> pd.Series:
    """Epoch microseconds, from timestamps of any unit (naive means UTC) or integers.

    As float64 with NaN for null, because Great Expectations compares numpy float columns vectorised and masked
    Int64 columns one Python call per row (40x slower). float64 holds every microsecond exactly up to 2^53, that is
    for years 1685 to 2255.
    """
    import numpy as np
    import pandas as pd

    dtype = column.dtype
    missing = np.asarray(column.isna())
    if pd.api.types.is_integer_dtype(dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        values = column.to_numpy(dtype="datetime64[us]").view("int64").astype("float64")
        values[missing] = np.nan
    else:
        raise DataError(f"{suite} input", f"column {name} has type {dtype}; expected a timestamp or epoch microseconds")
    return pd.Series(values, index=column.index)


# --- small local translations ----------------------------------------------------------------------------------


def _expectation_class(name: str) -> type[Expectation] | None:
    from great_expectations import expectations as gxe
    from great_expectations.expectations.expectation import Expectation

    camel = name if "_" not in name else "".join(part.capitalize() for part in name.split("_"))
    cls = getattr(gxe, camel, None)
    if isinstance(cls, type) and issubclass(cls, Expectation) and camel.startswith("Expect"):
        return cls
    return None


def _entry_problem(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key; an entry has expectation, kwargs and on"
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] == "model_type":
        return "each entry is a mapping {expectation: ..., kwargs: {...}, on: events|online}"
    return str(error["msg"])
