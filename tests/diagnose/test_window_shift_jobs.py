"""window_shift, end to end: a Beam job that re-stamps its events (a time-zone bug) by a planted offset, streamed in
either mode, then checked against Spark; the diagnosis names that offset for at least 95% of the divergent cells,
with and without late events (a shifted stream fed late events computes the in-time value of the window it shifted
from; cells whose every event came too late are late_arrival first, and the 95% counts the cells left after them). Planted: hourly windows +1 h, +2 h and -3 h; 5-minute windows +1 h; 1-minute windows +30 min and -5 h 30 min
(half-hour zones); 5-minute windows sliding by 1 minute +1 h. A shift beyond the hours the check reads (+20 h) is
said to be unmeasurable, not left unexplained. Events: 4 teams scoring over 10:00-12:00, one settling event later.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from parity.check import run_check
from parity.events import write_events
from parity.realtime import Mode, run_stream
from parity.result import Cause
from parity.settings import Settings, load_settings
from parity.spec import load_feature
from parity.units import HOUR_US, MINUTE_US, format_duration

BASE_US = int(dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC).timestamp()) * 1_000_000
START_US, END_US = BASE_US, BASE_US + 2 * HOUR_US
STAMP = pa.timestamp("us", tz="UTC")
SCORES = pa.schema([("event_id", pa.string()), ("event_time", STAMP), ("ingest_time", STAMP),
                    ("team", pa.string()), ("score", pa.int64())])

SPEC = """\
feature: {name}
source: scores
keys: [team]
window: {window}
values:
  total: {{}}
allowed_lateness: 2m
transform_ref: realtime_jobs/{name}.py:Shifted
"""
QUERY = """\
SELECT team, window.start AS window_start, window.end AS window_end, SUM(score) AS total
FROM scores
GROUP BY team, window(event_time, {window})
"""
JOB = """\
import apache_beam as beam
from apache_beam.transforms import trigger, window
from apache_beam.transforms.combiners import ToSetCombineFn
from apache_beam.utils.timestamp import Duration, Timestamp


class Shifted(beam.PTransform):
    def expand(self, events):
        return (
            events
            | beam.Map(lambda e: window.TimestampedValue(e, Timestamp(micros=e.event_time + {shift})))
            | beam.WindowInto({windows}, trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                              accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
                              allowed_lateness=Duration(seconds=120))
            | beam.Map(lambda e: (e.team, (e.event_id, e.score)))
            | beam.CombinePerKey(ToSetCombineFn())  # each event once: a sliding window's copies re-window alike
            | beam.MapTuple(lambda team, scores: (team, sum(score for _, score in scores)))
        )
"""
WINDOWS = {  # spec window, Spark window() arguments, Beam windows
    "1h": ("{size: 1h}", "'1 hour'", "window.FixedWindows(3600)"),
    "5m": ("{size: 5m}", "'5 minutes'", "window.FixedWindows(300)"),
    "1m": ("{size: 1m}", "'1 minute'", "window.FixedWindows(60)"),
    "5m/1m": ("{size: 5m, slide: 1m}", "'5 minutes', '1 minute'", "window.SlidingWindows(300, 60)"),
}


def scores(late: bool) -> list[dict[str, object]]:
    """160 scores over 10:00-12:00 (unique values, so no two windows sum alike by chance); with `late`, one in
    six arrives 30-400 s late (some beyond the 2-minute lateness)."""
    rng = random.Random(7)
    rows = []
    for n in range(160):
        at = BASE_US + n * 45_000_000 + rng.randrange(40_000_000)
        delay = rng.randrange(30, 400) * 1_000_000 if late and n % 6 == 0 else 2_000_000
        rows.append({"event_id": f"e{n}", "event_time": at, "ingest_time": at + delay, "team": f"t{rng.randrange(4)}",
                     "score": 1000 + n * 7})
    return rows


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Settings]:
    """Two projects (without and with late events), each with its event log and a settling event at 16:00."""
    made = {}
    for late in (False, True):
        root = tmp_path_factory.mktemp(f"shift_late_{late}")
        (root / "pyproject.toml").write_text(
            '[tool.parity]\nevent_log = "events"\nonline_log = "online"\nquarantine = "quarantine"\n'
            'reports = "reports"\ndatabase = "sqlite:///parity.db"\nspark_master = "local[2]"\n'
            'beam_runner = "BundleBasedDirectRunner"\n')
        for folder in ("realtime_jobs", "offline_queries"):
            (root / folder).mkdir()
        settings = load_settings(root)
        settle = BASE_US + 6 * HOUR_US
        rows = [*scores(late), {"event_id": "settle", "event_time": settle, "ingest_time": settle, "team": "t9", "score": 0}]
        write_events(pa.Table.from_pylist(rows, schema=SCORES), settings.event_log, "scores", settings.quarantine)
        made[late] = settings
    return made


CASES = [  # window, shift, mode, late
    ("1h", HOUR_US, Mode.FAITHFUL, False),
    ("1h", HOUR_US, Mode.FAST, True),
    ("1h", 2 * HOUR_US, Mode.FAITHFUL, True),
    ("1h", -3 * HOUR_US, Mode.FAST, False),
    ("5m", HOUR_US, Mode.FAITHFUL, True),
    ("1m", 30 * MINUTE_US, Mode.FAST, True),
    ("1m", -330 * MINUTE_US, Mode.FAST, False),
    ("5m/1m", HOUR_US, Mode.FAST, True),
]


@pytest.mark.parametrize(("window", "shift_us", "mode", "late"), CASES,
                         ids=[f"{w}{'+' if s > 0 else '-'}{format_duration(abs(s))}-{m.value}{'-late' if lt else ''}"
                              for w, s, m, lt in CASES])
def test_window_shift_names_the_planted_offset(
    window: str, shift_us: int, mode: Mode, late: bool, projects: dict[bool, Settings], spark: SparkSession
) -> None:
    settings = projects[late]
    spec = load_feature(feature(settings.project, window, shift_us), settings.project)
    run_stream(spec, settings, pa.Table.from_pylist(scores(late), schema=SCORES), mode=mode, windows=(START_US, END_US))
    result = run_check(spec, settings, START_US, END_US)
    # The diagnoses see the divergent cells late arrival did not explain (a cell whose every event came too late
    # is late_arrival first, wherever the job would have put it).
    divergent = result.compared - result.matched - result.causes[Cause.LATE_ARRIVAL]
    named = {d.detail: d.cells for d in result.diagnoses if d.cause is Cause.WINDOW_SHIFT}
    sign = "+" if shift_us > 0 else "-"
    planted = f"online windows = offline windows {sign} {format_duration(abs(shift_us))}"
    assert divergent >= 8
    assert named.get(planted, 0) >= 0.95 * divergent, (result.causes, result.diagnoses)


def test_a_shift_beyond_the_hours_read_is_unmeasurable_not_unexplained(
    projects: dict[bool, Settings], spark: SparkSession
) -> None:
    settings = projects[False]
    spec = load_feature(feature(settings.project, "1h", 20 * HOUR_US), settings.project)
    run_stream(spec, settings, pa.Table.from_pylist(scores(False), schema=SCORES), mode=Mode.FAST,
               windows=(START_US, END_US))
    result = run_check(spec, settings, START_US, END_US)
    assert result.causes[Cause.UNEXPLAINED] == 0 and result.causes[Cause.WINDOW_SHIFT] == result.compared > 0
    (diagnosis,) = result.diagnoses
    assert "could not be measured" in diagnosis.detail


def feature(project: Path, window: str, shift_us: int) -> str:
    """Writes the spec, query and job of a feature over `window` whose job re-stamps by `shift_us`; its name."""
    name = f"w{window.replace('/', '_')}_{'p' if shift_us > 0 else 'm'}{abs(shift_us) // MINUTE_US}"
    spec_window, spark_window, beam_windows = WINDOWS[window]
    (project / "realtime_jobs" / f"{name}.yaml").write_text(SPEC.format(name=name, window=spec_window))
    (project / "offline_queries" / f"{name}.sql").write_text(QUERY.format(window=spark_window))
    (project / "realtime_jobs" / f"{name}.py").write_text(JOB.format(shift=shift_us, windows=beam_windows))
    return name
