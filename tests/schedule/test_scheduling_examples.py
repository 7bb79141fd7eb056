"""The scheduling examples call `parity run --all --alert` hourly; the Airflow DAG parses where Airflow is installed."""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

import pytest

from parity.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAG_FILE = EXAMPLES / "airflow" / "parity_hourly.py"


def test_the_cron_line_runs_parity_run_all_alert_hourly() -> None:
    lines = [line for line in (EXAMPLES / "cron" / "parity.cron").read_text().splitlines()
             if line and not line.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(maxsplit=5)
    assert fields[:5] == ["5", "*", "*", "*", "*"]
    words = shlex.split(fields[5].split("&&")[1].split(">>")[0])
    assert words[0].endswith("parity") and words[1:] == ["run", "--all", "--alert", "--since", "24h"]
    assert "run" in {command.name or command.callback.__name__ for command in app.registered_commands
                     if command.callback is not None}


def test_the_dag_file_is_python_that_calls_parity_run_all_alert_hourly() -> None:
    tree = ast.parse(DAG_FILE.read_text())
    strings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    assert any(" run --all --alert " in s for s in strings)
    assert "5 * * * *" in strings


def test_the_dag_imports_and_parses_in_airflow() -> None:
    pytest.importorskip("airflow", reason="Airflow is not installed here (it is not a dependency of parity)")
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE), include_examples=False)
    assert bag.import_errors == {}
    dag = bag.get_dag("parity_hourly")
    assert dag is not None and [task.task_id for task in dag.tasks] == ["parity_run"]
    assert "run --all --alert" in dag.tasks[0].bash_command
