"""`parity new FEATURE --source S`: a commented offline query, its ported spec and a pytest parity test, to edit.

The query is the common shape (a filter, a geohash key, a 1-minute window, a count); `parity port` turns it into
the spec exactly as it would any query, and the test runs both sides on a small frame with `parity.testing`.
Nothing is overwritten: if any of the three files exists, nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from parity.errors import SpecError
from parity.publish import publish_text

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

QUERY = """\
-- {feature}: ride requests per geohash6 cell per minute (say here what the feature is; this line is its description).
--
-- The offline ground truth of {feature}, in Spark SQL. Edit it, then write the streaming job again with
--   parity port offline_queries/{feature}.sql --force
-- What ports: a WHERE filter; keys (geohash(lat, lon, p), columns, string functions); one window(event_time, ...)
-- in GROUP BY, tumbling ('1 minute') or sliding ('5 minutes', '1 minute'); values that are COUNT(*), COUNT(col),
-- COUNT(DISTINCT col), SUM, AVG, MIN, MAX and expressions over them (try_divide for a ratio that may divide by 0).
-- Spark's rules hold in the job: COUNT(col) skips nulls, `/` is a double, `div` truncates, = on NULL is not true.
SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(*) AS events
FROM {source}
WHERE event_type = 'ride_requested'
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
"""

TEST = '''\
"""{feature}: its streaming job (realtime_jobs/{feature}.yaml, real Beam) against its offline query
(offline_queries/{feature}.sql, real Spark) on a small frame of events. Put it in CI: `pytest tests/test_{feature}_parity.py`.

Edit the frame to hold the cases your feature must get right: nulls, duplicate deliveries, late events, empty
windows. `ride_event` fills in every column of ride_events; give only what matters to the case.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from parity.testing import assert_parity, events, ride_event

PROJECT = Path(__file__).resolve().parents[1]


def test_{feature}_job_agrees_with_its_offline_query(parity_spark: object) -> None:
    frame = events(
        ride_event("r1", "2026-11-26T10:00:05Z"),
        ride_event("r1", "2026-11-26T10:00:05Z", delay="40s"),  # the same event delivered twice
        ride_event("r2", "2026-11-26T10:00:30Z", eta_seconds=None, city=None),  # nulls
        ride_event("p1", "2026-11-26T10:00:40Z", "driver_ping"),  # another type of event
        ride_event("r3", "2026-11-26T10:02:10Z", cell="9q8yym"),  # another cell, and an empty minute before it
    )
    assert_parity("{feature}", frame, project=PROJECT)
'''


@dataclass(frozen=True, slots=True)
class Scaffold:
    query: Path
    spec: Path
    test: Path


def scaffold(feature: str, source: str, project: Path, lateness: str = "2m",
             schema_of: Callable[[str], pa.Schema | None] | None = None) -> Scaffold:
    """Write the three files of a new feature; `SpecError` naming the first that exists (nothing is written)."""
    from parity.port import port_query

    for name, what in ((feature, "FEATURE"), (source, "--source")):
        if not _NAME.match(name):
            raise SpecError(what, "", f"{name!r} is not an identifier (letters, digits, underscore)")
    query = project / "offline_queries" / f"{feature}.sql"
    spec = project / "realtime_jobs" / f"{feature}.yaml"
    test = project / "tests" / f"test_{feature}_parity.py"
    for path in (query, spec, test):
        if path.exists() or path.is_symlink():
            raise SpecError(str(path.relative_to(project)), "", "exists; parity new writes only new files")
    query.parent.mkdir(parents=True, exist_ok=True)
    publish_text(query, QUERY.format(feature=feature, source=source))
    try:
        port_query(query, project, source=source, lateness=lateness, schema_of=schema_of)
    except BaseException:
        query.unlink(missing_ok=True)
        raise
    test.parent.mkdir(parents=True, exist_ok=True)
    publish_text(test, TEST.format(feature=feature))
    return Scaffold(query, spec, test)
