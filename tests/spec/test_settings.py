"""[tool.parity] settings: defaults, paths relative to the project, strict keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.errors import ConfigError
from parity.settings import load_settings


def test_defaults_without_a_table(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.event_log == tmp_path.resolve() / "data/events"
    assert settings.spark_master == "local[*]"
    assert settings.beam_runner == "BundleBasedDirectRunner"
    assert settings.database == f"sqlite:///{tmp_path.resolve()}/parity.db"


def test_table_values_are_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.parity]\nevent_log = "/lake/events"\nspark_master = "spark://m:7077"\n'
        'beam_options = ["--runner=FlinkRunner", "--parallelism=4"]\ndatabase = "postgresql://u@h/db"\n'
    )
    settings = load_settings(tmp_path)
    assert settings.event_log == Path("/lake/events")
    assert settings.spark_master == "spark://m:7077"
    assert settings.beam_options == ("--runner=FlinkRunner", "--parallelism=4")
    assert settings.database == "postgresql://u@h/db"


def test_unknown_setting_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nevent_logs = "x"\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: \[tool.parity\] event_logs: unknown key"):
        load_settings(tmp_path)


def test_missing_project_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="project directory does not exist"):
        load_settings(tmp_path / "nope")
