"""Hand-built check results for the report tests (no Spark): what a check of `ride_requests` could return.

- `HOSTILE`: a key that is HTML, a Markdown table cell break and, after a newline, a Markdown heading;
  it is the key of every worst cell, the feature's description and an expectation's description.
- `result(cells)`: `cells` distinct geohash6 keys over New York (`dr5...`), San Francisco (`9q8...`) and one
  key outside every region (`s00000`), one compared cell each, 60 one-minute windows; the key `dr5ru7` holds
  the only divergent cell (unexplained), so the drill-down's worst path is new_york -> dr5r -> dr5ru -> dr5ru7.
- `full_result()`: the same with diagnoses, a lateness what-if curve and on-time/final pane agreement.
"""

from __future__ import annotations

import dataclasses
import random

from parity.geo import geohash
from parity.result import (
    Cause,
    CellDiff,
    CellStatus,
    CheckResult,
    Diagnosis,
    GeohashCounts,
    Verdict,
    WhatIf,
    WindowCounts,
)

HOSTILE = "<script>alert(1)</script>|x\n# heading"
REGIONS = (("new_york", ("dr5", "dr7")), ("san_francisco", ("9q8", "9q9")))
WORST_KEY = "dr5ru7"
FAILED_EXPECTATION = {
    "suite": "events", "expectation": "expect_column_values_to_not_be_null", "column": "event_time", "kwargs": {},
    "observed": "3 of 200 rows unexpected (1.5%), e.g. None, None", "unexpected_count": 3,
    "unexpected_percent": 1.5, "description": "event_time is never null",
}


def _keys(count: int) -> list[str]:
    rng = random.Random(5)
    keys = {WORST_KEY, "s00000"}
    while len(keys) < count:
        lat, lon = ((40.6, -74.0) if rng.random() < 0.6 else (37.7, -122.4))
        keys.add(geohash(lat + rng.uniform(0, 1.0), lon + rng.uniform(0, 1.0), 6))
    return sorted(keys)


def result(cells: int = 300) -> CheckResult:
    keys = _keys(cells)
    matched = tuple(0 if key == WORST_KEY else 1 for key in keys)
    divergent = len(keys) - sum(matched)
    windows = tuple(
        WindowCounts(f"2026-11-26T08:{minute:02d}:00Z", cells // 60, cells // 60 - (minute == 7),
                     {Cause.LATE_ARRIVAL.value: 0, Cause.UNEXPLAINED.value: int(minute == 7)})
        for minute in range(60)
    )
    worst = tuple(
        CellDiff({"geohash6": HOSTILE}, "2026-11-26T08:07:00Z", CellStatus.VALUE_MISMATCH, Cause.UNEXPLAINED,
                 {"requests": 3}, {"requests": 2})
        for _ in range(3)
    )
    return CheckResult(
        feature="ride_requests", run_id="20261126T100000Z-abcdef", start="2026-11-26T08:00:00Z",
        end="2026-11-26T09:00:00Z", sample_rate=1.0, compared=len(keys), matched=len(keys) - divergent,
        value_mismatch=divergent, missing_online=0, missing_offline=0, duplicate_online=0,
        agreement=(len(keys) - divergent) / len(keys), threshold=0.999, passed=False,
        causes={Cause.LATE_ARRIVAL.value: 0, Cause.UNEXPLAINED.value: divergent},
        agreement_net_of_explained=(len(keys) - divergent) / len(keys), verdict=Verdict.BREACHED,
        ci_low=0.98, ci_high=0.999, cells_needed=2995, worst_cells=worst, failed_expectations=(FAILED_EXPECTATION,),
        description=HOSTILE, slide_s=60, windows=windows,
        geohash_cells=GeohashCounts("geohash6", tuple(keys), tuple(1 for _ in keys), matched,
                                    tuple(1 - m for m in matched)),
        extra={"window": "1m tumbling"},
    )


def full_result() -> CheckResult:
    return dataclasses.replace(
        result(),
        diagnoses=(Diagnosis("window_shift", 2, "online windows are 1 h behind offline: a local-time window"),),
        lateness_what_if=(WhatIf("0s", 0.9), WhatIf("1m", 0.97), WhatIf("2m", 0.995), WhatIf("10m", 0.9995)),
        lateness_needed="10m",
        agreement_on_time_pane=0.91,
    )
