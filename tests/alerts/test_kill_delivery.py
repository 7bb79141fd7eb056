"""kill -9 at a random moment of a run that records results, opens incidents and delivers their notifications.

A real child process (evaluate_once.py: the results of one check, several features breaching) is killed with
SIGKILL at a random moment (tests/killing.py), then run again to completion. After each kill: every result
recorded has its incident and notifications (all or nothing), every JSONL line is whole. After the rerun:
every result recorded, every notification sent; the JSONL file, which dedupes by key itself, holds each once;
the HTTP receiver accepted a key twice only when an attempt with it was cut off mid-send (the receiver dedupes
by key, so it acts once). `PARITY_FUZZ=full` runs 12 kill points per database, the normal run 2.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from alert_fixtures import Receiver, check_result, write_rule
from killing import kill_at_random, kill_points

from parity import results_store as alert_store
from parity.alerts import outbox
from parity.alerts.outbox import NotificationStatus
from parity.settings import Settings

SCRIPT = Path(__file__).with_name("evaluate_once.py")
FEATURES = [f"f{index}" for index in range(8)]
RESULTS = json.dumps([check_result(compared=10_000, matched=9_900, feature=name, run_id=f"run-{name}").to_json()
                      for name in FEATURES])


def rule(receiver: Receiver) -> str:
    return f"""
when: {{breach: critical}}
channels:
  - {{type: webhook, url: "{receiver.url('/hook')}", timeout: 10s, retries: 3, backoff: 10ms}}
  - {{type: jsonl, path: out/alerts.jsonl}}
"""


def argv(settings: Settings) -> list[str]:
    return [sys.executable, str(SCRIPT), str(settings.project), settings.database, RESULTS]


def snapshot(settings: Settings) -> tuple[list, list, list, list]:
    engine = alert_store.connect(settings.database)
    with engine.connect() as conn:
        found = (alert_store.recorded_results(conn), outbox.list_incidents(conn, None),
                 outbox.list_notifications(conn), outbox.list_attempts(conn))
    engine.dispose()
    return found


def jsonl_ids(settings: Settings) -> list[str]:
    path = settings.project / "out" / "alerts.jsonl"
    if not path.exists():
        return []
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "a half-written JSONL line is visible"
    return [json.loads(line)["id"] for line in text.splitlines()]


def start_over(settings: Settings, receiver: Receiver) -> None:
    """Forget a run that finished before its kill: an empty store, no JSONL file, nothing received."""
    engine = alert_store.connect(settings.database)
    alert_store.metadata.drop_all(engine)
    engine.dispose()
    (settings.project / "out" / "alerts.jsonl").unlink(missing_ok=True)
    receiver.received.clear()


@pytest.fixture(scope="module")
def run_seconds(tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long an undisturbed run takes here and now: kills land in its span."""
    project = tmp_path_factory.mktemp("timing")
    (project / "alerts").mkdir()
    receiver = Receiver()
    receiver.delay_s = 0.02
    try:
        (project / "alerts" / "oncall.yaml").write_text(rule(receiver))
        began = time.monotonic()
        done = subprocess.run([sys.executable, str(SCRIPT), str(project), f"sqlite:///{project / 'p.db'}", RESULTS],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return time.monotonic() - began
    finally:
        receiver.close()


@pytest.mark.parametrize("point", range(kill_points(full=12, sample=2)))
def test_kill_mid_alerting_then_rerun_loses_nothing_and_sends_nothing_twice(
    settings: Settings, receiver: Receiver, run_seconds: float, point: int
) -> None:
    write_rule(settings, "oncall", rule(receiver))
    receiver.delay_s = 0.02
    rng = random.Random(point)
    high = run_seconds
    for _ in range(4):  # a run that ended before its kill is not a kill point: try again, sooner
        outcome = kill_at_random(argv(settings), low_s=0.3 * high, high_s=high, rng=rng)
        if outcome.killed:
            break
        assert outcome.returncode == 0, outcome.stderr
        high = 0.6 * outcome.delay_s
        start_over(settings, receiver)
    assert outcome.killed, "the child always finished before its kill"

    recorded, incidents, queued, _ = snapshot(settings)
    assert len(recorded) == len(incidents) == len(queued) // 2  # each result with its incident and 2 notifications
    assert len(set(jsonl_ids(settings))) == len(jsonl_ids(settings))

    done = subprocess.run(argv(settings), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr

    recorded, incidents, queued, attempts = snapshot(settings)
    assert sorted(row["feature"] for row in recorded) == FEATURES  # no result lost, none recorded twice
    assert sorted(incident.feature for incident in incidents) == FEATURES
    assert [n.status for n in queued] == [NotificationStatus.SENT] * 2 * len(FEATURES)  # no notification lost
    hooks = {n.key for n in queued if n.channel.type == "webhook"}
    logged = [n.key for n in queued if n.channel.type == "jsonl"]
    assert jsonl_ids(settings) == logged  # each once, in the order they were queued
    accepted = receiver.accepted_keys("/hook")
    assert set(accepted) == hooks
    cut_off = {a.notification_key for a in attempts if a.outcome == "interrupted"}
    repeats = {key for key, times in accepted.items() if times > 1}
    assert repeats <= cut_off  # a repeat only where a send was cut off before its answer was recorded
    assert all(times <= 1 + sum(a.notification_key == key and a.outcome == "interrupted" for a in attempts)
               for key, times in accepted.items())
    print(f"kill point {point}: killed after {outcome.delay_s:.2f}s; sends cut off {len(cut_off)}, "
          f"repeats the receiver dropped {sum(times - 1 for times in accepted.values())}, JSONL duplicates 0")
    numbers = Counter((a.notification_key, a.number) for a in attempts)
    assert all(count == 1 for count in numbers.values()) and all(a.finished_at_us for a in attempts)
