"""The served check's classification on simulated worlds (no store server: `served_check` is a function of
three frames). A world is a count per key per 1-minute window; the stream emits an on-time pane 5 s after each
window closes (and, where planted, a late pane 90 s after); a writer applies the panes to a key -> hash store
by a rule, with the planted fault; a tap reads every key every 7 s. The real Redis writer and tap feed the same
function in `tests/served/test_served_redis.py`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pandas as pd
import pytest

from parity.result import Cause
from parity.served import StoreCause, served_check
from parity.spec import FeatureSpec, Served, Tolerance, Window
from parity.units import MINUTE_US, US

SPEC = FeatureSpec(
    name="requests_per_key", source="events", path=None, offline_query=None, keys=("key",),  # type: ignore[arg-type]
    window=Window(MINUTE_US, MINUTE_US), values=("requests",), tolerances=(Tolerance(),), threshold=0.999,
    allowed_lateness_us=2 * MINUTE_US, sample_rate=1.0, transform_yaml=None, transform_ref=None, expectations=(),
    description="",
)
KEYS = [f"k{i:02d}" for i in range(20)]
WINDOWS = 30
T0 = 1_800_000_000 * US // MINUTE_US * MINUTE_US


@dataclass
class World:
    late: bool = False
    rule: str = "newest_window"  # or "last_arrival"
    lose: float = 0.0  # share of writes lost
    ttl_us: int | None = None
    lag_us: int = 0
    truncate: bool = False
    job_bug_key: str | None = None  # the stream computes this key's counts wrong (a compute bug)
    seed: int = 3
    offline: list[dict[str, object]] = field(default_factory=list)
    panes: list[dict[str, object]] = field(default_factory=list)

    def build(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        rng = random.Random(self.seed)
        for w in range(WINDOWS):
            end = T0 + (w + 1) * MINUTE_US
            for key in KEYS:
                if rng.random() > 0.7:
                    continue
                count = rng.randint(1, 5)
                late = self.late and rng.random() < 0.3
                final = count + (1 if late else 0)
                self.offline.append({"key": key, "window_end": end, "requests": final})
                shown = count + (7 if key == self.job_bug_key else 0)
                self.panes.append({"key": key, "window_end": end, "requests": shown, "emitted_at": end + 5 * US})
                if late:
                    self.panes.append({"key": key, "window_end": end, "requests": shown + 1,
                                       "emitted_at": end + 90 * US})
        return pd.DataFrame(self.offline), pd.DataFrame(self.panes), self._reads(rng)

    def _reads(self, rng: random.Random) -> pd.DataFrame:
        writes = sorted((int(p["emitted_at"]) + self.lag_us, i) for i, p in enumerate(self.panes))  # type: ignore[call-overload]
        store: dict[str, dict[str, int]] = {}
        reads = []
        step = 7 * US
        t = T0 + 3 * MINUTE_US
        w = 0
        while t < T0 + WINDOWS * MINUTE_US:
            while w < len(writes) and writes[w][0] <= t:
                at, i = writes[w]
                w += 1
                if rng.random() < self.lose:
                    continue
                pane = self.panes[i]
                held = store.get(str(pane["key"]))
                if self.rule == "newest_window" and held and held["window_end"] > int(pane["window_end"]):  # type: ignore[call-overload]
                    continue
                value = int(pane["requests"])  # type: ignore[call-overload]
                store[str(pane["key"])] = {"window_end": int(pane["window_end"]),  # type: ignore[call-overload]
                                           "requests": value // 10 * 10 if self.truncate and value >= 3 else value,
                                           "written_at": at}
            for key in KEYS:
                held = store.get(key)
                if held and self.ttl_us is not None and held["written_at"] + self.ttl_us <= t:
                    held = None
                reads.append({"key": key, "read_at": t, "present": held is not None,
                              "requests": held["requests"] if held else None,
                              "window_start": held["window_end"] - MINUTE_US if held else None,
                              "window_end": held["window_end"] if held else None,
                              "written_at": held["written_at"] if held else None})
            t += step
        return pd.DataFrame(reads)


def _check(world: World, empty: object = 0) -> tuple[object, pd.DataFrame]:
    offline, stream, reads = world.build()
    rules = Served(delay_us=MINUTE_US, freshness_us=2 * MINUTE_US, empty=empty)
    result = served_check(SPEC, rules, reads, offline, stream, clock="simulated")
    return result, result.reads


def test_a_healthy_store_serves_what_offline_says_within_the_freshness_sla() -> None:
    result, reads = _check(World())
    assert result.agreement >= 0.999, reads[reads["status"] != "match"].head()
    assert result.within_sla == 1.0 and result.freshness_p99_us is not None
    assert result.freshness_p99_us <= 2 * MINUTE_US


def test_latest_semantics_counts_the_age_of_a_quiet_key_against_freshness() -> None:
    result, reads = _check(World(), empty="latest")
    assert result.agreement >= 0.999
    assert result.within_sla is not None and result.within_sla < 1.0  # quiet keys serve old windows
    assert reads["freshness_us"].max() > 2 * MINUTE_US


@pytest.mark.parametrize(("world", "cause"), [
    (World(lose=0.2), StoreCause.MISSING_IN_STORE),
    (World(late=True, rule="last_arrival"), StoreCause.OUT_OF_ORDER_WRITE),
    (World(ttl_us=40 * US), StoreCause.MISSING_IN_STORE),
    (World(lag_us=2 * MINUTE_US), StoreCause.STALE),
    (World(truncate=True), StoreCause.STORE_VALUE_MISMATCH),
], ids=["lost_writes", "last_arrival_wins", "ttl_expiry", "writer_lags_two_windows", "truncated_value"])
def test_each_store_fault_is_named_by_its_cause_and_never_as_a_compute_cause(world: World, cause: StoreCause) -> None:
    """The fault's reads: those that diverge with the fault and match with a correct store over the same world."""
    _, reads = _check(world)
    _, healthy = _check(World(late=world.late, seed=world.seed))
    divergent = reads[(reads["status"] != "match") & (healthy["status"] == "match")]
    assert len(divergent) >= 20, "the planted fault must show"
    named = (divergent["cause"] == cause.value).mean()
    assert named >= 0.95, divergent["cause"].value_counts()
    assert not divergent["cause"].isin([c.value for c in Cause]).any()


def test_a_compute_bug_behind_a_correct_store_is_a_compute_cause() -> None:
    _, reads = _check(World(job_bug_key="k03"))
    divergent = reads[reads["status"] != "match"]
    assert len(divergent) >= 20 and set(divergent["key"]) == {"k03"}
    assert (divergent["cause"] == Cause.UNEXPLAINED.value).all()


def test_late_panes_behind_a_correct_writer_are_compute_causes_from_the_emitted_check() -> None:
    world = World(late=True)
    offline, stream, reads = world.build()
    cells = stream.groupby(["key", "window_end"]).size().reset_index(name="panes")
    cells["cause"] = [Cause.LATE_ARRIVAL.value if n > 1 else "" for n in cells["panes"]]
    result = served_check(SPEC, Served(MINUTE_US, 2 * MINUTE_US), reads, offline, stream, clock="simulated",
                          compute_causes=cells)
    divergent = result.reads[result.reads["status"] != "match"]
    assert len(divergent) and (divergent["cause"] == Cause.LATE_ARRIVAL.value).all()


def test_the_served_block_renders_figures_chart_causes_and_worst_reads() -> None:
    from parity.report.served import served_block, served_html, served_markdown

    result, _ = _check(World(lag_us=2 * MINUTE_US))
    block = served_block(result, SPEC.keys, emitted_agreement=1.0)  # type: ignore[arg-type]
    assert block["causes"]["stale"] > 0 and sum(block["histogram"]["counts"]) == result.reads["freshness_us"].notna().sum()
    page = served_html(block, SPEC.name)
    assert page.count("<svg") == 1 and 'id="worst-reads"' in page and "--served --start" in page
    assert any("stale" in line for line in served_markdown(block))


def test_replayed_emission_puts_the_on_time_pane_at_the_window_end_and_late_panes_within_the_lateness() -> None:
    from parity.served import replayed_emission
    from parity.watermark import on_time_cutoff_us

    end = T0 + MINUTE_US
    panes = pd.DataFrame({"key": ["a", "a", "a", "b"], "window_end": [end] * 4, "pane_index": [0, 1, 2, 0],
                          "pane_timing": ["ON_TIME", "LATE", "LATE", "ON_TIME"]})
    emitted = replayed_emission(SPEC, panes).tolist()
    assert emitted[0] == emitted[3] == on_time_cutoff_us(end)
    assert emitted[0] < emitted[1] < emitted[2] == on_time_cutoff_us(end) + SPEC.allowed_lateness_us


def test_a_stored_pane_that_late_data_replaced_later_is_late_arrival_without_an_emitted_check() -> None:
    """The emitted check's final pane agrees, so it names nothing; the reads before the late pane reached the
    store got the on-time value: the stream's lateness, not the store's fault, and not unexplained."""
    _, reads = _check(World(late=True))
    divergent = reads[reads["status"] != "match"]
    assert len(divergent) >= 20 and (divergent["cause"] == Cause.LATE_ARRIVAL.value).all()
