"""The tap's own logic, without a store server: which keys it samples, how fast it reads, what it writes to the
served log and how it counts reads missed while the store is away. The store here is a dict behind the
`ReadableStore` Protocol (no claim about Redis; `test_served_redis.py` taps a real server)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parity.sample import in_sample
from parity.served_log import Clock, ServedLogWriter, log_schema, read_served
from parity.spec import FeatureSpec, Served, Tolerance, Window
from parity.tap import due_window_start, run_tap, sample_keys
from parity.units import HOUR_US, MINUTE_US, US

SPEC = FeatureSpec(
    name="requests_per_key", source="events", path=None, offline_query=None, keys=("key",),  # type: ignore[arg-type]
    window=Window(MINUTE_US, MINUTE_US), values=("requests",), tolerances=(Tolerance(),), threshold=0.999,
    allowed_lateness_us=0, sample_rate=1.0, transform_yaml=None, transform_ref=None, expectations=(),
    description="", served=Served(delay_us=MINUTE_US, freshness_us=2 * MINUTE_US),
)
KEYS = pd.DataFrame({"key": [f"k{i:03d}" for i in range(200)]})
T0 = 1_800_000_000 * US // HOUR_US * HOUR_US
ONLINE = pa.schema([("key", pa.string()), ("requests", pa.int64())])


@dataclass
class Value:
    values: dict[str, Any]
    window_start_us: int
    window_end_us: int
    written_at_us: int


@dataclass
class DictStore:
    held: dict[str, Value]
    down: list[tuple[int, int]] = field(default_factory=list)  # clock spans in which every call fails
    clock: ManualClock | None = None
    calls: int = 0

    def close(self) -> None:
        pass

    def read(self, feature: str, keys: Sequence[Mapping[str, Any]]) -> list[Value | None]:
        self.calls += 1
        assert self.clock is not None
        if any(a <= self.clock.now <= b for a, b in self.down):
            raise ConnectionRefusedError("connection refused")
        return [self.held.get(str(key["key"])) for key in keys]


@dataclass
class ManualClock:
    now: int
    kind: Clock = Clock.SIMULATED
    speed: float = 1.0

    def now_us(self) -> int:
        return self.now

    def sleep_until(self, instant_us: int) -> None:
        self.now = max(self.now, instant_us)


def _writer(tmp_path: Path) -> ServedLogWriter:
    return ServedLogWriter(tmp_path / "served", SPEC, log_schema(SPEC, ONLINE), Clock.SIMULATED)


def test_the_key_sample_is_the_checks_cell_sample_and_fixed_by_the_seed_of_the_feature() -> None:
    spec = dataclasses.replace(SPEC, sample_rate=0.3)
    start = T0 + 10 * MINUTE_US
    chosen = sample_keys(spec, KEYS, start, 0.3)
    cells = KEYS.assign(window_start=start)
    expected = set(cells.loc[in_sample(spec.name, cells, ["key"], 0.3), "key"])
    assert {k["key"] for k in chosen} == expected and 30 < len(expected) < 90
    assert sample_keys(spec, KEYS, start, 0.3) == chosen
    assert sample_keys(spec, KEYS, start, 0.3, limit=10) == chosen[:10]
    assert sample_keys(spec, KEYS, start + MINUTE_US, 0.3) != chosen  # a new window, new cells


def test_the_tap_never_reads_faster_than_its_rate(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    store = DictStore({}, clock=clock)
    result = run_tap(SPEC, lambda: store, KEYS, _writer(tmp_path), clock, duration_us=60 * US, rate_per_s=1000,
                     batch=50)
    assert result.reads == 60 * 1000  # one batch of 50 per 50 ms, for 60 s
    reads = read_served(tmp_path / "served", SPEC, T0, T0 + HOUR_US)
    per_second = reads.groupby(reads["read_at"] // US).size()
    assert per_second.max() <= 1000


def test_reads_land_in_the_served_log_in_the_shape_the_served_check_takes(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 3 * MINUTE_US)
    held = {"k001": Value({"requests": 4}, T0 + MINUTE_US, T0 + 2 * MINUTE_US, T0 + 2 * MINUTE_US + 5 * US)}
    result = run_tap(SPEC, lambda: DictStore(held, clock=clock), KEYS.head(3), _writer(tmp_path), clock,
                     duration_us=2 * US, rate_per_s=3)
    reads = read_served(tmp_path / "served", SPEC, T0, T0 + HOUR_US)
    assert result.reads == len(reads) == 6 and result.present == 2
    assert list(reads.columns) == ["key", "read_at", "present", "window_start", "window_end", "written_at",
                                   "requests", "clock"]
    one = reads[reads["key"] == "k001"].iloc[0]
    assert bool(one["present"]) and one["requests"] == 4 and one["window_end"] == T0 + 2 * MINUTE_US
    assert reads.loc[reads["key"] == "k000", "window_end"].isna().all() and (reads["clock"] == "simulated").all()
    assert str(reads["read_at"].dtype) == "Int64"
    assert due_window_start(SPEC, T0 + 3 * MINUTE_US) == T0 + MINUTE_US


def test_an_unreachable_store_counts_missed_reads_and_the_tap_carries_on(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    store = DictStore({}, down=[(T0 + 10 * US, T0 + 20 * US)], clock=clock)
    result = run_tap(SPEC, lambda: store, KEYS, _writer(tmp_path), clock, duration_us=30 * US, rate_per_s=100,
                     batch=10)
    assert result.missed >= 900 and result.reads + result.missed == 3000
    assert len(result.outages) == 1 and "connection refused" in (result.error or "")
    assert result.outages[0][0] >= T0 + 10 * US and result.outages[0][1] > T0 + 20 * US
    reads = read_served(tmp_path / "served", SPEC, T0, T0 + HOUR_US)
    assert len(reads) == result.reads and reads["read_at"].max() > T0 + 25 * US
    assert "missed" in result.describe("redis://x")


def test_a_second_tap_of_the_same_hour_writes_beside_the_first(tmp_path: Path) -> None:
    for start in (T0, T0 + 10 * US):
        clock = ManualClock(start)
        run_tap(SPEC, lambda clock=clock: DictStore({}, clock=clock), KEYS.head(5), _writer(tmp_path), clock,  # type: ignore[misc]
                duration_us=5 * US, rate_per_s=5)
    files = sorted((tmp_path / "served").rglob("*.parquet"))
    assert len(files) == 2 and len({f.name.split("-")[0] for f in files}) == 2
    assert sum(pq.read_metadata(f).num_rows for f in files) == 50


@pytest.mark.parametrize("column", ["present", "requests"])
def test_a_served_log_file_without_a_column_is_named(tmp_path: Path, column: str) -> None:
    from parity.errors import DataError

    folder = tmp_path / "served" / SPEC.name / "date=2027-01-15" / "hour=08"
    folder.mkdir(parents=True)
    table = pa.table({"key": ["a"], "read_at": pa.array([T0], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
                      "present": [True], "requests": [1]}).drop_columns([column])
    pq.write_table(table, folder / "tap_x-000000.parquet")
    with pytest.raises(DataError, match=column):
        read_served(tmp_path / "served", SPEC, T0 - 2 * HOUR_US, T0 + 2 * HOUR_US)
