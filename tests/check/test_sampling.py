"""Sampling at 0.3: the same cells in two runs, and on both sides of one run. The cells each side hands to
the comparator are recorded by wrapping `parity.compare.compare` (the real function still does the work)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
from check_project import DROPPED_CELL, Project, cells, geohash6, is_request, iso

import parity.compare
from parity.result import CheckResult, Verdict
from parity.sample import window_micros
from parity.spec import FeatureSpec

RATE = 0.3
Cells = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class SampledRun:
    result: CheckResult
    offline: Cells  # cells of the offline rows given to the comparator
    online: Cells  # cells of the online rows (every pane) given to the comparator


def cell_set(frame: pd.DataFrame) -> Cells:
    starts = pd.to_datetime(window_micros(frame["window_start"]), unit="us", utc=True)
    return frozenset(zip(frame["geohash6"].astype(str), (iso(s) for s in starts), strict=True))


@pytest.fixture(scope="module")
def sampled(clean_project: Project) -> Iterator[dict[str, list[SampledRun]]]:
    """feature -> its sampled runs: ride_requests twice, requests_but_one_cell once."""
    compare = parity.compare.compare
    seen: list[tuple[Cells, Cells]] = []

    def recording(offline: pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec) -> parity.compare.Comparison:
        seen.append((cell_set(offline), cell_set(online)))
        return compare(offline, online, spec)

    runs: dict[str, list[SampledRun]] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parity.compare, "compare", recording)
        for feature, times in (("ride_requests", 2), ("requests_but_one_cell", 1)):
            for _ in range(times):
                result = clean_project.check(feature, sample_rate=RATE)
                offline, online = seen[0]  # the main comparison (attribution may compare again afterwards)
                runs.setdefault(feature, []).append(SampledRun(result, offline, online))
                seen.clear()
    yield runs


def test_two_runs_sample_the_same_cells(sampled: dict[str, list[SampledRun]]) -> None:
    first, second = sampled["ride_requests"]
    assert first.offline == second.offline and first.online == second.online
    assert (first.result.compared, first.result.matched) == (second.result.compared, second.result.matched)


def test_both_sides_sample_the_same_cells(clean_project: Project, sampled: dict[str, list[SampledRun]]) -> None:
    run = sampled["ride_requests"][0]
    every_cell = set(cells(clean_project.rows, is_request, geohash6))
    assert run.online == run.offline
    assert run.offline < every_cell
    assert 0.15 * len(every_cell) < len(run.offline) < 0.45 * len(every_cell)
    assert run.result.compared == len(run.offline) == run.result.matched
    assert run.result.sample_rate == RATE and run.result.verdict is Verdict.PASSED


def test_cells_missing_online_are_found_within_the_sample(
    clean_project: Project, sampled: dict[str, list[SampledRun]]
) -> None:
    run = sampled["requests_but_one_cell"][0]
    dropped_in_sample = {cell for cell in run.offline if cell[0] == DROPPED_CELL}
    assert dropped_in_sample  # the sample holds some windows of the dropped cell
    assert run.online < run.offline  # the sampled online cells are sampled cells, minus the dropped key's
    assert run.offline - run.online == dropped_in_sample
    assert run.result.missing_online == len(dropped_in_sample)
    assert run.result.missing_offline == 0
    assert run.result.compared == len(run.offline)
