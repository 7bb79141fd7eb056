"""Killing the process mid-check or mid-delivery, then running again, loses nothing and sends nothing twice.

A real child process runs evaluate_alerts and is killed with SIGKILL; the webhook receiver is a real HTTP server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alert_fixtures import SLACK_SECRET_PATH, Receiver, check_result, oncall_rule, write_rule

from parity import results_store as alert_store
from parity.alerts import open_incidents, outbox
from parity.alerts.outbox import NotificationStatus
from parity.settings import Settings

SCRIPT = Path(__file__).with_name("evaluate_once.py")
pytestmark = pytest.mark.usefixtures("secrets")


def start(settings: Settings, result_json: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(settings.project), settings.database, result_json, *extra],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(settings: Settings, result_json: str) -> str:
    child = start(settings, result_json)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    return out


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL


def stored(settings: Settings) -> tuple[list, list, list]:
    engine = alert_store.connect(settings.database)
    with engine.connect() as conn:
        found = (alert_store.recorded_results(conn), outbox.list_notifications(conn),
                 outbox.list_attempts(conn))
    engine.dispose()
    return found


def test_a_kill_mid_delivery_then_a_rerun_delivers_each_notification_once(
    settings: Settings, receiver: Receiver
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver).replace("timeout: 2s, retries: 1", "timeout: 60s, retries: 1"))
    result = check_result(compared=10_000, matched=9_900)
    result_json = json.dumps(result.to_json())
    receiver.mode = "hang"
    child = start(settings, result_json)
    assert receiver.arrived.wait(60), child.stderr.read() if child.poll() is not None else "no request arrived"
    kill(child)  # the Slack request is in flight: the receiver has it and has not answered

    recorded, queued, attempts = stored(settings)
    assert len(recorded) == 1 and len(open_incidents(settings)) == 1
    assert [n.status for n in queued] == [NotificationStatus.PENDING, NotificationStatus.PENDING]
    assert [(a.number, a.outcome) for a in attempts] == [(1, None)]

    receiver.mode = "ok"
    receiver.release.set()
    out = run(settings, result_json)  # the same check's result again: recorded already, only the outbox moves
    assert out == ""

    slack = [r for r in receiver.received if r.path == SLACK_SECRET_PATH]
    assert [r.answered for r in slack] == [None, 202]  # the hung request was never acknowledged
    assert slack[0].body == slack[1].body  # the same notification, same key: a receiver can drop the repeat
    [trigger] = receiver.delivered("/v2/enqueue")
    assert trigger["dedup_key"] == open_incidents(settings)[0].dedup_key

    recorded, queued, attempts = stored(settings)
    assert len(recorded) == 1
    assert [n.status for n in queued] == [NotificationStatus.SENT, NotificationStatus.SENT]
    slack_key = queued[0].key
    assert [(a.number, a.outcome) for a in attempts if a.notification_key == slack_key] == [
        (1, "interrupted"), (2, "ok")]

    run(settings, result_json)
    assert len(receiver.received) == 3  # a third run sends nothing


def test_a_kill_mid_check_leaves_no_half_written_result_and_a_rerun_sends_once(
    settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    result_json = json.dumps(check_result(compared=10_000, matched=9_900).to_json())
    marker = tmp_path / "in-transaction"
    child = start(settings, result_json, "--pause-in-transaction", str(marker))
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, child.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    kill(child)  # the result, the incident and a notification are written, but not committed

    assert stored(settings) == ([], [], [])
    assert open_incidents(settings) == []
    assert receiver.received == []

    out = run(settings, result_json)
    assert out.split() == ["opened", "oncall", "breach"]
    recorded, queued, _ = stored(settings)
    assert len(recorded) == 1
    assert [n.status for n in queued] == [NotificationStatus.SENT, NotificationStatus.SENT]
    assert len(receiver.delivered("/v2/enqueue")) == 1 and len(receiver.delivered(SLACK_SECRET_PATH)) == 1
