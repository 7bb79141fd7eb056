"""The generated project of the scheduled-run tests (described in tests/schedule/conftest.py): its constants, the
shared logs and a project reading them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from parity.cli import parse_time

REPO = Path(__file__).resolve().parents[2]
FEATURE = "ride_requests"
START = "2026-11-26T08:00:00Z"
END = "2026-11-26T10:00:00Z"
HOURS = (parse_time("2026-11-26T08:00:00Z", "start"), parse_time("2026-11-26T09:00:00Z", "start"))


@dataclass(frozen=True, slots=True)
class Logs:
    event_log: Path
    online_log: Path


def make_project(root: Path, logs: Logs, database: str) -> Path:
    (root / "realtime_jobs").mkdir(parents=True)
    (root / "offline_queries").mkdir()
    (root / "alerts").mkdir()
    shutil.copy(REPO / "realtime_jobs" / f"{FEATURE}.yaml", root / "realtime_jobs")
    shutil.copy(REPO / "offline_queries" / f"{FEATURE}.sql", root / "offline_queries")
    (root / "pyproject.toml").write_text(
        "[tool.parity]\n"
        f'event_log = "{logs.event_log}"\nonline_log = "{logs.online_log}"\n'
        f'quarantine = "quarantine"\nreports = "reports"\ndatabase = "{database}"\n'
    )
    return root
