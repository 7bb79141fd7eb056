"""Every ported shape of the golden corpus (tests/port/corpus/<shape>.golden, exactly what `parity port` writes for
<shape>.sql, as test_port_corpus.py asserts) runs on real Beam and real Spark and agrees, through
`parity.testing.assert_parity`, on one small event set (`corpus_events`, base 2026-11-26 10:00 UTC) that exercises:

- nulls: requests without an ETA, a ping without a driver_id, a ping whose `available` is null, a completion without
  a city, a cancellation without rider or driver;
- duplicates: request r1 delivered twice (40 s apart), ping p6 delivered twice, driver d1 pinging twice a minute;
- integer division: ETAs of 119.7 s and -61.5 s (CAST AS INT truncates to 119 and -61; `div` truncates toward zero,
  -61 div 60 = -1 where Python's // gives -2; -61 % 60 = -1 where Python's % gives 59; `/` gives a double), and
  14.875 s, alone in its cell and minute, whose ETA/7 = 2.125 is a tie that Spark's round(x, 2) takes up (2.13)
  and Python's round to even (2.12);
- empty windows: nothing happens in 10:02-10:03; 10:06 has only pings (no request cell there, on either side);
- window edges: a request at exactly 10:05:00 and one at 10:05:59.999999; mixed-case and missing cities.

Every event arrives 1 s after it happens except the duplicate deliveries; nothing is late. The corpus takes about
3 s a shape after Spark starts; `make test` runs a fixed sample of 8 shapes (the ones the event set was built for
plus a stride through the rest), `PARITY_FUZZ=full` (`make fuzz`) all of them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from parity.testing import assert_parity, events, ride_event

CORPUS = Path(__file__).resolve().parent / "corpus"
PORTED = sorted(p.stem for p in CORPUS.glob("*.golden") if not p.read_text().startswith("REFUSED\n"))
# The shapes the event set's traps are aimed at, always run; the rest by a stride in the bounded run.
AIMED = ("case_key_order_by", "count_col_nulls", "having_count", "integer_division", "math_functions",
         "select_distinct_dedupe", "try_divide_ratio")
SAMPLE = 9
FULL = os.environ.get("PARITY_FUZZ") == "full"
SF_A, SF_B, NYC = "9q8yyk", "9q8yym", "dr5reg"


def chosen() -> list[str]:
    if FULL:
        return PORTED
    rest = [shape for shape in PORTED if shape not in AIMED]
    stride = max(1, len(rest) // max(1, SAMPLE - len(AIMED)))
    return sorted({*(s for s in AIMED if s in PORTED), *rest[::stride][: SAMPLE - len(AIMED)]})


def corpus_events() -> pa.Table:
    """The event set of the module docstring."""
    t = "2026-11-26T10:"
    return events(
        ride_event("r1", t + "00:05Z", cell=SF_A, eta_seconds=119.7, rider_id="u1"),
        ride_event("r1", t + "00:05Z", cell=SF_A, eta_seconds=119.7, rider_id="u1", delay="40s"),
        ride_event("r2", t + "00:30Z", cell=SF_A, eta_seconds=None, rider_id="u2"),
        ride_event("r3", t + "00:45Z", cell=SF_B, eta_seconds=-61.5, rider_id="u1", city="SFO"),
        ride_event("p1", t + "00:10Z", "driver_ping", cell=SF_A, driver_id="d1"),
        ride_event("p2", t + "00:50Z", "driver_ping", cell=SF_A, driver_id="d1"),
        ride_event("p3", t + "00:20Z", "driver_ping", cell=SF_B, driver_id=None),
        ride_event("p4", t + "00:55Z", "driver_ping", cell=SF_B, driver_id="d2", available=None),
        ride_event("p5", t + "01:05Z", "driver_ping", cell=SF_B, driver_id="d3", available=False),
        ride_event("a1", t + "01:10Z", "ride_accepted", cell=SF_A, driver_id="d1", rider_id="u1"),
        ride_event("c1", t + "01:40Z", "ride_completed", cell=SF_A, driver_id="d1", rider_id="u1", city=None),
        ride_event("x1", t + "01:20Z", "ride_cancelled", cell=NYC, rider_id=None, driver_id=None, city="nyc"),
        ride_event("n1", t + "03:10Z", cell=NYC, eta_seconds=14.875, city="nyc", rider_id="u5"),
        ride_event("n2", t + "04:50Z", cell=NYC, eta_seconds=600.0, city="sf", rider_id="u6"),
        ride_event("n3", t + "04:00Z", "driver_ping", cell=NYC, driver_id="d9", available=False, city="nyc"),
        ride_event("r4", t + "04:30Z", cell=SF_A, eta_seconds=301.0, rider_id="u2"),
        ride_event("r5", t + "05:00Z", cell=SF_B, eta_seconds=60.0, rider_id="u3"),
        ride_event("r6", t + "05:59.999999Z", cell=SF_B, eta_seconds=59.9999, rider_id="u3"),
        ride_event("p6", t + "06:00Z", "driver_ping", cell=SF_A, driver_id="d4", city="Sfo"),
        ride_event("p6", t + "06:00Z", "driver_ping", cell=SF_A, driver_id="d4", city="Sfo", delay="10s"),
        ride_event("r7", t + "07:30Z", cell=NYC, eta_seconds=0.0, city="nyc", rider_id="u7"),
    )


@pytest.fixture(scope="module")
def corpus_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project holding every ported shape: its SQL and its golden spec as realtime_jobs/<shape>.yaml."""
    root = tmp_path_factory.mktemp("corpus_project")
    (root / "offline_queries").mkdir()
    (root / "realtime_jobs").mkdir()
    for shape in PORTED:
        shutil.copy(CORPUS / f"{shape}.sql", root / "offline_queries" / f"{shape}.sql")
        shutil.copy(CORPUS / f"{shape}.golden", root / "realtime_jobs" / f"{shape}.yaml")
    (root / "pyproject.toml").write_text('[tool.parity]\nspark_master = "local[2]"\n')
    return root


def test_the_corpus_has_ported_shapes_and_the_aimed_ones_among_them() -> None:
    assert len(PORTED) >= 17 and set(AIMED) <= set(PORTED)


@pytest.mark.parametrize("shape", chosen())
def test_ported_shape_agrees_on_beam_and_spark(shape: str, corpus_project: Path, spark: SparkSession) -> None:
    result = assert_parity(shape, corpus_events(), corpus_project, allow=())
    assert result.compared > 0 and result.matched == result.compared


# Python's semantics planted into a ported job, one trap each: the event set must make the job diverge.
PLANTED = {
    "integer_division": ("spark.div(spark.to_int(eta_seconds), 60)", "spark.to_int(eta_seconds) // 60"),  # no null ETA passes its filter
    "math_functions": ("spark.round_(spark.divide(eta_seconds, 7), 2)", "None if eta_seconds is None else round(eta_seconds / 7, 2)"),
    "count_col_nulls": ("fn: {type: parity.port.combine.Count, config: {}}", "fn: count"),
    "having_count": ('keep: "events >= 2 and', 'keep: "events >= 1 and'),  # the HAVING must drop cells
}


@pytest.mark.parametrize("shape", sorted(PLANTED))
def test_the_event_set_catches_python_semantics_planted_in_a_port(shape: str, corpus_project: Path, tmp_path: Path,
                                                                  spark: SparkSession) -> None:
    shutil.copytree(corpus_project, tmp_path / "planted")
    job = tmp_path / "planted" / "realtime_jobs" / f"{shape}.yaml"
    spark_form, python_form = PLANTED[shape]
    assert spark_form in job.read_text()
    job.write_text(job.read_text().replace(spark_form, python_form))
    with pytest.raises(AssertionError, match=r"cells diverge \(\d+ unexplained\)"):
        assert_parity(shape, corpus_events(), tmp_path / "planted", allow=(), workdir=tmp_path / "run")
