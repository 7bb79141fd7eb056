"""Diagnoses: a named cause for the divergent cells that late arrival did not explain, from the frames in hand.

Causes are tried in a fixed order. `late_arrival` comes first (`parity.attribute`: late data is not the
code's fault, and settling it takes a Spark recompute). Then each function of `DIAGNOSES`, in order, looks at
the cells still left and may take some of them under its cause, with a one-line detail:

- `duplicate_output`: a cell has more than one final pane online; the detail says whether the panes come from
  overlapping output files or from one file (one run emitted the cell twice);
- `null_semantics`: one side null where the other is zero or empty (`try_divide` vs `0`, `COUNT(col)` vs a
  count that yields null), every other value agreeing;
- `window_shift`: the online value of a cell is the offline value of the same key in a window a constant offset
  away (a multiple of the slide up to size/slide slides either way, whole hours +-1..14, or the offset at which
  most divergent cells find their offline value online: any size the rows read can show), or the
  value the stream could have computed in time there; online rows too far away to measure are said so;
- `key_mismatch`: a key absent on one side equals a key of the other side after one consistent transformation
  (geohash parent/child at another precision, case, whitespace, a number printed differently).

`unexplained` is what is left. Adding a cause is adding an enum member to `parity.result.Cause` and a
function here (`Evidence` in, `Finding` or None out) to `DIAGNOSES`.

A diagnosis names a pattern, not a coincidence: features count in small numbers, and a count of 2 often equals
the count of the window next to it by chance. So a finding holds only with at least `MIN_CELLS` cells (or every
cell left, when fewer are left) and more than half of the cells it could apply to (`Finding.applies`: for a
window shift, the cells whose shifted window was computed; for a key mismatch, the cells whose key is absent
from the other side). A missing filter then stays `unexplained`, even where some of its counts happen to equal
a neighbour's.

Every diagnosis runs on the divergent cells only, with lookups into the two sides restricted to their keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parity.attribute import InTimeValues
from parity.compare import compare
from parity.geo import BASE32
from parity.online.files import writer_of
from parity.result import Cause, CellStatus, Diagnosis
from parity.sample import cell_index, key_text, window_micros
from parity.spec import FeatureSpec
from parity.units import HOUR_US, format_duration

CAUSE_COLUMN = "cause"
FILE_COLUMN = "_file"  # the online output file a row was read from (`parity.check.read_online`)
MIN_CELLS = 3
MAX_ZONE_HOURS = 14


@dataclass(frozen=True, slots=True, eq=False)
class Evidence:
    """What a diagnosis may look at.

    `cells`: the divergent cells still left (rows of `Comparison.cells`, so keys, `window_start` µs, `status`
    and `v_online`/`v_offline` per value). `offline`: the offline result of the whole checked range, every
    cell (not only the sampled ones), with windows starting in [start_us, end_us). `online`: every online row
    read, every pane and every window, in or out of the range, with the `_file` it came from when known.
    `in_time`: where known, cells of the offline result with their in-time values (`parity.attribute`: over the
    events that arrived before the stream closed the window), the value a late-fed stream could compute;
    `no_in_time`: the cells (keys, `window_start`) known to have had no event in time.
    """

    spec: FeatureSpec
    cells: pd.DataFrame
    offline: pd.DataFrame
    online: pd.DataFrame
    start_us: int
    end_us: int
    in_time: pd.DataFrame | None = None
    no_in_time: pd.DataFrame | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Finding:
    """What one diagnosis found among `Evidence.cells`: per cell, whether the diagnosis could judge it
    (`applies`) and whether it fits the pattern (`fits`, within `applies`)."""

    cause: Cause
    applies: np.ndarray
    fits: np.ndarray
    detail: str

    def holds(self) -> bool:
        """At least MIN_CELLS cells fit (or every cell, when fewer are left) and more than half of those it
        applies to (see the module docstring)."""
        return bool(_holding(np.array(self.fits.sum()), np.array(self.applies.sum()), len(self.fits)))


Diagnose = Callable[[Evidence], Finding | None]


def diagnose(
    cells: pd.DataFrame,
    spec: FeatureSpec,
    offline: pd.DataFrame,
    online: pd.DataFrame,
    start_us: int,
    end_us: int,
    in_time: InTimeValues | None = None,
) -> tuple[pd.DataFrame, tuple[Diagnosis, ...]]:
    """`cells` (with the `cause` column of `parity.attribute.attribute`) where each diagnosis that holds has
    put its cause on the `unexplained` cells it fits, in the order of `DIAGNOSES`; and the diagnoses found.
    `in_time`: the in-time values attribution used, where known (see `Evidence`)."""
    known, absent = None, None
    if in_time is not None:
        known = in_time.frame
        considered = cells.loc[in_time.considered, list(spec.cell_columns)]
        if len(considered):
            seen = cell_index(known, spec.keys) if len(known) else pd.MultiIndex.from_arrays([[]] * len(spec.cell_columns))
            absent = considered[~np.asarray(cell_index(considered, spec.keys).isin(seen))]
    result = cells
    found: list[Diagnosis] = []
    left = np.flatnonzero((cells[CAUSE_COLUMN] == Cause.UNEXPLAINED.value).to_numpy())
    for run in DIAGNOSES:
        if len(left) == 0:
            break
        evidence = Evidence(spec, cells.iloc[left].reset_index(drop=True), offline, online, start_us, end_us, known, absent)
        finding = run(evidence)
        if finding is None or not finding.holds():
            continue
        if result is cells:
            result = cells.copy()
        taken = left[finding.fits]
        result.iloc[taken, result.columns.get_loc(CAUSE_COLUMN)] = finding.cause.value
        found.append(Diagnosis(finding.cause, len(taken), finding.detail))
        left = left[~finding.fits]
    return result, tuple(found)


# --- duplicate_output --------------------------------------------------------------------------------


def duplicate_output(evidence: Evidence) -> Finding | None:
    """Cells with more than one final pane; the detail names the files their final panes came from."""
    cells, spec = evidence.cells, evidence.spec
    duplicate = (cells["status"] == CellStatus.DUPLICATE_ONLINE.value).to_numpy()
    if not duplicate.any():
        return None
    online = evidence.online
    if FILE_COLUMN not in online.columns:
        detail = f"{int(duplicate.sum())} cells have more than one final pane online"
        return Finding(Cause.DUPLICATE_OUTPUT, duplicate, duplicate, detail)
    wanted = cells[duplicate]
    keys = _KeyCodes.of([wanted, online], spec.keys)
    wanted_cell = pd.MultiIndex.from_arrays([keys.codes[0], window_micros(wanted["window_start"])])
    rows = online[keys.codes[1] >= 0]
    row_cell = pd.MultiIndex.from_arrays([keys.codes[1][keys.codes[1] >= 0], window_micros(rows["window_start"])])
    rows = rows.assign(_cell=wanted_cell.get_indexer(row_cell))
    rows = rows[rows["_cell"] >= 0]
    writer = rows[FILE_COLUMN].astype(str).map(writer_of)  # final panes are per writer (`parity.compare`)
    last = rows.groupby(["_cell", writer])["pane_index"].transform("max")
    finals = rows[rows["pane_index"] == last]
    files_per_cell = finals.groupby("_cell")[FILE_COLUMN].nunique()
    across = files_per_cell[files_per_cell > 1]
    parts = []
    if len(across):
        files = sorted({str(f) for f in finals.loc[finals["_cell"].isin(across.index), FILE_COLUMN]})
        example = finals[finals["_cell"] == across.index[0]]
        values = "; ".join(f"{file}: " + ", ".join(f"{v}={row[v]}" for v in spec.values)
                           for file, row in zip(example[FILE_COLUMN].astype(str), example.to_dict("records"), strict=True))
        parts.append(f"{len(across)} cells have final panes in {len(files)} overlapping output files "
                     f"({', '.join(files)}); e.g. {values}")
    within = len(wanted) - len(across)
    if within:
        one = finals.loc[~finals["_cell"].isin(across.index), FILE_COLUMN]
        files = sorted({str(f) for f in one})
        parts.append(f"{within} cells have several final panes within one output file, from one run "
                     f"({', '.join(files[:3])}{', ...' if len(files) > 3 else ''})")
    return Finding(Cause.DUPLICATE_OUTPUT, duplicate, duplicate, "; ".join(parts))


# --- null_semantics ----------------------------------------------------------------------------------


def null_semantics(evidence: Evidence) -> Finding | None:
    """Value mismatches where one side is null and the other zero (or empty text), everything else agreeing."""
    cells, spec = evidence.cells, evidence.spec
    present = (cells["status"] == CellStatus.VALUE_MISMATCH.value).to_numpy()
    applies = np.zeros(len(cells), dtype=bool)
    offline_values: dict[str, pd.Series] = {}
    patterns: list[tuple[str, np.ndarray]] = []
    for name in spec.values:
        online, offline = cells[f"{name}_online"], cells[f"{name}_offline"]
        online_null, offline_null = online.isna().to_numpy(), offline.isna().to_numpy()
        one_null = present & (online_null != offline_null)
        applies |= one_null
        zero_online = one_null & offline_null & _zero_or_empty(online)
        zero_offline = one_null & online_null & _zero_or_empty(offline)
        # Take null and zero as one: the offline side becomes what the online side holds there.
        offline_values[name] = offline.where(~(zero_online | zero_offline), online)
        patterns += [(f"{name} is {_shown_zero(online)} online where it is null offline", zero_online),
                     (f"{name} is null online where it is {_shown_zero(offline)} offline", zero_offline)]
    if not applies.any():
        return None
    fits = applies & _agreeing(spec, pd.DataFrame(offline_values), _online_side(cells, spec))
    detail = "; ".join(f"{text} ({int((mask & fits).sum())} cells)" for text, mask in patterns if (mask & fits).any())
    return Finding(Cause.NULL_SEMANTICS, applies, fits, detail)


def _zero_or_empty(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return np.asarray((column == 0).fillna(False), dtype=bool)
    text = column.astype(object)
    return np.array([isinstance(v, str) and not v.strip() for v in text], dtype=bool)


def _shown_zero(column: pd.Series) -> str:
    numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    return "0" if numeric else "empty"


# --- window_shift ------------------------------------------------------------------------------------


def window_shift(evidence: Evidence) -> Finding | None:
    """The cells whose values sit a constant offset `d` away: online at window `w` equals offline at `w - d`,
    and offline at `w` equals online at `w + d`, wherever those windows were computed (the offline result
    covers the checked range, the online rows the windows the output files hold). An offline value agrees when
    its full or its in-time value does (a shifted stream fed late events computes the in-time one). Values are
    compared by `compare` with the spec's tolerances; a cell absent from both sides agrees. Candidates
    (`_shift_candidates`): slide multiples up to the window, whole hours, and the offset the data suggest; the
    one fitting most cells wins. With no online row near the range at all, every cell missing online is taken
    with a detail saying the offset could not be measured (a shift beyond the rows read, or a range not streamed)."""
    cells, spec = evidence.cells, evidence.spec
    if evidence.offline.empty:
        return None
    if evidence.online.empty:
        missing = (cells["status"] == CellStatus.MISSING_ONLINE.value).to_numpy()
        if not missing.all():
            return None
        detail = ("no online window near the checked ones: a window shift beyond the hours read could not be "
                  "measured (or the range was not streamed); stream it and check a wider range")
        return Finding(Cause.WINDOW_SHIFT, missing, missing, detail)
    cell_key, offline_key, online_key = _KeyCodes.of([cells, evidence.offline, evidence.online], spec.keys).codes
    offline = _indexed(evidence.offline, offline_key)
    in_time = offline
    if evidence.in_time is not None or evidence.no_in_time is not None:
        # The in-time value where one is known, none where the cell had no event in time, the full value elsewhere.
        frames = [f if f is not None else evidence.offline.iloc[0:0] for f in (evidence.in_time, evidence.no_in_time)]
        known_key, absent_key = _KeyCodes.of([cells, *frames], spec.keys).codes[1:]
        known = _indexed(frames[0], known_key)
        absent = _indexed(frames[1], absent_key).index
        in_time = pd.concat([known, offline[~offline.index.isin(known.index) & ~offline.index.isin(absent)]])
    online = _indexed(*_final_panes(evidence.online, online_key))
    online_windows = window_micros(evidence.online["window_start"])
    online_low, online_high = int(online_windows.min()), int(online_windows.max())

    cell_window = window_micros(cells["window_start"])
    shifts = _shift_candidates(spec, cells, cell_key, cell_window, online)
    n, k = len(cells), len(shifts)
    key = np.repeat(cell_key, k)
    window = np.repeat(cell_window, k)
    shift = np.tile(shifts, n)
    # forward: online at w against offline at w - d; backward: offline at w against online at w + d
    forward_known = (window - shift >= evidence.start_us) & (window - shift < evidence.end_us)
    backward_known = (window + shift >= online_low) & (window + shift <= online_high)
    forward = np.ones(n * k, dtype=bool)  # true where not known: only what was computed can refute a shift
    at = np.flatnonzero(forward_known)
    here = _take(online, key[at], window[at], spec)
    forward[at] = (_agreeing(spec, _take(offline, key[at], window[at] - shift[at], spec), here)
                   | _agreeing(spec, _take(in_time, key[at], window[at] - shift[at], spec), here))
    backward = np.ones(n * k, dtype=bool)
    at = np.flatnonzero(backward_known)
    there = _take(online, key[at], window[at] + shift[at], spec)
    backward[at] = (_agreeing(spec, _take(offline, key[at], window[at], spec), there)
                    | _agreeing(spec, _take(in_time, key[at], window[at], spec), there))
    applies_all = (forward_known | backward_known).reshape(n, k)
    fits_all = applies_all & forward.reshape(n, k) & backward.reshape(n, k)
    fitting, applying = fits_all.sum(axis=0), applies_all.sum(axis=0)
    holding = _holding(fitting, applying, n)
    if not holding.any():
        return None
    j = int(np.argmax(np.where(holding, fitting, -1)))  # the most cells; the nearest offset on a tie
    d = int(shifts[j])
    detail = f"online windows = offline windows {'+' if d > 0 else '-'} {format_duration(abs(d))}"
    return Finding(Cause.WINDOW_SHIFT, applies_all[:, j], fits_all[:, j], detail)


# The offset the data suggest is looked for among at most this many cells.
SHIFT_SAMPLE = 500


def _shift_candidates(spec: FeatureSpec, cells: pd.DataFrame, cell_key: np.ndarray, cell_window: np.ndarray,
                      online: pd.DataFrame) -> np.ndarray:
    """Multiples of the slide up to size/slide either way and whole hours +-1..14 (time zones), nearest first; then
    the offset the data suggest (`_suggested_shift`), of any size the online rows read can show."""
    slide, count = spec.window.slide_us, max(1, spec.window.size_us // spec.window.slide_us)
    slides = [sign * i * slide for i in range(1, count + 1) for sign in (1, -1)]
    hours = [sign * h * HOUR_US for h in range(1, MAX_ZONE_HOURS + 1) for sign in (1, -1)]
    suggested = _suggested_shift(spec, cells, cell_key, cell_window, online)
    return np.array(list(dict.fromkeys([*slides, *hours, *([] if suggested is None else [suggested])])), dtype=np.int64)


def _suggested_shift(spec: FeatureSpec, cells: pd.DataFrame, cell_key: np.ndarray, cell_window: np.ndarray,
                     online: pd.DataFrame) -> int | None:
    """The offset `d` (a slide multiple) at which most divergent cells find their offline value online, in the
    window `w + d` of their key, when it is a clear mode (at least MIN_CELLS cells, twice as many as any other
    offset): a 5-minute window 30 minutes off, a day off. Values that repeat along a key (flat counts) make no
    clear mode and suggest nothing."""
    slide = spec.window.slide_us
    at: dict[tuple[object, ...], list[int]] = {}
    online_key = online.index.get_level_values(0).to_numpy()
    online_window = online.index.get_level_values(1).to_numpy()
    online_values = [key_text(online[v]) for v in spec.values]
    for i, (key, window) in enumerate(zip(online_key.tolist(), online_window.tolist(), strict=True)):
        at.setdefault((key, *(text[i] for text in online_values)), []).append(window)
    offline_values = [key_text(cells[f"{v}_offline"]) for v in spec.values]
    present = cells[f"{spec.values[0]}_offline"].notna().to_numpy()
    votes: dict[int, int] = {}
    for i in np.flatnonzero(present)[:SHIFT_SAMPLE].tolist():
        windows = at.get((int(cell_key[i]), *(text[i] for text in offline_values)), [])
        for d in {w - int(cell_window[i]) for w in windows}:
            if d and d % slide == 0:
                votes[d] = votes.get(d, 0) + 1
    ranked = sorted(votes.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] < MIN_CELLS or (len(ranked) > 1 and ranked[0][1] < 2 * ranked[1][1]):
        return None
    return ranked[0][0]


def _indexed(frame: pd.DataFrame, key: np.ndarray) -> pd.DataFrame:
    """The rows of `frame` whose key is one of the diagnosed cells' (`key` >= 0), indexed by (key code,
    window µs), one row per cell (an offline result that repeats a cell outside the sample keeps its first)."""
    kept = frame[key >= 0]
    at = pd.MultiIndex.from_arrays([key[key >= 0], window_micros(kept["window_start"])])
    unique = ~at.duplicated()
    return kept[unique].set_axis(at[unique])


def _take(frame: pd.DataFrame, key: np.ndarray, window: np.ndarray, spec: FeatureSpec) -> pd.DataFrame:
    """The value columns of `frame` (from `_indexed`) at the cells (key code, window µs), a row per cell, with a
    `_present` column (False where `frame` has no row for the cell)."""
    row = frame.index.get_indexer(pd.MultiIndex.from_arrays([key, window])) if len(frame) else np.full(len(key), -1)
    present = row >= 0
    values = frame[list(spec.values)]
    taken = values.iloc[np.where(present, row, 0)] if len(frame) else values.reset_index(drop=True).reindex(range(len(key)))
    return taken.reset_index(drop=True).assign(_present=present)


def _final_panes(online: pd.DataFrame, key: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per online cell of a diagnosed key (`key` >= 0): its last pane (one of them when several rows
    carry it), and the key codes of the rows kept."""
    kept = np.flatnonzero(key >= 0)
    panes = online["pane_index"].to_numpy(dtype=np.int64)[kept]
    windows = window_micros(online["window_start"].iloc[kept])
    order = np.lexsort((panes, windows, key[kept]))
    ordered = kept[order]
    last = np.ones(len(ordered), dtype=bool)
    last[:-1] = (key[ordered][1:] != key[ordered][:-1]) | (windows[order][1:] != windows[order][:-1])
    return online.iloc[ordered[last]], key[ordered[last]]


# --- key_mismatch ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _KeyTransform:
    """Maps a key text of each side to a common form; `describe(online, offline)` is the detail."""

    online: Callable[[str], str]
    offline: Callable[[str], str]
    describe: Callable[[str, str], str]


def key_mismatch(evidence: Evidence) -> Finding | None:
    """Cells missing on one side whose key is absent from the other side, but equals a key of the other side
    once both are put through one transformation (geohash precision, case, whitespace, number format)."""
    cells, spec = evidence.cells, evidence.spec
    missing_online = (cells["status"] == CellStatus.MISSING_ONLINE.value).to_numpy()
    missing_offline = (cells["status"] == CellStatus.MISSING_OFFLINE.value).to_numpy()
    if not (missing_online.any() or missing_offline.any()):
        return None
    cell_keys = _key_tuples(cells, spec)
    offline_keys = set(_key_tuples(evidence.offline, spec))
    online_keys = set(_key_tuples(evidence.online, spec))
    applies = (missing_offline & np.array([k not in offline_keys for k in cell_keys], dtype=bool)) | (
        missing_online & np.array([k not in online_keys for k in cell_keys], dtype=bool))
    if not applies.any():
        return None
    best: Finding | None = None
    for position, name in enumerate(spec.keys):
        only_online = {k[position] for k, a, m in zip(cell_keys, applies, missing_offline, strict=True) if a and m}
        only_offline = {k[position] for k, a, m in zip(cell_keys, applies, missing_online, strict=True) if a and m}
        for transform in _key_transforms(only_online, only_offline):
            fits = np.zeros(len(cells), dtype=bool)
            example: tuple[str, str] | None = None
            offline_index = _transformed(offline_keys, position, transform.offline)
            online_index = _transformed(online_keys, position, transform.online)
            for i in np.flatnonzero(applies).tolist():
                own = cell_keys[i]
                if missing_offline[i]:
                    match = offline_index.get(_replace(own, position, transform.online(own[position])))
                    pair = (own[position], str(match))
                else:
                    match = online_index.get(_replace(own, position, transform.offline(own[position])))
                    pair = (str(match), own[position])
                if match is not None:
                    fits[i] = True
                    example = example or pair
            if example is None:
                continue
            detail = transform.describe(*example)
            finding = Finding(Cause.KEY_MISMATCH, applies, fits, detail if len(spec.keys) == 1 else f"{name}: {detail}")
            if finding.holds() and (best is None or fits.sum() > best.fits.sum()):
                best = finding
    return best


def _key_transforms(only_online: set[str], only_offline: set[str]) -> list[_KeyTransform]:
    """The transformations worth trying for keys seen on one side only."""
    transforms = []
    online_lengths = {len(k) for k in only_online}
    offline_lengths = {len(k) for k in only_offline}
    geohashes = all(set(k) <= BASE32 for k in only_online | only_offline)
    if geohashes and len(online_lengths) == 1 and len(offline_lengths) == 1 and online_lengths != offline_lengths:
        (on,), (off,) = online_lengths, offline_lengths
        if on < off:
            transforms.append(_KeyTransform(
                lambda k: k, lambda k: k[:on],
                lambda _o, _f: f"online keys are precision-{on} parents of offline precision-{off} keys"))
        else:
            transforms.append(_KeyTransform(
                lambda k: k[:off], lambda k: k,
                lambda _o, _f: f"online keys are precision-{on} children of offline precision-{off} keys"))
    transforms += [
        _KeyTransform(str.casefold, str.casefold,
                      lambda o, f: f"online keys are offline keys in another case (online {o!r}, offline {f!r})"),
        _KeyTransform(_one_space, _one_space,
                      lambda o, f: f"online keys are offline keys with other whitespace (online {o!r}, offline {f!r})"),
        _KeyTransform(_number, _number,
                      lambda o, f: f"online keys are offline keys printed as other numbers (online {o!r}, offline {f!r})"),
    ]
    return transforms


def _one_space(key: str) -> str:
    return " ".join(key.split())


def _number(key: str) -> str:
    try:
        value = float(key)
    except ValueError:
        return key
    return repr(int(value)) if value.is_integer() else repr(value)


def _key_tuples(frame: pd.DataFrame, spec: FeatureSpec) -> list[tuple[str, ...]]:
    texts = [key_text(frame[name]) for name in spec.keys]
    return list(zip(*texts, strict=True)) if texts and len(frame) else []


def _transformed(keys: set[tuple[str, ...]], position: int, transform: Callable[[str], str]) -> dict[tuple[str, ...], str]:
    """Each key tuple with one column transformed -> the original key text of that column (one of them)."""
    return {_replace(k, position, transform(k[position])): k[position] for k in keys}


def _replace(key: tuple[str, ...], position: int, value: str) -> tuple[str, ...]:
    return (*key[:position], value, *key[position + 1:])


# --- shared: key codes and agreement through `compare` ------------------------------------------------


@dataclass(frozen=True, slots=True)
class _KeyCodes:
    """One integer per key tuple, in common for several frames; -1 for a key the first frame does not hold
    (lookups only ever need the keys of the cells being diagnosed)."""

    codes: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, frames: list[pd.DataFrame], keys: tuple[str, ...]) -> _KeyCodes:
        first = pd.MultiIndex.from_arrays([key_text(frames[0][k]) for k in keys]).unique()
        codes = tuple(
            first.get_indexer(pd.MultiIndex.from_arrays([key_text(frame[k]) for k in keys])) if len(frame)
            else np.empty(0, dtype=np.int64)
            for frame in frames
        )
        return cls(codes)


PAIR = "_pair"


def _agreeing(spec: FeatureSpec, offline: pd.DataFrame, online: pd.DataFrame) -> np.ndarray:
    """Row by row, do `offline` and `online` (the spec's value columns, one row per pair, same length; a
    `_present` column where a side may be absent) agree? Judged by `compare` itself, so tolerances and the
    null/NaN classes apply: each row is a cell of its own (pane_index 0). Absent on both sides agrees."""
    n = len(offline)
    pairs = np.arange(n, dtype=np.int64)
    sides = []
    for frame in (offline, online):
        present = frame["_present"].to_numpy(dtype=bool) if "_present" in frame.columns else np.ones(n, dtype=bool)
        side = frame[list(spec.values)].reset_index(drop=True)[present]
        sides.append(side.assign(**{PAIR: pairs[present], "window_start": np.int64(0), "pane_index": np.int64(0)}))
    paired = dataclasses.replace(spec, keys=(PAIR,))
    cells = compare(sides[0], sides[1], paired).cells
    agree = np.ones(n, dtype=bool)
    agree[np.asarray(cells[PAIR], dtype=np.int64)] = (cells["status"] == CellStatus.MATCH.value).to_numpy()
    return agree


def _online_side(cells: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The online values of `cells` (their final panes, as `compare` took them)."""
    return pd.DataFrame({name: cells[f"{name}_online"].reset_index(drop=True) for name in spec.values})


def _holding(fitting: np.ndarray, applying: np.ndarray, left: int) -> np.ndarray:
    """Where a pattern holds, given how many cells it fits and applies to among `left` (see the module docstring)."""
    return np.asarray((fitting >= min(MIN_CELLS, left)) & (fitting > 0) & (2 * fitting > applying), dtype=bool)


DIAGNOSES: tuple[Diagnose, ...] = (duplicate_output, null_semantics, window_shift, key_mismatch)
