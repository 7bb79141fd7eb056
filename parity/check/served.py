"""The served stage of a check (`--served`): the tap's reads due in the checked windows against the check's own
offline rows, the stream's panes and the emitted check's causes (`parity.served.served_check`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from parity.check.settle import CheckRange
from parity.errors import DataError
from parity.served import ServedResult
from parity.spec import FeatureSpec
from parity.units import iso


def served_span(spec: FeatureSpec, span: CheckRange) -> tuple[int, int]:
    """The reads whose due window (`parity.served`) starts in the checked range: `read_at` in
    [start + size + delay, end + size + delay)."""
    shift = spec.window.size_us + spec.served_rules.delay_us
    return span.start_us + shift, span.end_us + shift


def served_reads(spec: FeatureSpec, served_log: str | Path, span: CheckRange, offline: pd.DataFrame,
                 panes: pd.DataFrame, cells: pd.DataFrame) -> ServedResult:
    """The served check of the reads in `served_log` due in `span`, against the check's own offline rows, the
    stream's panes (`emitted_at` on the reads' clock: the log's for wall-clock reads, the replayed instant,
    `replayed_emission`, for simulated ones) and the emitted check's causes.

    A read that found a window newer than due and past the checked windows (a model reading just after a window
    closed, before `delay` ran out) has no offline truth in the check: it is left out, and counted by the check
    of the range that holds that window. With `served.empty: latest`, the latest window with a row is looked
    for within the checked windows only."""
    from parity.sample import window_micros
    from parity.served import replayed_emission, served_check
    from parity.served_log import Clock, clock_of, read_served, served_root

    lo, hi = served_span(spec, span)
    reads = read_served(served_log, spec, lo, hi)
    where = str(served_root(served_log) / spec.name)
    if reads.empty:
        raise DataError(where, f"no served reads between {iso(lo)} and {iso(hi)} (due in the checked windows); "
                               f"tap the store first: `parity tap {spec.name} --store redis://...`")
    clock = clock_of(reads, where)
    beyond = span.end_us + spec.window.size_us  # the end of the first window starting after the checked range
    reads = reads[~(reads["present"] & (reads["window_end"] >= beyond)).to_numpy(dtype=bool)].reset_index(drop=True)
    truth = offline[[*spec.keys, *spec.values]].copy()
    truth["window_end"] = window_micros(offline["window_end"])
    stream = panes[[*spec.keys, *spec.values, "pane_index"]].copy()
    stream["window_end"] = window_micros(panes["window_end"])
    if clock is Clock.SIMULATED or "emitted_at" not in panes.columns:
        stream["emitted_at"] = replayed_emission(spec, stream)
    else:
        stream["emitted_at"] = window_micros(panes["emitted_at"])
    known = cells[[*spec.keys, "cause"]].copy()
    known["window_end"] = window_micros(cells["window_start"]) + spec.window.size_us
    return served_check(spec, spec.served_rules, reads, truth, stream, clock=clock.value, compute_causes=known)
