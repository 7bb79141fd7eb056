"""`parity stream --into redis://...` end to end on a small generated project: both replay modes write, for every key
of the stream's windows, the newest pane its online log holds (and nothing of the windows it does not own), the
online log is written as before, and a bad store is one line before anything runs."""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow.dataset as ds
import pytest
import redis

from parity.cli import main
from parity.events import read_events
from parity.offline import event_range
from parity.online_store import ConflictRule, OnlineStore, StoreTarget
from parity.online_store.server import LocalServer
from parity.realtime import Mode, run_stream
from parity.settings import load_settings
from parity.spec import load_feature
from tests.conftest import at, us

REPO = Path(__file__).resolve().parents[2]
START, END = "2026-11-26T07:52:00Z", "2026-11-26T08:00:00Z"
START_US, END_US = 1_795_679_520_000_000, 1_795_680_000_000_000


def parity(project: Path, *args: str) -> tuple[int, str, str]:
    """The CLI run in this process (as `parity ARGS --project PROJECT`, through its one error mapping):
    exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with (mock.patch.object(sys, "argv", ["parity", *args, "--project", str(project)]),
          contextlib.redirect_stdout(out), contextlib.redirect_stderr(err)):
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stream_into")
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\nonline_log = "online"\n')
    code, _, err = parity(root, "generate", "--start", "2026-11-26T07:50:00Z", "--duration", "12m", "--rate", "40", "--seed", "3")
    assert code == 0, err
    return root


def newest_panes(project: Path) -> dict[str, dict[str, Any]]:
    """Per geohash6, the pane of the online log with the latest window, and of that window the last pane."""
    newest: dict[str, dict[str, Any]] = {}
    rows = ds.dataset(project / "online" / "ride_requests", format="parquet", exclude_invalid_files=True).to_table()
    for row in rows.to_pylist():
        held = newest.get(row["geohash6"])
        if held is None or (row["window_end"], row["pane_index"]) > (held["window_end"], held["pane_index"]):
            newest[row["geohash6"]] = row
    return newest


def assert_store_holds_the_newest_panes(project: Path, store: OnlineStore, raw: redis.Redis) -> None:
    newest = newest_panes(project)
    assert len(newest) > 20
    assert all(START_US <= row["window_start"].timestamp() * 1e6 < END_US for row in newest.values())
    assert sorted(raw.keys()) == sorted(f'parity:{{"geohash6":"{key}"}}' for key in newest)  # no edge window's key
    held = store.read("ride_requests", [{"geohash6": key} for key in newest])
    for row, value in zip(newest.values(), held, strict=True):
        assert value is not None
        assert (value.values, value.window_end_us) == ({"requests": row["requests"]}, int(row["window_end"].timestamp() * 1e6))


def test_stream_into_writes_the_newest_pane_of_every_key_beside_the_online_log(
        project: Path, redis_server: LocalServer, store: OnlineStore, raw: redis.Redis) -> None:
    code, out, err = parity(project, "stream", "ride_requests", "--start", START, "--end", END, "--mode", "faithful",
                            "--into", redis_server.url, "--ttl", "1h")
    assert code == 0, err
    assert f"each pane into {redis_server.url} (newest-window)" in out
    assert_store_holds_the_newest_panes(project, store, raw)
    assert 3590 <= raw.ttl(raw.keys()[0]) <= 3600


def test_the_fast_replay_writes_the_same_store(project: Path, store: OnlineStore, redis_server: LocalServer,
                                               raw: redis.Redis) -> None:
    settings = load_settings(project)
    spec = load_feature("ride_requests", settings.project)
    events = read_events(settings.event_log, spec.source, *event_range(spec.window, START_US, END_US))
    result = run_stream(spec, settings, events, windows=(START_US, END_US), mode=Mode.FAST,
                        into=StoreTarget(redis_server.url, ConflictRule.NEWEST_WINDOW))
    assert result.into is not None and result.rows > 0
    assert_store_holds_the_newest_panes(project, store, raw)


@pytest.mark.parametrize(("args", "words"), [
    (["--into", "memcached://127.0.0.1:11211"], "error: online store memcached://127.0.0.1:11211: unknown scheme memcached://; known: redis://, rediss://"),
    (["--into", "redis://:pw@127.0.0.1:1/0"], "error: online store redis://:***@127.0.0.1:1/0: unreachable after"),
    (["--into", "redis://127.0.0.1:1/0", "--store-rule", "first-arrival"], "error: --store-rule: 'first-arrival' is not one of newest-window, last-arrival"),
    (["--ttl", "1h"], "error: --store-rule and --ttl apply to a store"),
    (["--into", "redis://127.0.0.1:1/0", "--ttl", "0s"], "error: --ttl: '0s' must be longer than zero"),
])
def test_a_bad_store_option_is_one_line_before_anything_runs(project: Path, args: list[str], words: str) -> None:
    code, out, err = parity(project, "stream", "ride_requests", "--start", START, "--end", END, *args)
    assert code == 2 and not out
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith(words) and "pw" not in err


@pytest.mark.parametrize(("rule", "window_minute", "requests"), [
    (ConflictRule.NEWEST_WINDOW, 1, 1),  # the 10:01 window stays
    (ConflictRule.LAST_ARRIVAL, 0, 3),  # the 10:00 window's late pane, fired after 10:01's, replaced it
])
def test_a_late_pane_of_an_older_window_reaches_the_store_by_the_rule(
        tmp_path: Path, redis_server: LocalServer, store: OnlineStore, rule: ConflictRule, window_minute: int,
        requests: int, ride_event: Any, event_log_writer: Any, settings_over: Any) -> None:
    """SF: two requests in 10:00 and one in 10:01 on time; a third 10:00 request arrives at 10:02:40, after the
    10:01 window fired, within the allowed lateness (2 m): the faithful replay fires 10:00's LATE pane last."""
    rows = [ride_event("a", at(0, 10), "ride_requested"), ride_event("b", at(0, 20), "ride_requested"),
            ride_event("c", at(1, 5), "ride_requested"),
            ride_event("late", at(0, 50), "ride_requested", ingest_time=at(2, 40))]
    event_log_writer(tmp_path / "events", "ride_events", rows)
    settings = settings_over(tmp_path / "events")
    spec = load_feature("ride_requests", settings.project)
    window = (us(at(0)), us(at(2)))
    result = run_stream(spec, settings, read_events(settings.event_log, spec.source, *event_range(spec.window, *window)),
                        windows=window, mode=Mode.FAITHFUL, out_dir=tmp_path / "online", into=StoreTarget(redis_server.url, rule))
    assert [r["pane_timing"] for r in result.panes().to_pylist()] == ["ON_TIME", "LATE", "ON_TIME"]
    [held] = store.read("ride_requests", [{"geohash6": "9q8yyk"}])
    assert held is not None
    assert (held.window_start_us, held.values) == (us(at(window_minute)), {"requests": requests})
