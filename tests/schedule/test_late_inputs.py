"""Freshness of a verdict is data: the ledger keeps what each checked hour read, `run` checks an hour again when
its inputs changed since (late events, late online rows), and the ledger keeps both verdicts. A ledger made
before inputs were kept is upgraded in place, and its hours are not checked again for that alone."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from late_project import copied_project, plant_events
from scheduled_project import FEATURE, HOURS, Logs
from stored import ledger_rows
from test_run import candidates

from parity import ledger
from parity.publish import published
from parity.schedule import Hour, plan, run_feature
from parity.settings import Settings
from parity.spec import load_feature
from parity.units import parse_duration


def run(settings: Settings) -> list[tuple[int, str | None]]:
    """Run the feature over 08:00 only; (hour, what changed) for each hour it checked."""
    done = run_feature(load_feature(FEATURE, settings.project), settings, [Hour(HOURS[0], HOURS[1])])
    return [(hour.hour.start_us, hour.rechecked) for hour in done.checked]


def test_late_events_and_late_online_rows_get_an_hour_checked_again_and_both_verdicts_kept(
    tmp_path: Path, generated_logs: Logs,
) -> None:
    settings = copied_project(tmp_path, generated_logs)
    assert run(settings) == [(HOURS[0], None)]
    # 200 events of 08:00 that arrived at 10:05 (before the newest arrival: nothing else becomes settled), and
    # the stream rewrote 08:00's output (a re-stream, a late pane).
    plant_events(settings, "late-delivery", 200, ingest_us=HOURS[0] + parse_duration("125m"))
    (online,) = published(settings.online_log / FEATURE / "date=2026-11-26" / "hour=08", ".parquet")
    os.utime(online, ns=(online.stat().st_atime_ns, online.stat().st_mtime_ns + 1_000_000_000))

    assert run(settings) == [(HOURS[0], "1 new event file, 1 changed online file")]
    assert run(settings) == []
    first, second = ledger_rows(settings)
    assert second.agreement < first.agreement  # the re-check saw the late events; the first verdict stays
    assert "late-delivery.parquet" in "".join((second.inputs or {})["events"])


OLD_LEDGER = """CREATE TABLE parity_ledger (
    id INTEGER NOT NULL PRIMARY KEY, feature VARCHAR(200) NOT NULL, start_us BIGINT NOT NULL,
    end_us BIGINT NOT NULL, config_hash VARCHAR(16) NOT NULL, run_id VARCHAR(64) NOT NULL,
    verdict VARCHAR(20) NOT NULL, compared BIGINT NOT NULL, matched BIGINT NOT NULL, agreement FLOAT NOT NULL,
    causes JSON NOT NULL, report TEXT NOT NULL, recorded_at_us BIGINT NOT NULL,
    CONSTRAINT uq_parity_ledger_feature_run UNIQUE (feature, run_id))"""


def test_a_ledger_from_before_inputs_is_upgraded_and_its_hours_stay_done(tmp_path: Path, generated_logs: Logs,
                                                                         store_url: str) -> None:
    settings = copied_project(tmp_path, generated_logs, store_url)
    spec = load_feature(FEATURE, settings.project)
    config = ledger.config_hash(spec)
    old = sa.create_engine(sa.make_url(store_url).set(drivername=sa.make_url(store_url).drivername.replace(
        "postgresql", "postgresql+psycopg2") if store_url.startswith("postgresql:") else store_url))
    with old.begin() as conn:
        conn.execute(sa.text(OLD_LEDGER))
        conn.execute(sa.text(
            "INSERT INTO parity_ledger (id, feature, start_us, end_us, config_hash, run_id, verdict, compared, "
            "matched, agreement, causes, report, recorded_at_us) VALUES (1, :feature, :start, :end, :config, "
            "'r1', 'passed', 10, 10, 1.0, '{}', 'r1.html', 0)"),
            {"feature": FEATURE, "start": HOURS[0], "end": HOURS[1], "config": config})
    old.dispose()
    for _ in range(2):  # the second connect finds the column made
        engine = ledger.connect(settings.database)
        with engine.connect() as conn:
            done = ledger.done_hours(conn, FEATURE, config)
        engine.dispose()
    assert done == {HOURS[0]: None}
    (row,) = ledger_rows(settings)
    assert (row.run_id, row.inputs) == ("r1", None)
    found = plan(spec, settings, candidates(settings), done, config)
    assert [hour.start_us for hour in found.due] == [HOURS[1]] and found.changed == ()
