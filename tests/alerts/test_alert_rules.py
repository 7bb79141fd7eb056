"""Alert rules are validated strictly; errors name the file and the field, and never echo a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.alerts.rules import Condition, Measure, Severity, load_rule, load_rules
from parity.errors import AlertRuleError

FEATURES = ["available_drivers", "avg_eta", "demand_supply", "ride_requests"]


def rule_file(tmp_path: Path, text: str, name: str = "page") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_the_example_rules_of_this_repository_load() -> None:
    rules = {rule.name: rule for rule in load_rules(Path("alerts"), FEATURES)}
    assert {"page_on_breach", "oncall"} <= set(rules)
    assert rules["page_on_breach"].when == {Condition.BREACH: Severity.CRITICAL, Condition.FAILED: Severity.ERROR}
    assert [channel.type for channel in rules["page_on_breach"].channels] == ["console", "jsonl"]
    assert [channel.type for channel in rules["oncall"].channels] == ["slack", "pagerduty"]


def test_a_rule_reads_its_conditions_globs_and_channels(tmp_path: Path) -> None:
    rule = load_rule(rule_file(tmp_path, """
features: ["avg_*", ride_requests]
when: {below: warning, failed: error}
bar: 0.995
agreement: net_of_explained
resolve_after: 3
renotify_after: 30m
channels: [{type: webhook, url: "http://127.0.0.1:9/hook", timeout: 500ms}]
"""), FEATURES)
    assert rule.applies_to("avg_eta") and rule.applies_to("ride_requests") and not rule.applies_to("demand_supply")
    assert rule.bar == 0.995 and rule.measure is Measure.NET_OF_EXPLAINED and rule.resolve_after == 3
    assert rule.renotify_after_us == 30 * 60 * 1_000_000
    assert rule.channels[0].timeout_us == 500_000


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("when: {breach: critical}\nchanels: [{type: console}]\n", "chanels", "unknown key"),
        ("when: {breach: loud}\nchannels: [{type: console}]\n", "when.breach", "'loud' is not one of"),
        ("when: {breach: critical}\nchannels: [{type: email}]\n", "channels.0.type", "unknown channel type 'email'; known types: console, jsonl, pagerduty, slack, webhook"),
        ("when: {below: warning}\nchannels: [{type: console}]\n", "", "condition `below` needs `bar"),
        ("when: {breach: critical}\nchannels: [{type: slack}]\n", "channels.0.url_env", "Field required"),
        ("when: {breach: critical}\nresolve_after: 0\nchannels: [{type: console}]\n", "resolve_after", "greater than or equal to 1"),
        ("when: {breach: critical}\nrenotify_after: soon\nchannels: [{type: console}]\n", "renotify_after", "bad duration"),
        ("when: {breach: critical}\nchannels: [{type: console, timeout: soon}]\n", "channels.0.timeout", "bad duration"),
        ("when: {breach: critical}\nchannels: [{type: console, retries: 3, colour: red}]\n", "channels.0.colour",
         "unknown key"),
        ("features: [ride_request]\nwhen: {breach: critical}\nchannels: [{type: console}]\n", "features.0",
         "unknown feature 'ride_request'"),
    ],
)
def test_an_invalid_rule_names_its_file_and_field(tmp_path: Path, text: str, field: str, problem: str) -> None:
    path = rule_file(tmp_path, text)
    with pytest.raises(AlertRuleError) as caught:
        load_rule(path, FEATURES)
    assert caught.value.path == str(path)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)


def test_a_secret_pasted_where_an_env_var_name_belongs_is_not_echoed(tmp_path: Path) -> None:
    secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
    path = rule_file(tmp_path, f"when: {{breach: critical}}\nchannels: [{{type: slack, url_env: '{secret}'}}]\n")
    with pytest.raises(AlertRuleError) as caught:
        load_rule(path)
    assert caught.value.field == "channels.0.url_env"
    assert "SECRET" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_single_condition_can_be_written_as_condition_and_severity(tmp_path: Path) -> None:
    path = rule_file(tmp_path, "name: page\ncondition: breach\nseverity: critical\nchannels: [{type: console}]\n")
    assert load_rule(path).when == {Condition.BREACH: Severity.CRITICAL}


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("name: paging\ncondition: breach\nseverity: critical\n", "name", "differs from the file name"),
        ("condition: breach\n", "", "say when to alert"),
        ("when: {breach: critical}\nseverity: critical\n", "", "not both"),
    ],
)
def test_a_rule_says_when_to_alert_exactly_once(tmp_path: Path, text: str, field: str, problem: str) -> None:
    path = rule_file(tmp_path, text + "channels: [{type: console}]\n")
    with pytest.raises(AlertRuleError) as caught:
        load_rule(path)
    assert (caught.value.field, problem in str(caught.value)) == (field, True)


def test_a_rule_file_name_must_be_a_rule_name(tmp_path: Path) -> None:
    path = rule_file(tmp_path, "when: {breach: critical}\nchannels: [{type: console}]\n", name="Page On Breach")
    with pytest.raises(AlertRuleError, match="rule file names are lowercase"):
        load_rule(path)
