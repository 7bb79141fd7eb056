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
from parity.history import history, to_text
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
    shown = to_text(history(FEATURE, [first, second], None))
    assert f"(re-checked; earlier: {first.verdict.value} {first.agreement:.3%})" in shown


def old_ledger(database: str, config: str) -> None:
    """The ledger table as the version before inputs made it, with one checked hour (08:00) in it."""
    url = sa.make_url(database)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg2")
    columns = [column._copy() for column in ledger.ledger.columns if column.name != "inputs"]
    table = sa.Table(ledger.ledger.name, sa.MetaData(), *columns,
                     sa.UniqueConstraint("feature", "run_id", name="uq_parity_ledger_feature_run"))
    engine = sa.create_engine(url)
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(table.insert().values(feature=FEATURE, start_us=HOURS[0], end_us=HOURS[1], config_hash=config,
                                           run_id="r1", verdict="passed", compared=10, matched=10, agreement=1.0,
                                           causes={}, report="r1.html", recorded_at_us=0))
    engine.dispose()


def test_a_ledger_from_before_inputs_is_upgraded_and_its_hours_stay_done(tmp_path: Path, generated_logs: Logs,
                                                                         store_url: str) -> None:
    settings = copied_project(tmp_path, generated_logs, store_url)
    spec = load_feature(FEATURE, settings.project)
    config = ledger.config_hash(spec)
    old_ledger(settings.database, config)
    for _ in range(2):  # the second connect finds the column made
        engine = ledger.connect(settings.database)
        with engine.connect() as conn:
            done = ledger.done_hours(conn, FEATURE, config)
        engine.dispose()
    assert done == {HOURS[0]: None}
    engine = ledger.connect(settings.database)
    with engine.begin() as conn:  # a row of this version goes into the upgraded table
        conn.execute(ledger.ledger.insert().values(
            feature="other", start_us=HOURS[0], end_us=HOURS[1], config_hash=config, run_id="r2", verdict="passed",
            compared=1, matched=1, agreement=1.0, causes={}, report="r2.html", recorded_at_us=1,
            inputs={"events": {"a.parquet": [1, 2]}, "online": {}}))
    engine.dispose()
    assert [(row.run_id, row.inputs) for row in ledger_rows(settings)] == [
        ("r2", {"events": {"a.parquet": [1, 2]}, "online": {}}), ("r1", None)]
    found = plan(spec, settings, candidates(settings), done, config)
    assert [hour.start_us for hour in found.due] == [HOURS[1]] and found.changed == ()
