"""Project settings: `[tool.parity]` of the feature project's pyproject.toml, read once into one frozen value."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parity.errors import ConfigError
from parity.geo import BASE32


class _ToolParity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_log: str = "data/events"
    online_log: str = "data/online"
    served_log: str = "data/served"  # what `parity tap` read from the online store (`parity.served_log`)
    quarantine: str = "data/quarantine"
    reports: str = "reports"
    database: str = "sqlite:///parity.db"
    spark_master: str = "local[*]"
    spark_python: str | None = None  # the Python the executors run (PYSPARK_PYTHON); default: this interpreter
    spark_conf: dict[str, str | bool | int | float] = Field(default_factory=dict)  # Spark properties, applied last
    beam_runner: str = "BundleBasedDirectRunner"
    beam_options: list[str] = Field(default_factory=list)
    clock_skew_bound: str = "5m"
    what_if_lateness: list[str] | None = None  # the lateness what-if's ladder for every feature without its own
    report_base_url: str | None = None  # where reports/ is served: alerts link to `<url>/<feature>/<run-id>.html`
    regions: dict[str, list[str]] | None = None  # region name -> geohash prefixes (or a regions.yaml beside)
    event_schema: dict[str, dict[str, str]] | None = None  # source -> column -> Spark SQL type (`parity.schema`)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs to know about the project it runs in. Paths are absolute."""

    project: Path
    event_log: Path
    online_log: str  # a location: an absolute path or a URL (`file:///...`), opened by `parity.online.open_source`
    quarantine: Path
    reports: Path
    database: str
    spark_master: str
    beam_runner: str
    beam_options: tuple[str, ...]
    clock_skew_bound_us: int
    what_if_lateness_us: tuple[int, ...] | None = None
    report_base_url: str | None = None
    regions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # for the report's geohash drill-down, in file order
    spark_python: str | None = None  # the executors' Python; None: $PYSPARK_PYTHON, else this interpreter
    spark_conf: tuple[tuple[str, str], ...] = ()  # Spark properties over parity's own, in file order
    event_schema: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # declared columns per source
    served_log: Path | None = None  # None: `<project>/data/served`

    @property
    def declared_schemas(self) -> dict[str, dict[str, str]]:
        return {source: dict(columns) for source, columns in self.event_schema}

    @property
    def served_reads(self) -> Path:
        """The served log's folder (`served_log`, default `data/served` in the project)."""
        return self.served_log if self.served_log is not None else self.project / "data" / "served"

    @property
    def offline_queries(self) -> Path:
        return self.project / "offline_queries"

    @property
    def realtime_jobs(self) -> Path:
        return self.project / "realtime_jobs"

    @property
    def alerts(self) -> Path:
        return self.project / "alerts"


def load_settings(project: Path | str = ".") -> Settings:
    """Read `[tool.parity]` from `<project>/pyproject.toml`; a project without the table gets the defaults."""
    from parity.units import parse_duration

    root = Path(project).resolve()
    if not root.is_dir():
        raise ConfigError(str(root), "", "project directory does not exist; pass --project DIR")
    pyproject = root / "pyproject.toml"
    table: dict[str, object] = {}
    if pyproject.is_file():
        try:
            document = tomllib.loads(pyproject.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(pyproject), "", f"invalid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(str(pyproject), "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
        tool = document.get("tool", {})
        found = tool.get("parity", {}) if isinstance(tool, dict) else None
        if not isinstance(found, dict):
            raise ConfigError(str(pyproject), "", "[tool.parity] must be a table of settings")
        table = found
    try:
        raw = _ToolParity.model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(str(pyproject), field, _pydantic_problem(first)) from exc

    def under_root(value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else root / path

    database = raw.database
    if database.startswith("sqlite:///") and not database.startswith("sqlite:////"):
        database = "sqlite:///" + str(under_root(database.removeprefix("sqlite:///")))
    try:
        skew = parse_duration(raw.clock_skew_bound)
    except ValueError as exc:
        raise ConfigError(str(pyproject), "clock_skew_bound", str(exc)) from exc
    try:
        ladder = None if raw.what_if_lateness is None else tuple(map(parse_duration, raw.what_if_lateness))
    except ValueError as exc:
        raise ConfigError(str(pyproject), "what_if_lateness", str(exc)) from exc
    return Settings(
        project=root,
        event_log=under_root(raw.event_log),
        online_log=raw.online_log if "://" in raw.online_log else str(under_root(raw.online_log)),
        quarantine=under_root(raw.quarantine),
        reports=under_root(raw.reports),
        database=database,
        spark_master=raw.spark_master,
        beam_runner=raw.beam_runner,
        beam_options=tuple(raw.beam_options),
        clock_skew_bound_us=skew,
        what_if_lateness_us=ladder,
        report_base_url=raw.report_base_url.rstrip("/") if raw.report_base_url else None,
        regions=_regions(raw.regions, pyproject, root / REGIONS_FILE),
        spark_python=raw.spark_python,
        spark_conf=_spark_conf(raw.spark_conf, pyproject),
        event_schema=_event_schema(raw.event_schema, pyproject),
        served_log=under_root(raw.served_log),
    )


def _event_schema(table: dict[str, dict[str, str]] | None, pyproject: Path) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """`[tool.parity.event_schema.<source>]`: every type one `parity.schema` knows."""
    from parity.schema import arrow_type

    for source, columns in (table or {}).items():
        for column, kind in columns.items():
            try:
                arrow_type(kind)
            except ValueError as exc:
                raise ConfigError(str(pyproject), f"event_schema.{source}.{column}", str(exc)) from None
    return tuple((source, tuple(columns.items())) for source, columns in (table or {}).items())


REGIONS_FILE = "regions.yaml"


def _regions(
    table: dict[str, list[str]] | None, pyproject: Path, regions_file: Path
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Regions from `[tool.parity] regions` or `regions.yaml` (one of the two): name -> geohash prefixes."""
    import yaml

    from parity.yamlfile import load_yaml

    where, field = str(pyproject), "regions"
    if regions_file.is_file():
        if table is not None:
            raise ConfigError(str(pyproject), "regions", f"regions are also defined in {regions_file}; keep one")
        where, field = str(regions_file), ""
        try:
            loaded = load_yaml(regions_file.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(where, "", f"malformed YAML: {getattr(exc, 'problem', exc)}") from exc
        if not isinstance(loaded, dict) or not all(isinstance(v, list) for v in loaded.values()):
            raise ConfigError(where, "", "a mapping of region name -> list of geohash prefixes, e.g. nyc: [dr5r]")
        table = {str(name): prefixes for name, prefixes in loaded.items()}
    regions = []
    for name, prefixes in (table or {}).items():
        for prefix in prefixes:
            if not isinstance(prefix, str) or not prefix or not set(prefix) <= BASE32:
                raise ConfigError(where, f"{field}.{name}".strip("."), f"{prefix!r} is not a geohash prefix")
        regions.append((name, tuple(prefixes)))
    return tuple(regions)


def _spark_conf(table: dict[str, str | bool | int | float], pyproject: Path) -> tuple[tuple[str, str], ...]:
    """`[tool.parity.spark_conf]` as Spark property strings (true/false, 2, 0.5); Spark ignores a key outside
    `spark.` with only a warning, so such a key stops here."""
    for key in table:
        if not key.startswith("spark."):
            raise ConfigError(str(pyproject), f"spark_conf.{key}", "not a Spark property; its name starts with 'spark.'")
    return tuple((key, str(value).lower() if isinstance(value, bool) else str(value)) for key, value in table.items())


def _pydantic_problem(error: object) -> str:
    """One readable phrase for a pydantic error dict."""
    assert isinstance(error, dict)
    if error.get("type") == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    return str(error.get("msg", "invalid value"))
