"""Feature specs: `realtime_jobs/<name>.yaml`, validated strictly into a frozen `FeatureSpec`.

A feature pairs an offline Spark SQL query (the ground truth) with a realtime Beam job. The spec says
which events feed it, its key columns, its event-time window, its value columns with their
tolerances, the agreement threshold and the allowed lateness, and which Beam transform computes it.
Times inside parity are integer microseconds since the epoch (UTC), end to end.

Specs are trusted code: a `transform_ref` module is imported and run by `parity stream`, with the rights of
the user running it. What a spec may name is confined to its project directory: `transform_ref` and
`offline_query` must resolve (symlinks followed) to a path inside the project, or the spec does not load.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from parity.errors import SpecError, UnknownFeatureError
from parity.publish import UnsafeName, inside
from parity.quality import SpecExpectation, parse_expectations
from parity.units import format_duration, parse_duration
from parity.yamlfile import load_yaml

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LATEST = "latest"  # `served.empty`: the latest window that has a row


# --- the untrusted edge: pydantic models of the YAML, extra keys forbidden ---------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Tolerance(_Strict):
    abs: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    rel: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)


class _Value(_Strict):
    tolerance: _Tolerance = Field(default_factory=_Tolerance)


class _Served(_Strict):
    """What a model reading the online store should get (`parity.served`)."""

    delay: str | int | None = None  # how long after a window closes its value may take to be served
    freshness: str | int | None = None  # the SLA on read_at - window_end of the value served
    empty: float | int | bool | str | None = 0  # the value of a key without events in the due window, or "latest"

    @field_validator("delay", "freshness")
    @classmethod
    def _duration(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("empty")
    @classmethod
    def _empty(cls, value: object) -> object:
        if isinstance(value, str) and value != LATEST:
            raise ValueError(f"write a value such as 0, null, or {LATEST!r} (the latest window that has a row)")
        return value


class _Window(_Strict):
    size: str | int
    slide: str | int | None = None

    @model_validator(mode="after")
    def _check(self) -> _Window:
        try:
            size = parse_duration(self.size)
        except ValueError as exc:
            raise ValueError(f"size: {exc}") from None
        if size <= 0:
            raise ValueError("size must be positive")
        if self.slide is not None:
            try:
                slide = parse_duration(self.slide)
            except ValueError as exc:
                raise ValueError(f"slide: {exc}") from None
            if slide <= 0:
                raise ValueError("slide must be positive")
            if slide > size:
                raise ValueError("slide must not exceed size (Spark rejects it; Beam would silently drop events)")
            if size % slide:
                raise ValueError("size must be a whole multiple of slide")
        return self


class _Spec(_Strict):
    feature: str
    source: str
    offline_query: str | None = None
    keys: list[str] = Field(min_length=1)
    window: _Window
    values: dict[str, _Value] = Field(min_length=1)
    threshold: float = Field(default=0.999, gt=0.0, le=1.0)
    allowed_lateness: str | int = "0s"
    # The allowed latenesses the lateness what-if reports (parity.in_time); default: settings, then WHAT_IF_LATENESS.
    what_if_lateness: list[str | int] | None = None
    sample_rate: float = Field(default=1.0, gt=0.0, le=1.0)
    transform: dict[str, Any] | list[dict[str, Any]] | None = None
    transform_ref: str | None = None
    # Checked by parity.quality.parse_expectations. Entries are Any: its errors name the entry and the key.
    expectations: list[Any] = Field(default_factory=list)
    description: str = ""
    served: _Served = Field(default_factory=_Served)

    @field_validator("feature", "source")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} is not an identifier (letters, digits, underscore)")
        return value

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not _NAME.match(key):
                raise ValueError(f"{key!r} is not a column name")
        if len(set(value)) != len(value):
            raise ValueError("keys repeat a column")
        return value

    @field_validator("allowed_lateness")
    @classmethod
    def _lateness(cls, value: str | int) -> str | int:
        parse_duration(value)
        return value

    @field_validator("what_if_lateness")
    @classmethod
    def _ladder(cls, value: list[str | int] | None) -> list[str | int] | None:
        for step in value or ():
            parse_duration(step)
        return value

    @field_validator("transform_ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is not None and (
            value.count(":") != 1 or not value.split(":")[0].endswith(".py") or not value.split(":")[1].isidentifier()
        ):
            raise ValueError("write it as path/to/module.py:ClassName")
        return value

    @model_validator(mode="after")
    def _one_transform(self) -> _Spec:
        if (self.transform is None) == (self.transform_ref is None):
            raise ValueError("give exactly one of `transform` (Beam YAML) or `transform_ref` (module.py:Class)")
        reserved = {"window_start", "window_end", "pane_timing", "pane_index", "emitted_at"}
        clash = reserved & (set(self.keys) | set(self.values))
        if clash:
            raise ValueError(f"{sorted(clash)} are added by parity; do not use them as keys or values")
        if set(self.keys) & set(self.values):
            raise ValueError("a column cannot be both a key and a value")
        return self


# --- the frozen inside -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """Tumbling when `slide_us == size_us`, sliding otherwise. Epoch-aligned, [start, end)."""

    size_us: int
    slide_us: int

    @property
    def sliding(self) -> bool:
        return self.slide_us != self.size_us

    def describe(self) -> str:
        size = format_duration(self.size_us)
        return f"{size} tumbling" if not self.sliding else f"{size} sliding by {format_duration(self.slide_us)}"


@dataclass(frozen=True, slots=True)
class Tolerance:
    """A value matches when `|online - offline| <= abs + rel * |offline|`."""

    abs: float = 0.0
    rel: float = 0.0


@dataclass(frozen=True, slots=True)
class Served:
    """What a model reading the online store should get at `read_at` (`parity.served`): the offline value of the
    latest window ending by `read_at - delay_us`; for a key without events in it, `empty` (a value, or `LATEST`:
    the latest window that has a row). `freshness_us` is the SLA on the age of a value served. Defaults
    (`Served.default`): delay one slide of the window, freshness delay + one slide, empty 0."""

    delay_us: int
    freshness_us: int
    empty: object = 0

    @classmethod
    def default(cls, window: Window) -> Served:
        return cls(delay_us=window.slide_us, freshness_us=2 * window.slide_us)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    name: str
    source: str
    path: Path
    offline_query: Path
    keys: tuple[str, ...]
    window: Window
    values: tuple[str, ...]
    tolerances: tuple[Tolerance, ...]
    threshold: float
    allowed_lateness_us: int
    sample_rate: float
    transform_yaml: str | None
    transform_ref: str | None
    expectations: tuple[SpecExpectation, ...]  # validated against Great Expectations when the spec is loaded
    description: str
    what_if_lateness_us: tuple[int, ...] | None = None  # None: the project's ladder, or WHAT_IF_LATENESS
    served: Served | None = None  # None: `Served.default(window)`

    @property
    def served_rules(self) -> Served:
        return self.served if self.served is not None else Served.default(self.window)

    @property
    def tolerance(self) -> dict[str, Tolerance]:
        return dict(zip(self.values, self.tolerances, strict=True))

    @property
    def cell_columns(self) -> tuple[str, ...]:
        """What identifies one cell: the keys and the window start."""
        return (*self.keys, "window_start")


def load_spec(path: Path, project: Path) -> FeatureSpec:
    """Read and validate one spec file. Errors name the file, the field and the fix."""
    shown = _relative(path, project)
    try:
        inside(project, path.absolute())
    except UnsafeName:
        raise SpecError(str(path), "", f"links to {path.resolve()}, outside the project; keep specs inside it") from None
    try:
        document = load_yaml(path.read_text())
    except OSError as exc:
        raise SpecError(shown, "", f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(shown, "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        raise SpecError(shown, where, f"malformed YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(document, dict):
        raise SpecError(shown, "", "a spec is a YAML mapping with keys feature, source, keys, window, values, ...")
    try:
        raw = _Spec.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelled key also makes the key it was meant to be "missing": report the misspelling
        first = next((error for error in errors if error["type"] == "extra_forbidden"), errors[0])
        field = ".".join(str(p) for p in first["loc"]) or "spec"
        if first["type"] == "extra_forbidden":
            problem = "unknown key; remove it or check its spelling"
        elif first["type"] == "missing":
            problem = "required key is missing"
        else:
            problem = str(first["msg"]).removeprefix("Value error, ")
        raise SpecError(shown, field, problem) from exc
    if raw.feature != path.stem:
        raise SpecError(shown, "feature", f"is {raw.feature!r} but the file is named {path.name}; use one name")
    size = parse_duration(raw.window.size)
    slide = parse_duration(raw.window.slide) if raw.window.slide is not None else size
    query = _inside(project, raw.offline_query or f"offline_queries/{raw.feature}.sql", shown, "offline_query")
    if raw.transform_ref is not None:
        _inside(project, raw.transform_ref.split(":")[0], shown, "transform_ref")
    if raw.transform is None:
        transform_yaml = None
    else:
        chain = {"type": "chain", "transforms": raw.transform} if isinstance(raw.transform, list) else raw.transform
        transform_yaml = yaml.safe_dump(chain, sort_keys=False)
    return FeatureSpec(
        name=raw.feature,
        source=raw.source,
        path=path,
        offline_query=query,
        keys=tuple(raw.keys),
        window=Window(size_us=size, slide_us=slide),
        values=tuple(raw.values),
        tolerances=tuple(Tolerance(v.tolerance.abs, v.tolerance.rel) for v in raw.values.values()),
        threshold=raw.threshold,
        allowed_lateness_us=parse_duration(raw.allowed_lateness),
        sample_rate=raw.sample_rate,
        what_if_lateness_us=None if raw.what_if_lateness is None else tuple(map(parse_duration, raw.what_if_lateness)),
        transform_yaml=transform_yaml,
        transform_ref=raw.transform_ref,
        expectations=parse_expectations(raw.expectations, shown),
        description=raw.description,
        served=_served(raw.served, Window(size_us=size, slide_us=slide)),
    )


def _served(raw: _Served, window: Window) -> Served:
    default = Served.default(window)
    delay = default.delay_us if raw.delay is None else parse_duration(raw.delay)
    freshness = delay + window.slide_us if raw.freshness is None else parse_duration(raw.freshness)
    return Served(delay_us=delay, freshness_us=freshness, empty=raw.empty)


def project_path(project: Path, relative: str) -> Path:
    """`relative` under `project`, normalised; ValueError when it resolves (symlinks followed) outside the project.

    The one test of "inside the project" for every path a spec names: the loader and the job loader both apply it.
    """
    path = Path(os.path.normpath(project / relative))
    try:
        inside(project, path.absolute())
    except UnsafeName:
        resolved = path.resolve()
        shown = relative if str(resolved) == str(path) else f"{relative} (-> {resolved})"
        raise ValueError(f"{shown} is outside the project {project.resolve()}; keep the files a spec names inside "
                         "the project") from None
    return path


def _inside(project: Path, relative: str, shown: str, field: str) -> Path:
    try:
        return project_path(project, relative)
    except ValueError as exc:
        raise SpecError(shown, field, str(exc)) from None


def feature_names(project: Path) -> list[str]:
    return sorted(p.stem for p in (project / "realtime_jobs").glob("*.yaml"))


def load_feature(name: str, project: Path) -> FeatureSpec:
    path = project / "realtime_jobs" / f"{name}.yaml"
    if not _NAME.match(name) or not path.is_file():  # a name is never a path: `../x` names no feature
        raise UnknownFeatureError(name, feature_names(project))
    return load_spec(path, project)


def load_features(project: Path) -> list[FeatureSpec]:
    return [load_feature(name, project) for name in feature_names(project)]


def _relative(path: Path, project: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.resolve()))
    except ValueError:
        return str(path)
