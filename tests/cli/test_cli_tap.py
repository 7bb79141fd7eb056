"""`parity tap` as a user runs it: bad options are one line and exit 2; against a real Redis on a compressed
simulated clock it reads the online log's keys into the served log and says so; a store that is not there is
a clear warning with the reads it missed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parity.errors import OnlineStoreError
from parity.online_store import Pane, open_store
from parity.online_store.server import LocalServer, _free_port, server_binary

REPO = Path(__file__).resolve().parents[2]
START = "2027-01-15T08:10:00Z"
WINDOW_US = 1_800_000_000_000_000 // 3_600_000_000 * 3_600_000_000 + 8 * 60_000_000  # 08:08, the window due at 08:10
STAMP = pa.timestamp("us", tz="UTC")


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
                          capture_output=True, text=True, cwd=project, timeout=300, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The repository's features; the online log holds two ride_requests cells of 08:08."""
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nonline_log = "online"\nserved_log = "served"\n')
    hour = tmp_path / "online" / "ride_requests" / "date=2027-01-15" / "hour=08"
    hour.mkdir(parents=True)
    start = pa.array([WINDOW_US] * 2, pa.int64()).cast(STAMP)
    end = pa.array([WINDOW_US + 60_000_000] * 2, pa.int64()).cast(STAMP)
    pq.write_table(pa.table({"geohash6": ["9q8yyk", "dr5reg"], "requests": pa.array([3, 1], pa.int64()),
                             "window_start": start, "window_end": end, "pane_timing": ["ON_TIME"] * 2,
                             "pane_index": pa.array([0, 0], pa.int64()), "emitted_at": end}),
                   hour / "pipeline-0.parquet")
    return tmp_path


@pytest.fixture
def server() -> Iterator[LocalServer]:
    try:
        server_binary()
    except OnlineStoreError as exc:
        pytest.skip(f"no Redis server to test against: {exc}")
    with LocalServer() as local:
        yield local


@pytest.mark.parametrize(("options", "words"), [
    (["--rate", "fast"], ["--rate", "200/s"]),
    (["--for", "0s"], ["--for"]),
    (["--clock", "simulated"], ["--start"]),
    (["--clock", "sundial"], ["--clock", "wall"]),
    (["--keys", "0"], ["--keys"]),
])
def test_bad_tap_options_are_one_line(project: Path, options: list[str], words: list[str]) -> None:
    done = parity(project, "tap", "ride_requests", "--store", "redis://127.0.0.1:1/0", *options)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert all(word in line for word in words), line


def test_tap_reads_the_online_logs_keys_from_redis_into_the_served_log(project: Path, server: LocalServer) -> None:
    store = open_store(server.url)
    store.write("ride_requests", [Pane({"geohash6": "9q8yyk"}, {"requests": 3}, WINDOW_US, WINDOW_US + 60_000_000)],
                now_us=WINDOW_US + 61_000_000)
    store.close()
    done = parity(project, "tap", "ride_requests", "--store", server.url, "--rate", "20/s", "--for", "1m",
                  "--clock", "simulated", "--start", START, "--speed", "60")
    assert done.returncode == 0, done.stderr
    assert "simulated clock" in done.stderr and "60x faster" in done.stderr
    # 2 keys a batch at 20 reads/s of wall time is a batch every 6 simulated seconds: at most 10 in the minute.
    found = re.search(r"ride_requests: (\d+) reads \((\d+) keys present\)", done.stdout)
    assert found is not None, done.stdout
    reads, present = int(found[1]), int(found[2])
    assert 10 <= reads <= 20 and present == reads // 2
    files = list((project / "served" / "ride_requests" / "date=2027-01-15" / "hour=08").glob("tap_*.parquet"))
    table = pq.read_table(files[0])
    assert len(files) == 1 and table.num_rows == reads and set(table.column("clock").to_pylist()) == {"simulated"}
    assert table.schema.field("requests").type == pa.int64()  # the online log's type, absent keys too


def test_a_store_that_is_not_there_is_a_warning_with_the_missed_reads(project: Path) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    done = parity(project, "tap", "ride_requests", "--store", url, "--rate", "20/s", "--for", "30s",
                  "--clock", "simulated", "--start", START, "--speed", "60")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert re.search(r"\d+ reads missed", done.stderr) and url in done.stderr
    assert "the next tap carries on" in done.stderr
    assert not list((project / "served").rglob("*.parquet"))
