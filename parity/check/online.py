"""The online side of a check: the realtime rows of the checked windows, read from an `OnlineSource`."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from parity.errors import DataError
from parity.feature import ONLINE_COLUMNS
from parity.frames import NULLABLE
from parity.online import OnlinePart, OnlineSource
from parity.spec import FeatureSpec

__all__ = ["ONLINE_COLUMNS", "OnlineRead", "read_online"]


@dataclass(frozen=True, slots=True)
class OnlineRead:
    """The realtime output rows with `window_start` in the range (every pane), and the `strays`: rows with a null
    `window_start` or one outside the windows their file claims (`parity.online.OnlinePart.claim`), in range or
    not, with the file they are in. Windows outside the checked range are normal; strays are not.
    `all_windows`: every row read, in the range or not (a window shift is seen in the windows around the range).
    Rows carry the file they were read from in `_file` (categorical)."""

    rows: pd.DataFrame
    strays: pd.DataFrame
    all_windows: pd.DataFrame


def read_online(spec: FeatureSpec, online: OnlineSource, start_us: int, end_us: int, *,
                around_us: int = 0) -> OnlineRead:
    """The realtime output of a feature for windows starting in [start_us, end_us), and its strays.

    Read through `online` (`parity.online`): on a filesystem, the hour folders holding the range (widened by
    `around_us` on both sides) and the old flat layout; hidden names, such as a stream's temporaries, are not
    output, and windows a newer stream replaced are left out. A file that cannot be read is a `DataError`
    naming it."""
    from parity.diagnose import FILE_COLUMN
    from parity.sample import utc_timestamps

    frames = []
    strays = []
    for part in online.read(spec.name, start_us - around_us, end_us + around_us):
        frame = _part_frame(spec, online, part)
        frame[FILE_COLUMN] = part.name
        starts = utc_timestamps(frame["window_start"])
        stray = starts.isna()
        if part.claim is not None:
            stray |= (starts < pd.Timestamp(part.claim[0], unit="us", tz="UTC")) | (
                starts >= pd.Timestamp(part.claim[1], unit="us", tz="UTC"))
        if stray.any():
            strays.append(pd.DataFrame({"window_start": starts[stray], "file": part.name}))
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True) if frames else _no_rows(spec)
    rows[FILE_COLUMN] = rows[FILE_COLUMN].astype("category")
    for column in ("window_start", "window_end"):
        rows[column] = utc_timestamps(rows[column])
    lo = pd.Timestamp(start_us, unit="us", tz="UTC")
    hi = pd.Timestamp(end_us, unit="us", tz="UTC")
    inside = rows[(rows["window_start"] >= lo) & (rows["window_start"] < hi)].reset_index(drop=True)
    no_strays = pd.DataFrame({"window_start": pd.Series([], dtype="datetime64[us, UTC]"), "file": pd.Series([], dtype=str)})
    return OnlineRead(inside, pd.concat([no_strays, *strays], ignore_index=True), rows)


def _part_frame(spec: FeatureSpec, online: OnlineSource, part: OnlinePart) -> pd.DataFrame:
    """One part as pandas (nullable types), once its columns are there and its window bounds are timestamps."""
    where = f"{online}/{spec.name}/{part.name}"
    missing = [c for c in (*spec.keys, *spec.values, *ONLINE_COLUMNS) if c not in part.table.column_names]
    if missing:
        raise DataError(where, f"online log lacks column(s) {', '.join(missing)}")
    for column in ("window_start", "window_end"):
        kind = part.table.schema.field(column).type
        if not pa.types.is_timestamp(kind):
            raise DataError(where, f"online column {column!r} has type {kind}; expected timestamp[us, tz=UTC]")
    return part.table.to_pandas(types_mapper=NULLABLE.get)


def _no_rows(spec: FeatureSpec) -> pd.DataFrame:
    """An online frame without rows: the feature has output, none of it in the hours read."""
    from parity.diagnose import FILE_COLUMN

    columns = {c: pd.Series([], dtype=object) for c in (*spec.keys, *spec.values)}
    columns |= {"window_start": pd.Series([], dtype="datetime64[us, UTC]"),
                "window_end": pd.Series([], dtype="datetime64[us, UTC]"),
                "pane_timing": pd.Series([], dtype=object), "pane_index": pd.Series([], dtype="Int64"),
                FILE_COLUMN: pd.Series([], dtype=str)}
    return pd.DataFrame(columns)
