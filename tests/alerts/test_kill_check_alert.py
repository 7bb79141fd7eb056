"""kill -9 at a random moment of `parity check --alert` (the real CLI in a subprocess), then the same command again.

The project: a generated 20-minute event log, `ride_requests` and `available_drivers` streamed on Beam, and a
third of ride_requests' online rows removed (a breach: one incident, one trigger per channel); available_drivers
passes. Alert channels: a webhook at a real HTTP receiver (it dedupes by key) and a JSONL file. After each kill
and a complete rerun: no report half-written, every result of the rerun recorded, one incident, its trigger sent
once to the JSONL file and accepted by the receiver once (a second time only if a send was cut off mid-request).
`PARITY_FUZZ=full` runs 12 kill points; the normal run 1 (each costs two checks on Spark).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from alert_fixtures import Receiver
from killing import FULL, kill_at_random, kill_points

from parity import results_store as alert_store
from parity.alerts import outbox
from parity.alerts.outbox import NotificationStatus
from parity.errors import EXIT_BREACH, EXIT_ERROR
from parity.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
FEATURES = ("ride_requests", "available_drivers")
START, END = "2026-11-26T08:00:00Z", "2026-11-26T08:10:00Z"
ENV = {**os.environ, "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


def parity(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "parity.cli", *args, "--project", str(project)]


def check(project: Path) -> list[str]:
    return parity(project, "check", *FEATURES, "--start", START, "--end", END, "--alert")


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated, streamed and damaged project every kill point starts from a copy of."""
    project = tmp_path_factory.mktemp("check_alert_project")
    for feature in FEATURES:
        for folder, suffixes in (("realtime_jobs", (".yaml", ".py")), ("offline_queries", (".sql",))):
            for suffix in suffixes:
                if (REPO / folder / f"{feature}{suffix}").exists():
                    (project / folder).mkdir(exist_ok=True)
                    shutil.copy(REPO / folder / f"{feature}{suffix}", project / folder)
    (project / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\nonline_log = "online"\n'
                                            'spark_master = "local[2]"\n')
    for args in (("generate", "--start", START, "--duration", "20m", "--rate", "60", "--seed", "5"),
                 ("stream", *FEATURES, "--start", START, "--end", "2026-11-26T08:20:00Z")):
        done = subprocess.run(parity(project, *args), capture_output=True, text=True, env=ENV, timeout=600,
                              check=False)
        assert done.returncode == 0, done.stderr
    [online] = (project / "online" / "ride_requests").rglob("*.parquet")  # one hour: one file
    table = pq.read_table(online)
    pq.write_table(table.take([i for i in range(table.num_rows) if i % 3]), online)  # a third of the cells missing
    return project


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def fresh(streamed: Path, where: Path, receiver: Receiver) -> Path:
    project = where / "project"
    shutil.copytree(streamed, project, ignore=shutil.ignore_patterns("reports", "*.db"))
    (project / "alerts").mkdir()
    (project / "alerts" / "oncall.yaml").write_text(f"""
when: {{breach: critical, failed: error}}
channels:
  - {{type: webhook, url: "{receiver.url('/hook')}", timeout: 10s, retries: 3, backoff: 10ms}}
  - {{type: jsonl, path: out/alerts.jsonl}}
""")
    return project


@pytest.fixture(scope="module")
def check_seconds(streamed: Path, tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long an undisturbed `parity check --alert` takes here and now (and that it breaches), under
    `PARITY_FUZZ=full`; the normal run saves that check and guesses 20 s (a run that ends before its kill is
    retried with a sooner kill, so a fast machine still gets its kill point)."""
    if not FULL:
        return 20.0
    receiver = Receiver()
    try:
        project = fresh(streamed, tmp_path_factory.mktemp("timing"), receiver)
        began = time.monotonic()
        done = subprocess.run(check(project), capture_output=True, text=True, env=ENV, timeout=600, check=False)
        assert done.returncode == EXIT_BREACH, done.stderr
        assert len(receiver.accepted_keys("/hook")) == 1
        return time.monotonic() - began
    finally:
        receiver.close()


def reports(project: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {feature: [] for feature in FEATURES}
    for path in sorted((project / "reports").glob("*/*.json")):
        found[path.parent.name].append(json.loads(path.read_text()))  # a half-written report would not parse
    return found


@pytest.mark.parametrize("point", range(kill_points(full=12, sample=1)))
def test_kill_check_alert_then_rerun_records_every_result_and_sends_the_trigger_once(
    streamed: Path, check_seconds: float, receiver: Receiver, tmp_path: Path, point: int
) -> None:
    project = fresh(streamed, tmp_path, receiver)
    rng = random.Random(1000 + point)
    high = check_seconds
    for _ in range(4):  # a run that ended before its kill is not a kill point: try again, sooner
        outcome = kill_at_random(check(project), low_s=0.4 * high, high_s=high, rng=rng, env=ENV, cwd=project)
        if outcome.killed:
            break
        assert outcome.returncode == EXIT_BREACH, outcome.stderr
        shutil.rmtree(project)
        project = fresh(streamed, tmp_path / f"again{_}", receiver)
        receiver.received.clear()  # what the finished run sent is not this kill point's
        high = 0.7 * outcome.delay_s
    assert outcome.killed, "the check always finished before its kill"
    before = {feature: {r["run_id"] for r in found} for feature, found in reports(project).items()}

    done = subprocess.run(check(project), capture_output=True, text=True, env=ENV, cwd=project, timeout=600,
                          check=False)
    assert done.returncode == EXIT_BREACH, done.stderr
    assert "Traceback" not in done.stderr

    rerun = {feature: [r for r in found if r["run_id"] not in before[feature]] for feature, found in reports(project).items()}
    assert all(len(found) == 1 for found in rerun.values())
    settings = load_settings(project)
    engine = alert_store.connect(settings.database)
    with engine.connect() as conn:
        recorded = alert_store.recorded_results(conn)
        incidents = outbox.list_incidents(conn, None)
        queued = outbox.list_notifications(conn)
        attempts = outbox.list_attempts(conn)
    engine.dispose()
    recorded_runs = {(row["feature"], row["run_id"]) for row in recorded}
    assert all((feature, found[0]["run_id"]) in recorded_runs for feature, found in rerun.items())  # none lost
    assert [(i.feature, i.status) for i in incidents] == [("ride_requests", "open")]
    assert [(n.channel.type, n.message.kind, n.status) for n in queued] == [
        ("webhook", "trigger", NotificationStatus.SENT), ("jsonl", "trigger", NotificationStatus.SENT)]
    lines = (project / "out" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [queued[1].key]
    accepted = receiver.accepted_keys("/hook")
    cut_off = sum(a.outcome == "interrupted" for a in attempts if a.notification_key == queued[0].key)
    assert list(accepted) == [queued[0].key] and accepted[queued[0].key] <= 1 + cut_off
    print(f"kill point {point}: killed after {outcome.delay_s:.1f}s of {check_seconds:.1f}s; results of the killed "
          f"run recorded {len(recorded) - len(FEATURES)}; sends cut off {cut_off}; "
          f"repeats the receiver dropped {accepted[queued[0].key] - 1}")


def test_a_corrupt_store_stops_check_alert_before_any_report(streamed: Path, receiver: Receiver, tmp_path: Path) -> None:
    project = fresh(streamed, tmp_path, receiver)
    database = project / "parity.db"
    database.write_bytes(b"\0garbage" * 512)
    done = subprocess.run(check(project), capture_output=True, text=True, env=ENV, cwd=project, timeout=600,
                          check=False)
    assert done.returncode == EXIT_ERROR
    assert done.stderr.splitlines() == [
        (f"error: results store {database}: file is not a database; move the file aside to start an empty store, "
         "or restore it from a backup")]
    assert not (project / "reports").exists() and receiver.received == []
