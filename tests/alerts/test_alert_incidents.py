"""Incidents end to end: results -> store -> incidents -> Slack and PagerDuty payloads at a real HTTP server.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alert_fixtures import (
    PAGERDUTY_KEY,
    SLACK_SECRET_PATH,
    Receiver,
    check_failure,
    check_result,
    oncall_rule,
    write_rule,
)

from parity import results_store as alert_store
from parity.alerts import (
    Action,
    IncidentStatus,
    Severity,
    evaluate_alerts,
    open_incidents,
    outbox,
    record_results,
    send_test,
)
from parity.alerts.outbox import NotificationStatus
from parity.errors import AlertRuleError
from parity.result import CheckResult, Verdict
from parity.settings import Settings

T0 = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z in microseconds
MINUTE = 60_000_000
BREACH = {"compared": 10_000, "matched": 9_900}  # 99.0%, CI wholly below 99.9%
HEALTHY = {"compared": 10_000, "matched": 10_000}

pytestmark = pytest.mark.usefixtures("secrets")


def slack(receiver: Receiver) -> list[dict]:
    return receiver.delivered(SLACK_SECRET_PATH)


def pagerduty(receiver: Receiver) -> list[dict]:
    return receiver.delivered("/v2/enqueue")


def stored(settings: Settings) -> tuple[list, list, list]:
    engine = alert_store.connect(settings.database)
    with engine.connect() as conn:
        found = (alert_store.recorded_results(conn), outbox.list_notifications(conn),
                 outbox.list_attempts(conn))
    engine.dispose()
    return found


def test_a_breach_sends_one_slack_message_and_one_pagerduty_trigger(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    result = check_result(**BREACH)
    changes = evaluate_alerts([result], settings, at_us=T0)

    assert [(c.action, c.notified) for c in changes] == [(Action.OPENED, True)]
    incident = changes[0].incident
    assert (incident.feature, incident.rule, incident.condition, incident.severity) == (
        "ride_requests", "oncall", "breach", Severity.CRITICAL)

    [event] = pagerduty(receiver)
    assert event["routing_key"] == PAGERDUTY_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == incident.dedup_key == f"parity/ride_requests/oncall/{incident.id}"
    payload = event["payload"]
    assert payload["severity"] == "critical"
    assert payload["source"] == "parity"
    assert payload["component"] == "ride_requests"
    assert payload["group"] == "oncall"
    assert payload["class"] == "breach"
    assert payload["timestamp"] == "2026-03-01T00:00:00Z"
    assert payload["summary"].startswith("ride_requests: breach: agreement 99.0000% (95% CI 98.7")
    assert "over 10,000 compared cells is below the 99.9000% threshold" in payload["summary"]
    details = payload["custom_details"]
    assert (details["decision"], details["compared"], details["matched"]) == ("breach", 10_000, 9_900)
    assert details["agreement"] == pytest.approx(0.99)
    assert details["ci_high"] < 0.999 and details["cells_needed"] == 3838
    assert details["run_id"] == result.run_id

    [message] = slack(receiver)
    assert message["text"].startswith(":rotating_light: [CRITICAL] ride_requests: breach (rule oncall)\n")
    assert message["text"].endswith(payload["summary"])
    header, fields, context = message["blocks"]
    assert header["type"] == "section" and header["text"]["type"] == "mrkdwn"
    assert header["text"]["text"].startswith("*:rotating_light: [CRITICAL] ride_requests: breach (rule oncall)*\n")
    assert [f["text"] for f in fields["fields"]] == [
        "*Feature*\nride_requests", "*Condition*\nbreach", "*Severity*\ncritical", "*Rule*\noncall"]
    assert context["type"] == "context" and incident.dedup_key in context["elements"][0]["text"]

    [open_incident] = open_incidents(settings)
    assert open_incident == incident
    assert [(d.destination.split(":")[0], d.sent) for d in changes[0].deliveries] == [("slack", True), ("pagerduty", True)]
    assert str(changes[0]).startswith("incident opened: ride_requests [oncall] critical breach: ride_requests: breach:")
    assert str(changes[0]).endswith("; sent trigger to slack:$TEST_SLACK_URL (1 attempt); sent trigger to "
                                    f"pagerduty:$TEST_PAGERDUTY_KEY@{receiver.url('/v2/enqueue')} (1 attempt)")
    assert str(open_incident).startswith("ride_requests [oncall] critical breach, open since 2026-03-01T00:00:00Z, 1 check:")


def test_the_same_breach_again_sends_no_duplicate(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    changes = evaluate_alerts([check_result(**BREACH)], settings, at_us=T0 + 5 * MINUTE)

    assert [(c.action, c.notified) for c in changes] == [(Action.UPDATED, False)]
    assert changes[0].incident.checks == 2
    assert len(pagerduty(receiver)) == 1 and len(slack(receiver)) == 1
    assert len(open_incidents(settings)) == 1


def test_recovery_for_resolve_after_checks_sends_one_resolve_with_the_same_dedup_key(
    settings: Settings, receiver: Receiver
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    [opened] = evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    [first] = evaluate_alerts([check_result(**HEALTHY)], settings, at_us=T0 + MINUTE)
    assert (first.action, first.notified, first.incident.recovery_streak) == (Action.RECOVERING, False, 1)
    assert len(pagerduty(receiver)) == 1

    [second] = evaluate_alerts([check_result(**HEALTHY)], settings, at_us=T0 + 2 * MINUTE)
    assert (second.action, second.incident.status) == (Action.RESOLVED, IncidentStatus.RESOLVED)
    trigger, resolve = pagerduty(receiver)
    assert resolve == {"routing_key": PAGERDUTY_KEY, "event_action": "resolve", "dedup_key": opened.incident.dedup_key}
    assert trigger["dedup_key"] == opened.incident.dedup_key
    assert slack(receiver)[1]["text"].startswith(":white_check_mark: [RESOLVED] ride_requests: breach (rule oncall)")
    assert open_incidents(settings) == []

    evaluate_alerts([check_result(**HEALTHY)], settings, at_us=T0 + 3 * MINUTE)
    assert len(pagerduty(receiver)) == 2  # a closed incident stays closed and quiet


def test_a_new_breach_after_resolution_opens_a_new_incident_with_a_new_dedup_key(
    settings: Settings, receiver: Receiver
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    evaluate_alerts([check_result(**HEALTHY)], settings, at_us=T0 + MINUTE)
    evaluate_alerts([check_result(**HEALTHY)], settings, at_us=T0 + 2 * MINUTE)
    [reopened] = evaluate_alerts([check_result(**BREACH)], settings, at_us=T0 + 3 * MINUTE)
    assert reopened.action is Action.OPENED
    first, _, second = pagerduty(receiver)
    assert (first["event_action"], second["event_action"]) == ("trigger", "trigger")
    assert first["dedup_key"] != second["dedup_key"] == reopened.incident.dedup_key


def test_server_down_keeps_the_notification_pending_and_delivers_it_on_the_next_run(
    settings: Settings, receiver: Receiver
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    receiver.stop()
    [opened] = evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    assert opened.notified
    assert [(d.sent, d.attempts) for d in opened.deliveries] == [(False, 2), (False, 2)]
    _, queued, attempts = stored(settings)
    assert [n.status for n in queued] == [NotificationStatus.PENDING, NotificationStatus.PENDING]
    assert [(a.number, a.outcome) for a in attempts] == [(1, "error"), (2, "error"), (1, "error"), (2, "error")]
    assert all(a.detail and a.detail.startswith("connection failed:") for a in attempts)

    receiver.start()
    [again] = evaluate_alerts([check_result(**BREACH)], settings, at_us=T0 + MINUTE)
    assert not again.notified
    [event] = pagerduty(receiver)
    assert (event["event_action"], event["dedup_key"]) == ("trigger", opened.incident.dedup_key)
    assert len(slack(receiver)) == 1
    _, queued, attempts = stored(settings)
    assert [n.status for n in queued] == [NotificationStatus.SENT, NotificationStatus.SENT]
    assert sorted((a.number, a.outcome) for a in attempts if a.notification_key == queued[1].key) == [
        (1, "error"), (2, "error"), (3, "ok")]


def test_a_pending_trigger_is_delivered_before_the_resolve_that_follows_it(
    settings: Settings, receiver: Receiver
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver, extra="").replace("resolve_after: 2", "resolve_after: 1"))
    receiver.stop()
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    evaluate_alerts([check_result(**HEALTHY)], settings, at_us=T0 + MINUTE)
    receiver.start()
    evaluate_alerts([], settings, at_us=T0 + 2 * MINUTE)
    assert [event["event_action"] for event in pagerduty(receiver)] == ["trigger", "resolve"]


def test_a_failed_check_raises_a_failed_alert_not_a_breach(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    failure = check_failure()
    [change] = evaluate_alerts([failure], settings, at_us=T0)

    assert (change.incident.condition, change.incident.severity) == ("failed", Severity.ERROR)
    [event] = pagerduty(receiver)
    assert event["event_action"] == "trigger"
    assert event["payload"]["class"] == "failed"
    assert event["payload"]["severity"] == "error"
    assert event["payload"]["summary"] == (
        "ride_requests: check failed (exit code 2): realtime job of ride_requests: Beam pipeline stalled")
    assert event["payload"]["custom_details"]["error"] == failure.error
    assert "breach" not in json.dumps(event)
    assert slack(receiver)[0]["text"].startswith(":rotating_light: [ERROR] ride_requests: failed (rule oncall)")
    [row] = stored(settings)[0]
    assert (row["kind"], row["error"]) == ("failure", failure.error)


def test_a_failed_check_never_counts_as_recovery(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver, when="{breach: critical}"))
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    evaluate_alerts([check_result(**HEALTHY)], settings, at_us=T0 + MINUTE)
    [failed] = evaluate_alerts([check_failure()], settings, at_us=T0 + 2 * MINUTE)
    assert (failed.action, failed.incident.recovery_streak, failed.notified) == (Action.UPDATED, 0, False)
    [healthy] = evaluate_alerts([check_result(**HEALTHY)], settings, at_us=T0 + 3 * MINUTE)
    assert (healthy.action, healthy.incident.status) == (Action.RECOVERING, IncidentStatus.OPEN)
    assert [event["event_action"] for event in pagerduty(receiver)] == ["trigger"]


@pytest.mark.parametrize("unjudged", [check_result(compared=0), check_result(verdict=Verdict.INCONCLUSIVE)],
                         ids=["no-cells", "inconclusive"])
def test_a_check_that_judged_nothing_neither_alerts_nor_counts_as_recovery(
    settings: Settings, receiver: Receiver, unjudged: CheckResult
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver).replace("resolve_after: 2", "resolve_after: 1"))
    assert evaluate_alerts([unjudged], settings, at_us=T0) == []
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0 + MINUTE)
    [held] = evaluate_alerts([replace(unjudged, run_id="again")], settings, at_us=T0 + 2 * MINUTE)
    assert (held.action, held.incident.status, held.notified) == (Action.UPDATED, IncidentStatus.OPEN, False)
    assert [event["event_action"] for event in pagerduty(receiver)] == ["trigger"]


def test_a_small_sample_dip_is_suspect_and_does_not_page(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    write_rule(settings, "early-warning", f"""
features: ["ride_*"]
when: {{suspect: warning}}
channels: [{{type: webhook, url: "{receiver.url('/hook')}", timeout: 2s, retries: 0}}]
""")
    dip = check_result(compared=500, matched=499)  # 99.8%, but 500 cells cannot show it is below 99.9%
    changes = evaluate_alerts([dip], settings, at_us=T0)

    assert [(c.incident.rule, c.incident.condition) for c in changes] == [("early-warning", "suspect")]
    assert pagerduty(receiver) == [] and slack(receiver) == []
    [warning] = receiver.delivered("/hook")
    assert (warning["kind"], warning["condition"], warning["severity"]) == ("trigger", "suspect", "warning")
    assert warning["details"]["decision"] == "suspect"
    assert warning["details"]["ci_low"] < 0.999 <= warning["details"]["ci_high"]
    more = warning["details"]["more_cells_to_settle"]
    assert more > 0 and f"about {more:,} more cells at this rate would settle it" in warning["summary"]
    [request] = [r for r in receiver.received if r.path == "/hook"]
    assert request.headers["Idempotency-Key"] == warning["id"]


def test_a_rising_severity_notifies_again_on_the_same_incident(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver, when="{suspect: warning, breach: critical}"))
    [suspect] = evaluate_alerts([check_result(compared=500, matched=499)], settings, at_us=T0)
    [breach] = evaluate_alerts([check_result(**BREACH)], settings, at_us=T0 + MINUTE)
    [calmer] = evaluate_alerts([check_result(compared=500, matched=499)], settings, at_us=T0 + 2 * MINUTE)

    assert [c.action for c in (suspect, breach, calmer)] == [Action.OPENED, Action.ESCALATED, Action.UPDATED]
    first, second = pagerduty(receiver)
    assert (first["payload"]["severity"], second["payload"]["severity"]) == ("warning", "critical")
    assert first["dedup_key"] == second["dedup_key"]
    assert calmer.incident.severity is Severity.CRITICAL


def test_an_unchanged_incident_is_renotified_after_the_interval(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    [early] = evaluate_alerts([check_result(**BREACH)], settings, at_us=T0 + 239 * MINUTE)
    [due] = evaluate_alerts([check_result(**BREACH)], settings, at_us=T0 + 240 * MINUTE)
    assert (early.action, due.action) == (Action.UPDATED, Action.RENOTIFIED)
    assert [event["event_action"] for event in pagerduty(receiver)] == ["trigger", "trigger"]


def test_a_rule_on_agreement_net_of_explained_forgives_late_arrivals(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver, extra="agreement: net_of_explained"))
    late_only = check_result(compared=10_000, matched=9_900, net_matched=10_000)
    assert evaluate_alerts([late_only], settings, at_us=T0) == []
    assert pagerduty(receiver) == []


def test_a_custom_bar_alerts_below_it_whatever_the_sample_size(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver, when="{below: warning}", extra="bar: 0.999"))
    [change] = evaluate_alerts([check_result(compared=500, matched=499)], settings, at_us=T0)
    assert (change.incident.condition, change.incident.severity) == ("below", Severity.WARNING)
    assert "below the rule's bar 99.9000%" in pagerduty(receiver)[0]["payload"]["summary"]


def test_a_result_already_recorded_is_not_evaluated_twice(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    result = check_result(**BREACH)
    evaluate_alerts([result], settings, at_us=T0)
    assert evaluate_alerts([result], settings, at_us=T0 + 300 * MINUTE) == []
    assert len(stored(settings)[0]) == 1
    assert len(pagerduty(receiver)) == 1


def test_every_result_is_recorded_with_its_json(settings: Settings) -> None:
    results = [check_result(**BREACH), check_failure(feature="avg_eta")]
    assert record_results(results, settings) == 2
    assert record_results(results, settings) == 0
    recorded, _, _ = stored(settings)
    assert [(r["kind"], r["feature"], r["run_id"]) for r in recorded] == [
        ("result", "ride_requests", results[0].run_id), ("failure", "avg_eta", results[1].run_id)]
    assert recorded[0]["matched"] == 9_900 and recorded[0]["verdict"] == "breached"
    engine = alert_store.connect(settings.database)
    with engine.connect() as conn:
        row = conn.execute(sa.select(alert_store.check_results).order_by(alert_store.check_results.c.id)).first()
    engine.dispose()
    assert row is not None and (row.outcome, row.compared, row.agreement) == ("breached", 10_000, 0.99)


def test_secrets_never_reach_the_store_the_logs_or_the_errors(
    settings: Settings, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    receiver.mode = "error"
    caplog.set_level(logging.DEBUG)
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    receiver.stop()
    evaluate_alerts([check_failure()], settings, at_us=T0 + MINUTE)

    recorded, queued, attempts = stored(settings)
    assert {a.detail for a in attempts} >= {"HTTP 500 Internal Server Error"}
    everything = json.dumps([recorded, [repr(n) for n in queued], [repr(a) for a in attempts]]) + caplog.text
    assert "alert_delivery_failed" in caplog.text and "$TEST_SLACK_URL" in caplog.text
    for secret in (PAGERDUTY_KEY, SLACK_SECRET_PATH, "xoxsecretwebhooktoken"):
        assert secret not in everything


def test_a_channel_whose_env_var_is_unset_is_skipped_with_a_one_line_notice(
    settings: Settings, receiver: Receiver, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_PAGERDUTY_KEY")
    write_rule(settings, "oncall", oncall_rule(receiver))
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    notices = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert notices == ["alert channel pagerduty of rule oncall skipped: environment variable TEST_PAGERDUTY_KEY is unset"]
    assert pagerduty(receiver) == [] and len(slack(receiver)) == 1
    assert [n.channel.type for n in stored(settings)[1]] == ["slack"]


def test_the_jsonl_channel_appends_one_line_per_notification(settings: Settings) -> None:
    write_rule(settings, "log", "when: {breach: critical}\nresolve_after: 1\nchannels: [{type: jsonl, path: out/alerts.jsonl}]\n")
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0)
    evaluate_alerts([check_result(**BREACH)], settings, at_us=T0 + MINUTE)
    evaluate_alerts([check_result(**HEALTHY)], settings, at_us=T0 + 2 * MINUTE)
    lines = [json.loads(line) for line in (settings.project / "out" / "alerts.jsonl").read_text().splitlines()]
    assert [(line["kind"], line["condition"], line["feature"]) for line in lines] == [
        ("trigger", "breach", "ride_requests"), ("resolve", "breach", "ride_requests")]
    assert lines[0]["dedup_key"] == lines[1]["dedup_key"] and lines[0]["id"] != lines[1]["id"]
    assert lines[0]["time"] == datetime.fromtimestamp(T0 / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_send_test_delivers_to_every_channel_of_the_rule(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    deliveries = send_test("oncall", settings)
    assert [(d.destination, d.sent, d.attempts) for d in deliveries] == [
        ("slack:$TEST_SLACK_URL", True, 1), (f"pagerduty:$TEST_PAGERDUTY_KEY@{receiver.url('/v2/enqueue')}", True, 1)]
    [event] = pagerduty(receiver)
    assert (event["event_action"], event["payload"]["severity"], event["payload"]["class"]) == ("trigger", "info", "test")
    assert slack(receiver)[0]["text"].startswith(":wrench: [INFO] (test): test (rule oncall)")
    assert open_incidents(settings) == []


def test_a_failed_test_notification_is_reported_and_not_retried_later(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    receiver.stop()
    deliveries = send_test("oncall", settings)
    assert [(d.sent, d.attempts) for d in deliveries] == [(False, 2), (False, 2)]
    assert deliveries[0].detail is not None and deliveries[0].detail.startswith("connection failed")
    receiver.start()
    evaluate_alerts([], settings)
    assert receiver.received == []


def test_send_test_names_the_known_rules_when_the_rule_is_unknown(settings: Settings, receiver: Receiver) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    with pytest.raises(AlertRuleError, match=r"no rule named 'on-call'; rules: oncall"):
        send_test("on-call", settings)


def test_a_result_with_non_finite_numbers_is_recorded_as_strict_json(settings: Settings) -> None:
    empty = replace(check_result(compared=0), agreement=float("nan"), agreement_net_of_explained=float("inf"),
                    extra={"when": datetime(2026, 3, 1, tzinfo=UTC)})
    assert record_results([empty], settings) == 1
    [row] = stored(settings)[0]
    assert (row["agreement"], row["agreement_net_of_explained"], row["extra"]) == (
        None, None, {"when": "2026-03-01 00:00:00+00:00"})
