"""Time `parity run --all` over 24 hours of the demo's four features at the demo rate (300 events/min).

The online log of each feature is its offline truth for the day written as realtime output (`bench.check_bench`'s
writer): streaming 24 hours through the local Beam replay first takes over 30 minutes here, and a check does the
same work whoever produced the rows. Then `parity run --all --since 24h` in a fresh process, timed, and again.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from parity.events import write_events
from parity.generate import generate_rides
from parity.offline import recompute
from parity.online.files import write_hours
from parity.settings import load_settings
from parity.spec import load_feature

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="parity-day-"))
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\nonline_log = "online"\nreports = "reports"\ndatabase = "sqlite:///parity.db"\n')
    settings = load_settings(root)
    DAY = 1_764_144_000 * 1_000_000  # 2025-11-26T08:00Z
    H = 3_600_000_000
    write_events(generate_rides(DAY, 25 * H, 300, seed=7), settings.event_log, "ride_events", settings.quarantine)
    for name in ("ride_requests", "available_drivers", "avg_eta", "demand_supply"):
        spec = load_feature(name, root)
        truth = recompute(spec, settings, DAY, DAY + 25 * H)
        truth["pane_timing"] = "ON_TIME"
        truth["pane_index"] = np.zeros(len(truth), dtype=np.int64)
        truth["emitted_at"] = truth["window_end"] + pd.Timedelta(seconds=3)
        write_hours(Path(settings.online_log) / name, "stream", pa.Table.from_pandas(truth, preserve_index=False), (DAY, DAY + 25 * H))
        print(name, len(truth), "cells written", flush=True)
    for label in ("first run", "rerun"):
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "parity.cli", "run", "--all", "--since", "24h", "--project", str(root)],
                              check=False, capture_output=True, text=True)
        print(label, f"{time.perf_counter() - began:.1f} s", "exit", done.returncode, flush=True)
        print("\n".join(done.stdout.splitlines()[-6:]), flush=True)
        print("\n".join(done.stderr.splitlines()[-3:]), flush=True)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
