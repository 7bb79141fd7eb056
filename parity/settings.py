"""Project settings: `[tool.parity]` of the feature project's pyproject.toml, read once into one frozen value."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parity.errors import ConfigError


class _ToolParity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_log: str = "data/events"
    online_log: str = "data/online"
    quarantine: str = "data/quarantine"
    reports: str = "reports"
    database: str = "sqlite:///parity.db"
    spark_master: str = "local[*]"
    beam_runner: str = "BundleBasedDirectRunner"
    beam_options: list[str] = Field(default_factory=list)
    clock_skew_bound: str = "5m"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs to know about the project it runs in. Paths are absolute."""

    project: Path
    event_log: Path
    online_log: Path
    quarantine: Path
    reports: Path
    database: str
    spark_master: str
    beam_runner: str
    beam_options: tuple[str, ...]
    clock_skew_bound_us: int

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
    from parity.spec import parse_duration

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
    return Settings(
        project=root,
        event_log=under_root(raw.event_log),
        online_log=under_root(raw.online_log),
        quarantine=under_root(raw.quarantine),
        reports=under_root(raw.reports),
        database=database,
        spark_master=raw.spark_master,
        beam_runner=raw.beam_runner,
        beam_options=tuple(raw.beam_options),
        clock_skew_bound_us=skew,
    )


def _pydantic_problem(error: object) -> str:
    """One readable phrase for a pydantic error dict."""
    assert isinstance(error, dict)
    if error.get("type") == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    return str(error.get("msg", "invalid value"))
