"""`parity` run in this process (the report-format registry is per process): exit code, stdout and stderr, with
`main`'s error handling (one `error:` line, exit 2), and a bare project whose reports folder holds one check."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from parity.report.text import to_json
from parity.result import CheckResult

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_results import result


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def parity(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Ran:
    from parity.cli import main

    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["parity", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    done = capsys.readouterr()
    return Ran(int(stopped.value.code or 0), done.out, done.err)


def project_with_a_report(root: Path, checked: CheckResult | None = None) -> tuple[Path, CheckResult]:
    """`root` as a project (`[tool.parity]` defaults) with `reports/ride_requests/<run>.json` of one check."""
    checked = checked or result(60)
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\n\n[tool.parity]\ndatabase = "sqlite:///parity.db"\n')
    folder = root / "reports" / checked.feature
    folder.mkdir(parents=True)
    (folder / f"{checked.run_id}.json").write_text(json.dumps(to_json(checked)))
    return root, checked
