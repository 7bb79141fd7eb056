"""Every test the README's reliability table names exists: a renamed or deleted test breaks the table here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def reliability_rows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Reliability\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| **")]


def named_tests(row: str) -> list[tuple[str, str]]:
    """`file.py::name` references of a row; `::name` alone continues the file named before it."""
    tests, file = [], ""
    for reference in re.findall(r"`([\w/]*\.py)?::(\w+)`", row):
        file = reference[0] or file
        tests.append((file, reference[1]))
    return tests


def test_the_reliability_table_has_a_row_per_guard_each_with_a_test() -> None:
    rows = reliability_rows()
    assert len(rows) >= 6
    assert all(named_tests(row) for row in rows)


def test_every_test_the_reliability_table_names_exists() -> None:
    missing = []
    for row in reliability_rows():
        for file, name in named_tests(row):
            path = ROOT / "tests" / file
            defined = {node.name for node in ast.walk(ast.parse(path.read_text()))
                       if isinstance(node, ast.FunctionDef)} if path.is_file() else set()
            if name not in defined:
                missing.append(f"{file}::{name}")
    assert missing == []
