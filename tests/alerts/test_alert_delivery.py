"""Delivery under faults: a sender that raises, a torn JSONL file, a long JSONL file, two deliverers at once.

Every test runs on SQLite and on PostgreSQL (see conftest.py); the receiver is a real HTTP server and the
concurrent deliverers are real processes.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alert_fixtures import Receiver, check_result, write_rule

from parity.alerts import deliver_pending, evaluate_alerts, open_incidents
from parity.alerts import store as alert_store
from parity.alerts.channels import SENDERS, DeliveryFailed, Message, NotificationKind, send
from parity.alerts.delivery import now_us
from parity.alerts.rules import Channel, Severity
from parity.alerts.store import Notification, NotificationStatus
from parity.settings import Settings

T0 = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z
BREACH = {"compared": 10_000, "matched": 9_900}
BAD_SLACK_URL = "hooks.slack.com/services/T0BAD/B0BAD/xoxbadtokensecret"  # no scheme: urllib cannot even build it
DELIVER = Path(__file__).with_name("deliver_once.py")


def everything_stored(settings: Settings) -> str:
    engine = alert_store.connect(settings.database)
    with engine.connect() as conn:
        text = json.dumps([alert_store.recorded_results(conn), [repr(n) for n in alert_store.list_notifications(conn)],
                           [repr(a) for a in alert_store.list_attempts(conn)]])
    engine.dispose()
    return text


def jsonl_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def message(feature: str = "ride_requests") -> Message:
    return Message(uuid.uuid4().hex, NotificationKind.TRIGGER, "oncall", feature, "inc", f"parity/{feature}/oncall/inc",
                   "breach", Severity.CRITICAL, f"{feature}: breach", T0)


def test_a_malformed_secret_url_fails_its_notification_alone_and_never_shows_the_secret(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEST_BAD_SLACK", BAD_SLACK_URL)
    write_rule(settings, "oncall", """
when: {breach: critical}
channels:
  - {type: slack, url_env: TEST_BAD_SLACK, timeout: 2s, retries: 1, backoff: 10ms}
  - {type: jsonl, path: out/alerts.jsonl}
""")
    caplog.set_level(logging.DEBUG)
    [first] = evaluate_alerts([check_result(**BREACH, feature="ride_requests")], settings, at_us=T0)
    [second] = evaluate_alerts([check_result(**BREACH, feature="avg_eta")], settings, at_us=T0 + 1)

    slack_first, jsonl_first = first.deliveries
    assert (slack_first.sent, slack_first.attempts, jsonl_first.sent) == (False, 2, True)
    assert slack_first.detail == "$TEST_BAD_SLACK is not an http(s) URL such as https://host/path; fix the value (not shown)"
    assert [d.sent for d in second.deliveries] == [False, True]  # a later run is not stopped at the jammed one
    lines = [json.loads(line) for line in (settings.project / "out" / "alerts.jsonl").read_text().splitlines()]
    assert [line["feature"] for line in lines] == ["ride_requests", "avg_eta"]

    engine = alert_store.connect(settings.database)
    with engine.connect() as conn:
        queued = alert_store.list_notifications(conn)
        attempts = alert_store.list_attempts(conn)
    engine.dispose()
    assert [(n.channel.type, n.status) for n in queued] == [
        ("slack", NotificationStatus.PENDING), ("jsonl", NotificationStatus.SENT),
        ("slack", NotificationStatus.PENDING), ("jsonl", NotificationStatus.SENT)]
    assert all(a.finished_at_us is not None for a in attempts)  # every attempt closed, none left in flight
    assert len(open_incidents(settings)) == 2
    out, err = capsys.readouterr()
    seen = out + err + caplog.text + everything_stored(settings)
    for piece in ("xoxbadtokensecret", "T0BAD", "hooks.slack.com"):
        assert piece not in seen


@pytest.mark.parametrize("value", ["https://hooks.slack.com:xoxportsecret/services/x", "https://hooks.slack.com/\nxoxctlsecret"],
                         ids=["bad-port", "control-character"])
def test_a_url_that_http_client_refuses_is_reported_without_quoting_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv("TEST_BAD_SLACK", value)
    channel = Channel("slack", 2_000_000, 0, 10_000, url_env="TEST_BAD_SLACK")
    with pytest.raises(DeliveryFailed) as failed:
        send(message(), channel, tmp_path)
    assert failed.value.detail == "$TEST_BAD_SLACK is not a valid URL; fix the value (not shown)"
    assert "secret" not in failed.value.detail


def test_any_exception_in_a_sender_becomes_a_delivery_failure_that_withholds_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEST_HOOK", "https://example.invalid/xoxhooksecret")

    def broken(message: Message, channel: Channel, project: Path, *, again: bool) -> None:
        raise RuntimeError(f"cannot reach {os.environ['TEST_HOOK']}"[:-3])  # a piece of the secret, not all of it

    monkeypatch.setitem(SENDERS, "webhook", broken)
    with pytest.raises(DeliveryFailed) as failed:
        send(message(), Channel("webhook", 2_000_000, 0, 10_000, url_env="TEST_HOOK"), tmp_path)
    assert failed.value.detail == "unexpected RuntimeError in the webhook channel"
    monkeypatch.setitem(SENDERS, "console", broken)
    with pytest.raises(DeliveryFailed, match=r"^unexpected RuntimeError in the console channel: cannot reach"):
        send(message(), Channel("console", 2_000_000, 0, 10_000), tmp_path)  # no secret here: the message helps


def test_a_torn_jsonl_line_holding_the_key_does_not_count_as_sent_and_is_kept(tmp_path: Path) -> None:
    sent = message()
    path = tmp_path / "alerts.jsonl"
    whole = json.dumps({"id": "earlier", "kind": "trigger"}) + "\n"
    torn = f'{{"id": "{sent.key}", "kind": "trig'  # a write that never finished
    path.write_text(whole + torn)
    send(sent, Channel("jsonl", 2_000_000, 0, 10_000, path=str(path)), tmp_path, again=True)
    first, kept, new = path.read_text().splitlines()
    assert (first + "\n", kept) == (whole, torn)  # parity never cuts a line of a file: the torn one stays
    assert json.loads(new)["id"] == sent.key and path.read_text().endswith("\n")


def test_a_jsonl_retry_after_an_interrupted_attempt_does_not_write_the_line_twice(tmp_path: Path) -> None:
    sent = message()
    channel = Channel("jsonl", 2_000_000, 0, 10_000, path="alerts.jsonl")
    send(sent, channel, tmp_path)
    send(sent, channel, tmp_path, again=True)
    assert jsonl_ids(tmp_path / "alerts.jsonl") == [sent.key]


def test_a_first_jsonl_attempt_reads_almost_nothing_of_a_long_file(tmp_path: Path) -> None:
    io = Path("/proc/self/io")
    if not io.exists():
        pytest.skip("needs /proc/self/io (Linux) to count the bytes a process reads")
    path = tmp_path / "alerts.jsonl"
    line = json.dumps({"id": "x" * 32, "summary": "s" * 200}) + "\n"
    path.write_text(line * 80_000)  # about 20 MB of earlier notifications

    def bytes_read() -> int:
        return int(next(row for row in io.read_text().splitlines() if row.startswith("rchar:")).split()[1])

    before = bytes_read()
    send(message(), Channel("jsonl", 2_000_000, 0, 10_000, path=str(path)), tmp_path)
    assert bytes_read() - before < 1_000_000  # the last line's bytes and /proc itself, not the 20 MB file
    assert len(path.read_text().splitlines()) == 80_001


def test_two_processes_delivering_the_same_pending_notifications_send_each_once(
    settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    hook = Channel("webhook", 5_000_000, 0, 10_000, url=receiver.url("/hook"))
    log = Channel("jsonl", 5_000_000, 0, 10_000, path="out/alerts.jsonl")
    engine = alert_store.connect(settings.database)
    keys: dict[str, list[str]] = {"webhook": [], "jsonl": []}
    with engine.begin() as conn:
        for index in range(12):
            for channel in (hook, log):
                queued = message(f"f{index:02d}")
                alert_store.enqueue(conn, Notification(queued.key, None, channel, queued, NotificationStatus.PENDING,
                                                       T0, None))
                keys[channel.type].append(queued.key)
    engine.dispose()
    receiver.delay_s = 0.03  # each webhook send takes a while: the two deliverers overlap for the whole run

    go = tmp_path / "go"
    children = [subprocess.Popen([sys.executable, str(DELIVER), str(settings.project), settings.database, str(go)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    go.write_text("go")
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err for _, err in outputs]

    assert sorted(r.headers["Idempotency-Key"] for r in receiver.received) == sorted(keys["webhook"])
    assert jsonl_ids(settings.project / "out" / "alerts.jsonl") == keys["jsonl"]  # once each, in queue order
    sent_by = [line.split()[0] for out, _ in outputs for line in out.splitlines() if line.split()[1] == "sent"]
    assert sorted(sent_by) == sorted(keys["webhook"] + keys["jsonl"])
    engine = alert_store.connect(settings.database)
    with engine.connect() as conn:
        assert {n.status for n in alert_store.list_notifications(conn)} == {NotificationStatus.SENT}
        assert sorted((a.notification_key, a.number, a.outcome) for a in alert_store.list_attempts(conn)) == sorted(
            (key, 1, "ok") for key in keys["webhook"] + keys["jsonl"])
        assert conn.execute(alert_store.claims.select()).first() is None  # every claim released
    engine.dispose()


def test_a_claim_held_on_another_host_is_respected_until_its_lease_runs_out(
    settings: Settings, receiver: Receiver
) -> None:
    hook = Channel("webhook", 5_000_000, 0, 10_000, url=receiver.url("/hook"))
    queued = message()
    engine = alert_store.connect(settings.database)
    with engine.begin() as conn:
        alert_store.enqueue(conn, Notification(queued.key, None, hook, queued, NotificationStatus.PENDING, T0, None))
        alert_store.begin_attempt(conn, queued.key, 1, T0)  # the other host's attempt, in flight
        conn.execute(alert_store.claims.insert().values(
            notification_key=queued.key, token="other", host="another-host", pid=1, pid_started="1",
            claimed_at_us=T0, expires_at_us=now_us() + 600_000_000))
    [waiting] = deliver_pending(engine, settings)
    assert (waiting.sent, waiting.detail) == (False, "being delivered by another process")
    assert receiver.received == []

    with engine.begin() as conn:
        conn.execute(alert_store.claims.update().values(expires_at_us=now_us() - 1))
    [taken_over] = deliver_pending(engine, settings)
    assert taken_over.sent and receiver.accepted_keys("/hook") == {queued.key: 1}
    with engine.connect() as conn:
        assert [(a.number, a.outcome) for a in alert_store.list_attempts(conn)] == [(1, "interrupted"), (2, "ok")]
    engine.dispose()
