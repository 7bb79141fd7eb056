"""What `parity port` writes never trips `parity lint`: the porter and the trap checks agree on Spark's rules.

Each ported corpus shape and each shipped example query is ported into a fresh project and linted. A trap warning
here is a bug on one side: a port that differs from its SQL, or a trap check that misreads a correct port (the
first run found four: a null-skipping `parity.port.combine.Count` taken for a row count, and a job's
`city is not None` that translates the SQL's `city != 'sf'` taken for an extra filter).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from parity.generate import SCHEMA
from parity.port import port_query
from parity.spec import load_feature
from parity.traps import find_traps

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "port" / "corpus"
PORTED = sorted(p.stem for p in CORPUS.glob("*.sql") if not p.stem.startswith("refused_"))
EXAMPLES = sorted(p.stem for p in (REPO / "offline_queries").glob("*.sql"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ported")
    (root / "offline_queries").mkdir()
    (root / "pyproject.toml").write_text("[tool.parity]\n")
    for sql in [CORPUS / f"{s}.sql" for s in PORTED] + [REPO / "offline_queries" / f"{s}.sql" for s in EXAMPLES]:
        shutil.copy(sql, root / "offline_queries" / sql.name)
        port_query(root / "offline_queries" / sql.name, root, schema_of=lambda _: SCHEMA)
    return root


@pytest.mark.parametrize("feature", PORTED + EXAMPLES)
def test_a_port_by_parity_port_trips_no_trap(project: Path, feature: str) -> None:
    assert [str(w) for w in find_traps(load_feature(feature, project), project)] == []
