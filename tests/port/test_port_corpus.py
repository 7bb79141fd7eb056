"""The golden corpus of `parity port`: tests/port/corpus/<shape>.sql and the expected outcome, <shape>.golden.

A ported shape's golden file is the exact realtime_jobs/<shape>.yaml `parity port` writes; a refused shape's is
its refusal lines. Each .sql begins with a comment saying what it exercises (the corpus agreement test, which runs
every ported shape through real Beam and real Spark, reads the same files). Regenerate after an intended change
with `PARITY_REGEN_GOLDEN=1 pytest tests/port/test_port_corpus.py` and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from parity.errors import PortRefused
from parity.generate import SCHEMA
from parity.port.emit import description_of, emit_spec
from parity.port.plan import plan_query
from parity.spec import load_spec

CORPUS = Path(__file__).resolve().parent / "corpus"
SHAPES = sorted(p.stem for p in CORPUS.glob("*.sql"))
REGEN = os.environ.get("PARITY_REGEN_GOLDEN") == "1"


def outcome(shape: str) -> str:
    """What `parity port offline_queries/<shape>.sql` writes: the spec, or `REFUSED` and the refusal lines."""
    sql = (CORPUS / f"{shape}.sql").read_text()
    shown = f"offline_queries/{shape}.sql"
    try:
        plan = plan_query(sql, shown, "ride_events", lambda _: SCHEMA)
    except PortRefused as exc:
        return "REFUSED\n" + "\n".join(f"{exc.path}: {line}" for line in exc.refusals) + "\n"
    return emit_spec(plan, shape, shown, description_of(sql), "2m")


@pytest.mark.parametrize("shape", SHAPES)
def test_port_outcome_matches_its_golden_file(shape: str) -> None:
    golden = CORPUS / f"{shape}.golden"
    produced = outcome(shape)
    if REGEN:
        golden.write_text(produced)
    assert golden.is_file(), f"{golden.name} is missing; run with PARITY_REGEN_GOLDEN=1 and review it"
    assert produced == golden.read_text()


def test_corpus_has_at_least_25_shapes_17_ported_and_8_refused() -> None:
    refused = [s for s in SHAPES if (CORPUS / f"{s}.golden").read_text().startswith("REFUSED\n")]
    assert len(SHAPES) >= 25
    assert len(SHAPES) - len(refused) >= 17
    assert len(refused) >= 8
    assert all(s.startswith("refused_") for s in refused), "a shape named refused_* must be refused, and only those"
    assert all(s.startswith("refused_") == (s in refused) for s in SHAPES)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_corpus_query_begins_with_a_comment_saying_what_it_exercises(shape: str) -> None:
    first = (CORPUS / f"{shape}.sql").read_text().splitlines()[0]
    assert first.startswith("-- ") and len(first) > 20


def test_every_ported_golden_loads_as_a_spec(tmp_path: Path) -> None:
    (tmp_path / "offline_queries").mkdir()
    (tmp_path / "realtime_jobs").mkdir()
    for shape in SHAPES:
        golden = (CORPUS / f"{shape}.golden").read_text()
        if golden.startswith("REFUSED\n"):
            continue
        shutil.copy(CORPUS / f"{shape}.sql", tmp_path / "offline_queries" / f"{shape}.sql")
        spec_path = tmp_path / "realtime_jobs" / f"{shape}.yaml"
        spec_path.write_text(golden)
        spec = load_spec(spec_path, tmp_path)
        assert spec.transform_yaml is not None and spec.values
