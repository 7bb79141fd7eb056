"""Replay, three ways: was it the job's code or the production run?

`run_replay` reruns the feature's Beam job over a range from the event log (the faithful replay of
`parity.realtime`, same watermark and lateness) into a replay log of its own,
`<online_log>/_replays/<feature>/` (written as writer `replay`, never into the recorded log), then compares
per cell: recorded vs offline and replay vs offline (two full checks, late-arrival attribution included) and
recorded vs replay (the replay's final panes standing where offline stands). Each cell that is divergent in
either check gets one `ReplayClass`:

- `late_arrival`: every side that differs from offline is explained by late data (as `check` explains it):
  neither the code's fault nor production's;
- `job_logic`: recorded = replay != offline: the job's code computes the wrong thing;
- `runtime`: replay = offline != recorded: something happened in production (restarts, dropped or
  duplicated messages, another job version);
- `nondeterminism`: recorded != replay and the replay differs from offline too (the job gave two answers
  to one input), recorded matching offline or not.

The comparisons use the spec's tolerances; a cell absent from both sides of a pair agrees in that pair.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from parity.check import CheckedCells, check_cells, read_online
from parity.feature import Feature, as_feature
from parity.result import Cause, CellStatus, CheckResult
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.units import iso

if TYPE_CHECKING:
    from parity.offline import OfflineEngine
    from parity.online import OnlineSource

REPLAY_WRITER = "replay"
REPLAYS = "_replays"  # a name readers of the recorded log never take for a feature's folder
EXAMPLES = 5


class ReplayClass(enum.StrEnum):
    LATE_ARRIVAL = "late_arrival"
    JOB_LOGIC = "job_logic"
    RUNTIME = "runtime"
    NONDETERMINISM = "nondeterminism"


@dataclass(frozen=True, slots=True)
class PairCounts:
    """How two realtime outputs compare (recorded vs replay), cell by cell."""

    compared: int
    matched: int
    counts: dict[CellStatus, int]

    @property
    def agreement(self) -> float | None:
        return self.matched / self.compared if self.compared else None


@dataclass(frozen=True, slots=True)
class ReplayCell:
    """One classified cell: keys, window start, and its value on each side (None where absent)."""

    keys: dict[str, Any]
    window_start: str
    replay_class: ReplayClass
    recorded: dict[str, Any]
    replay: dict[str, Any]
    offline: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    feature: str
    start: str
    end: str
    replay_log: Path
    classes: dict[ReplayClass, int]
    recorded: CheckResult
    replay: CheckResult
    recorded_vs_replay: PairCounts
    examples: tuple[ReplayCell, ...]


def replay_log(settings: Settings) -> Path:
    """Where replays are written: beside the recorded features, under a folder no feature is named."""
    from parity.online import local_root

    return local_root(settings.online_log) / REPLAYS


def run_replay(
    spec: FeatureSpec | Feature, settings: Settings, start_us: int, end_us: int, *, sample_rate: float | None = None,
    offline: OfflineEngine | None = None,
) -> ReplayResult:
    """Replay the feature over windows starting in [start_us, end_us) and classify its divergent cells. The
    feature is loaded (and its query validated) before the replay runs; both checks share `offline` (Spark
    over the settings' event log unless given) and each reads its own online source."""
    from parity.events import read_events
    from parity.feature import event_range
    from parity.online import FileSource, open_source
    from parity.realtime import run_stream

    feature = as_feature(spec, settings)
    if offline is None:
        from parity.offline import SparkEngine

        offline = SparkEngine(settings)
    root = replay_log(settings)
    low, high = event_range(feature.window, start_us, end_us)
    run_stream(feature.spec, settings, read_events(settings.event_log, feature.source, low, high),
               out_dir=root / feature.name, windows=(start_us, end_us), writer=REPLAY_WRITER)
    recorded_log, replay = open_source(settings.online_log), FileSource(root)
    recorded = check_cells(feature, settings, start_us, end_us, sample_rate=sample_rate, online=recorded_log,
                           offline=offline)
    replayed = check_cells(feature, settings, start_us, end_us, sample_rate=sample_rate, online=replay,
                           offline=offline)
    between = _recorded_vs_replay(feature.spec, recorded_log, replay, recorded.result, sample_rate)
    table = _classify(feature.spec, recorded, replayed, between)
    counts = table["class"].value_counts()
    classes = {kind: int(counts.get(kind.value, 0)) for kind in ReplayClass}
    return ReplayResult(
        feature=feature.name,
        start=recorded.result.start,
        end=recorded.result.end,
        replay_log=root / feature.name,
        classes=classes,
        recorded=recorded.result,
        replay=replayed.result,
        recorded_vs_replay=PairCounts(
            len(between), int((between["status"] == CellStatus.MATCH.value).sum()),
            {status: int((between["status"] == status.value).sum()) for status in CellStatus}),
        examples=_examples(table, feature.spec),
    )


def _recorded_vs_replay(
    spec: FeatureSpec, recorded: OnlineSource, replayed: OnlineSource, result: CheckResult, sample_rate: float | None
) -> pd.DataFrame:
    """Per cell, the recorded output against the replay's final panes (`compare`, the replay as offline)."""
    from parity.compare import compare
    from parity.sample import in_sample

    rate = sample_rate if sample_rate is not None else spec.sample_rate
    start_us, end_us = (int(pd.Timestamp(t).value // 1000) for t in (result.start, result.end))
    ours = read_online(spec, recorded, start_us, end_us).rows
    theirs = read_online(spec, replayed, start_us, end_us).rows
    ours = ours[in_sample(spec.name, ours, list(spec.keys), rate)]
    theirs = theirs[in_sample(spec.name, theirs, list(spec.keys), rate)]
    final = theirs.sort_values("pane_index").drop_duplicates([*spec.keys, "window_start"], keep="last")
    return compare(final[[*spec.keys, "window_start", *spec.values]], ours, spec).cells


def _classify(spec: FeatureSpec, recorded: CheckedCells, replayed: CheckedCells, between: pd.DataFrame) -> pd.DataFrame:
    """One row per cell divergent in either check: keys, window_start, the three values and its `class`."""
    from parity.sample import cell_index

    keys = list(spec.keys)
    frames = {"rec": recorded.cells, "rep": replayed.cells, "both": between}
    index = {name: cell_index(frame, keys) for name, frame in frames.items()}
    every = index["rec"].append(index["rep"]).append(index["both"]).unique()

    def column(name: str, field: str, default: Any) -> np.ndarray:
        at = index[name].get_indexer(every)
        values = frames[name][field].astype(object).to_numpy()
        out = np.full(len(every), default, dtype=object)
        out[at >= 0] = values[at[at >= 0]]
        return out

    match = CellStatus.MATCH.value
    rec_ok = column("rec", "status", match) == match
    rep_ok = column("rep", "status", match) == match
    same = column("both", "status", match) == match
    late = Cause.LATE_ARRIVAL.value
    rec_late = rec_ok | (column("rec", "cause", None) == late)
    rep_late = rep_ok | (column("rep", "cause", None) == late)
    divergent = ~(rec_ok & rep_ok)
    kind = np.select(
        [rec_late & rep_late, same, rep_ok],
        [ReplayClass.LATE_ARRIVAL.value, ReplayClass.JOB_LOGIC.value, ReplayClass.RUNTIME.value],
        ReplayClass.NONDETERMINISM.value,
    )
    table = pd.DataFrame({f"key{i}": every.get_level_values(i) for i in range(len(keys))})
    table["window_start"] = every.get_level_values(len(keys))
    for value in spec.values:
        table[f"{value}_recorded"] = column("rec", f"{value}_online", None)
        table[f"{value}_replay"] = column("rep", f"{value}_online", None)
        table[f"{value}_offline"] = column("rec", f"{value}_offline", None)
    table["class"] = kind
    return table[divergent].reset_index(drop=True)


def _examples(table: pd.DataFrame, spec: FeatureSpec) -> tuple[ReplayCell, ...]:
    from parity.check.verdict import plain as _plain

    cells = []
    for kind in ReplayClass:
        for _, row in table[table["class"] == kind.value].head(EXAMPLES).iterrows():
            cells.append(ReplayCell(
                keys={k: _plain(row[f"key{i}"]) for i, k in enumerate(spec.keys)},
                window_start=iso(int(row["window_start"])),
                replay_class=kind,
                recorded={v: _plain(row[f"{v}_recorded"]) for v in spec.values},
                replay={v: _plain(row[f"{v}_replay"]) for v in spec.values},
                offline={v: _plain(row[f"{v}_offline"]) for v in spec.values},
            ))
    return tuple(cells)


def replay_json(result: ReplayResult) -> dict[str, Any]:
    """What `parity replay --format json` prints: `classes`, then the usual check fields for each pair."""
    from parity.report.text import SUMMARY_FIELDS, json_safe, to_json

    def summary(check: CheckResult) -> dict[str, Any]:
        full = to_json(check)
        return {field: full[field] for field in SUMMARY_FIELDS}

    between = result.recorded_vs_replay
    rendered: dict[str, Any] = json_safe({
        "feature": result.feature,
        "start": result.start,
        "end": result.end,
        "replay_log": str(result.replay_log),
        "classes": {kind.value: count for kind, count in result.classes.items()},
        "recorded_vs_offline": summary(result.recorded),
        "replay_vs_offline": summary(result.replay),
        "recorded_vs_replay": {"compared": between.compared, "matched": between.matched, "agreement": between.agreement,
                               **{status.value: n for status, n in between.counts.items() if status is not CellStatus.MATCH}},
        "examples": [{"keys": c.keys, "window_start": c.window_start, "class": c.replay_class.value,
                      "recorded": c.recorded, "replay": c.replay, "offline": c.offline} for c in result.examples],
    })
    return rendered


def replay_text(result: ReplayResult) -> str:
    """The terminal rendering: the three agreements, the classes, a few example cells per class."""
    from parity.report.words import pct

    between = result.recorded_vs_replay
    lines = [
        f"{result.feature} {result.start}..{result.end} (replay log {result.replay_log})",
        f"  recorded vs offline  {pct(result.recorded.agreement):>9}  ({result.recorded.compared} cells)",
        f"  replay   vs offline  {pct(result.replay.agreement):>9}  ({result.replay.compared} cells)",
        f"  recorded vs replay   {pct(between.agreement):>9}  ({between.compared} cells)",
        "  divergent cells: " + ", ".join(f"{kind.value} {count}" for kind, count in result.classes.items()),
    ]
    for cell in result.examples:
        keys = ", ".join(f"{k}={v}" for k, v in cell.keys.items())
        lines.append(f"    {cell.replay_class.value:<15} {keys} @ {cell.window_start}: recorded {cell.recorded}, "
                     f"replay {cell.replay}, offline {cell.offline}")
    return "\n".join(lines)
