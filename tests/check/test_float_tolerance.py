"""Float averages are compared with the feature's tolerance, `|online - offline| <= abs + rel * |offline|`:
Beam's mean passes within it, and a job that is off by a relative 1e-6 passes or fails with the tolerance."""

from __future__ import annotations

import dataclasses

import pytest
from check_project import Project

from parity.result import Cause, CellStatus, Verdict
from parity.spec import Tolerance


def test_avg_eta_passes_within_its_tolerance(clean_project: Project) -> None:
    result = clean_project.result("avg_eta")
    assert clean_project.spec("avg_eta").tolerances == (Tolerance(abs=1e-6, rel=1e-9),)
    assert result.compared > 0 and result.matched == result.compared
    assert result.verdict is Verdict.PASSED


def test_a_relative_bias_above_the_tolerance_fails_every_cell(clean_project: Project) -> None:
    result = clean_project.result("biased_eta")  # its spec: abs 1e-6, rel 1e-9; the bias is 1e-6 * |mean|
    assert result.compared == clean_project.result("avg_eta").compared
    assert result.value_mismatch == result.compared and result.matched == 0
    assert result.causes[Cause.UNEXPLAINED] == result.compared  # a constant bias is no diagnosis's pattern
    assert result.verdict is Verdict.BREACHED
    for cell in result.worst_cells:
        online, offline = cell.online["avg_eta_seconds"], cell.offline["avg_eta_seconds"]
        assert cell.status is CellStatus.VALUE_MISMATCH
        assert online == pytest.approx(offline * (1 + 1e-6), rel=1e-12)


def test_the_same_bias_passes_under_a_tolerance_above_it(clean_project: Project) -> None:
    spec = dataclasses.replace(clean_project.spec("biased_eta"), tolerances=(Tolerance(abs=0.0, rel=1e-5),))
    result = clean_project.check("biased_eta", spec)
    assert result.compared == clean_project.result("biased_eta").compared
    assert result.matched == result.compared
    assert result.verdict is Verdict.PASSED

