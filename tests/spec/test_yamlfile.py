"""The one YAML reader: nesting is bounded, and every YAML file parity reads goes through it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from parity.alerts.rules import load_rule
from parity.errors import AlertRuleError, ConfigError
from parity.settings import load_settings
from parity.yamlfile import MAX_DEPTH, TooDeep, load_yaml

DEEP = "[" * 20_000 + "]" * 20_000


def test_a_document_at_the_bound_loads() -> None:
    assert load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


def test_one_level_past_the_bound_is_too_deep_with_its_line() -> None:
    text = "".join("  " * depth + f"k{depth}:\n" for depth in range(MAX_DEPTH)) + "  " * MAX_DEPTH + "[x]\n"
    with pytest.raises(TooDeep) as caught:
        load_yaml(text)
    assert isinstance(caught.value, yaml.YAMLError) and caught.value.problem_mark is not None
    assert caught.value.problem_mark.line == MAX_DEPTH


def test_a_file_is_read_and_its_errors_pass_on(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: 1\n")
    assert load_yaml(tmp_path / "a.yaml") == {"a": 1}
    with pytest.raises(OSError):
        load_yaml(tmp_path / "missing.yaml")


def test_an_alert_rule_nested_too_deep_names_its_file(tmp_path: Path) -> None:
    rule = tmp_path / "deep.yaml"
    rule.write_text(DEEP)
    with pytest.raises(AlertRuleError) as caught:
        load_rule(rule)
    assert str(rule) in str(caught.value) and "nested more than" in str(caught.value)


def test_regions_nested_too_deep_name_their_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.parity]\n")
    (tmp_path / "regions.yaml").write_text(DEEP)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert "regions.yaml" in str(caught.value) and "nested more than" in str(caught.value)
