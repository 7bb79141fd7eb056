"""Adding an alert channel type from outside `parity/`, exactly as `docs/extending.md` shows it.

The module under test is the doc's code block, written into a package of the test's own (`my_alerts.teams`):
a rule naming `type: teams` delivers through it, in process and through the real CLI (which finds it by the
`parity.alert_channels` entry point the doc declares). The receiver is a real HTTP server (conftest.py).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_fixtures import Receiver, check_result, write_rule

from parity.alerts import evaluate_alerts
from parity.alerts.channels import CHANNELS
from parity.alerts.rules import load_rule
from parity.errors import AlertRuleError
from parity.settings import Settings

REPO = Path(__file__).resolve().parents[2]
T0 = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z
RULE = "when: {breach: critical}\nchannels:\n  - {type: teams, url_env: TEST_TEAMS_URL, timeout: 2s, retries: 0}\n"


def doc_block(section: str, language: str) -> str:
    """The first ```language block under the heading `### section` of docs/extending.md."""
    text = (REPO / "docs" / "extending.md").read_text()
    body = text.split(f"### {section}\n", 1)[1].split("\n### ", 1)[0]
    found = re.search(rf"```{language}\n(.*?)```", body, re.DOTALL)
    assert found is not None, f"no {language} block under {section}"
    return found.group(1)


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder holding package `my_alerts` (the doc's module as `my_alerts/teams.py`) and its entry point."""
    root = tmp_path / "plugins"
    (root / "my_alerts").mkdir(parents=True)
    (root / "my_alerts" / "__init__.py").write_text("")
    (root / "my_alerts" / "teams.py").write_text(doc_block("Add an alert channel", "python"))
    info = root / "my_alerts-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-alerts\nVersion: 0.1\n")
    toml = doc_block("Add an alert channel", "toml")
    group, entry = re.search(r'entry-points\."([^"]+)"\]\n(\w+ = "[\w.]+")', toml).groups()  # type: ignore[union-attr]
    (info / "entry_points.txt").write_text(f"[{group}]\n{entry.replace(chr(34), '')}\n")
    monkeypatch.syspath_prepend(str(root))
    saved = dict(CHANNELS)
    yield root
    CHANNELS.clear()
    CHANNELS.update(saved)
    for name in ("my_alerts.teams", "my_alerts"):
        sys.modules.pop(name, None)


def test_a_channel_type_registered_outside_parity_delivers_a_rules_notifications(
    settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, plugins: Path
) -> None:
    importlib.import_module("my_alerts.teams")
    monkeypatch.setenv("TEST_TEAMS_URL", receiver.url("/teams/T0TEAMSSECRET"))
    write_rule(settings, "oncall", RULE)
    [change] = evaluate_alerts([check_result(compared=10_000, matched=9_900)], settings, at_us=T0)
    [delivery] = change.deliveries
    assert (delivery.sent, delivery.destination) == (True, "teams:$TEST_TEAMS_URL")
    [body] = receiver.delivered("/teams/T0TEAMSSECRET")
    assert body["text"].startswith("[CRITICAL] ride_requests: ") and body["id"] == delivery.key


def test_the_cli_finds_an_installed_channel_type_by_its_entry_point(tmp_path: Path, receiver: Receiver,
                                                                     plugins: Path) -> None:
    project = tmp_path / "project"
    (project / "alerts").mkdir(parents=True)
    (project / "alerts" / "oncall.yaml").write_text(RULE)
    (project / "pyproject.toml").write_text('[tool.parity]\ndatabase = "sqlite:///data/parity.db"\n')
    path = os.pathsep.join([str(plugins), str(REPO), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-m", "parity.cli", "alerts", "--project", str(project), "test", "oncall"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": path, "TEST_TEAMS_URL": receiver.url("/teams/x")})
    assert (done.returncode, done.stdout) == (0, "sent test to teams:$TEST_TEAMS_URL (1 attempt)\n"), done.stderr
    assert receiver.delivered("/teams/x")[0]["text"].startswith("[INFO] (test): test notification")


def test_a_rule_naming_an_unregistered_type_names_the_file_the_field_and_the_known_types(tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(RULE)
    with pytest.raises(AlertRuleError) as caught:
        load_rule(path)
    assert str(caught.value) == (f"{path}: channels.0.type: unknown channel type 'teams'; "
                                 "known types: console, jsonl, pagerduty, slack, webhook")
