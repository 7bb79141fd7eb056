"""Fuzz: every bad input gets exit 2 and one line naming the file and the field or value, never a traceback.

Each case of `fuzz_corpus.corpus()` mutates one file in a copy of the valid project of conftest.py and runs
the real CLI entry (`parity.cli.main`, argv patched, in this process, so Spark starts once):

- spec, SQL and settings mutations: `parity lint`; what lint accepts goes on to `parity check` (Spark);
- event log mutations: `parity check` and `parity stream`; rows sent through `write_events` must be
  quarantined (counted) and the check must still run;
- online log mutations: `parity check`;
- alert rule mutations: `parity alerts test RULE`; what it accepts goes on to `parity check --alert`.

`PARITY_FUZZ=full` (`make fuzz`) runs the whole corpus; otherwise a fixed, seeded sample: many of the cheap
inputs (lint, alerts test), a few of those that reach Spark or Beam.
"""

from __future__ import annotations

import logging
import math
import random
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fuzz_corpus import Area, Case, Expect, corpus
from fuzz_project import END, START, FuzzBase
from killing import FULL

from parity.cli import main
from parity.errors import EXIT_ERROR
from parity.events import REASON_COLUMN, write_events
from parity.settings import load_settings

CASES = corpus()
# The sample of `make test`: cheap inputs by the dozen, those reaching Spark or Beam a few per area.
SAMPLE_SIZES = {
    (Area.SPEC, False): 90, (Area.SQL, False): 45, (Area.SETTINGS, False): 6, (Area.ALERT, False): 80,
    (Area.SPEC, True): 2, (Area.SQL, True): 3, (Area.EVENTS, True): 5, (Area.ONLINE, True): 4,
}
SECRET_ENVS = ("PARITY_SLACK_WEBHOOK_URL", "PARITY_PAGERDUTY_ROUTING_KEY", "PARITY_WEBHOOK_URL")


def sample(cases: list[Case], seed: int = 9) -> list[Case]:
    rng = random.Random(seed)
    chosen: list[Case] = []
    for (area, spark), size in SAMPLE_SIZES.items():
        pool = [case for case in cases if case.area is area and case.spark is spark]
        chosen += rng.sample(pool, min(size, len(pool)))
    return sorted(chosen, key=lambda case: case.id)


SELECTED = CASES if FULL else sample(CASES)


@dataclass(frozen=True, slots=True)
class Run:
    command: str
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        if self.command == "lint":  # lint prints one problem per line, no prefix
            return [line for line in self.err.splitlines() if line.strip()]
        return [line for line in self.err.splitlines() if line.startswith("error:")]


def run_cli(capfd: pytest.CaptureFixture[str], project: Path, *args: str) -> Run:
    """`parity ARGS --project P` in this process; its exit code and everything it printed."""
    level = logging.getLogger().level
    code: object = 0
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "argv", ["parity", *args, "--project", str(project)])
            main()
    except SystemExit as exit_info:
        code = exit_info.code
    finally:
        logging.getLogger().setLevel(level)  # the CLI quiets the root logger; give it back
    out, err = capfd.readouterr()
    assert isinstance(code, int), f"{args}: exit code {code!r}"
    return Run(args[0] if args[0] != "alerts" else "alerts test", code, out, err)


def judge(case: Case, run: Run, *, reject: bool) -> None:
    """The rules every run of a fuzz input keeps; `reject`: this run must exit 2."""
    shown = f"{case.id}: parity {run.command} exited {run.code}\nstdout: {run.out[-1500:]}\nstderr: {run.err[-3000:]}"
    assert "Traceback" not in run.out + run.err, shown
    assert "rerun with --debug for the traceback" not in run.err, f"an unexpected exception\n{shown}"
    if case.secret is not None:
        assert case.secret not in run.out + run.err, shown
    if reject:
        assert run.code == EXIT_ERROR, shown
    assert run.code in (0, 1, EXIT_ERROR), shown
    if run.code != EXIT_ERROR:
        return
    lines = run.error_lines
    if not lines and run.command == "check" and "INCONCLUSIVE" in run.out and case.area in (Area.EVENTS, Area.ONLINE):
        return  # inputs that failed their data expectations: a result, the failed expectations are in its report
    if run.command == "lint":
        assert lines, shown
        for line in lines:
            assert any(_names(line, name) for name in case.files), f"names no file of {case.files}\n{shown}"
    else:
        assert len(lines) == 1, f"not exactly one error line\n{shown}"
        assert any(_names(lines[0], name) for name in case.files), f"names no file of {case.files}\n{shown}"
    if case.expect is Expect.REJECT:  # what an accidentally valid input trips over cannot be known up front
        assert any(mention.lower() in line.lower() for line in lines for mention in case.mentions), \
            f"names none of {case.mentions}\n{shown}"


def _names(line: str, name: str) -> bool:
    """Whether an error line names a file: its relative path, its absolute path, or (for a glob) its folder."""
    if "*" in name:
        folder = name.split("*")[0].rstrip("/=").rsplit("/", 1)[0]
        return folder in line
    return name in line


def apply(case: Case, base: FuzzBase, project: Path) -> None:
    """Copy the base project to `project` and mutate the one thing the case mutates."""
    shutil.copytree(base.root, project)
    for relative, body in case.writes:
        target = project / relative
        if body is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    if case.edit is not None:
        (target,) = project.glob(case.files[0])
        pq.write_table(case.edit(pq.read_table(target)), target)
    if case.truncate:
        (target,) = project.glob(case.files[0])
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])


def check(capfd: pytest.CaptureFixture[str], project: Path, feature: str, *extra: str) -> Run:
    return run_cli(capfd, project, "check", feature, "--start", START, "--end", END, *extra)


@pytest.mark.parametrize("case", SELECTED, ids=[case.id for case in SELECTED])
def test_fuzz_input(case: Case, fuzz_base: FuzzBase, tmp_path: Path, capfd: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_ENVS:
        monkeypatch.delenv(name, raising=False)
    reject = case.expect is Expect.REJECT
    if case.area in (Area.SPEC, Area.SQL, Area.SETTINGS, Area.ONLINE, Area.EVENTS):
        fuzz_base.online_for(case.feature)
    project = tmp_path / "project"
    apply(case, fuzz_base, project)
    capfd.readouterr()

    if case.area in (Area.SPEC, Area.SQL, Area.SETTINGS):
        linted = run_cli(capfd, project, "lint")
        judge(case, linted, reject=False)
        if linted.code == 0:
            judge(case, check(capfd, project, case.feature), reject=reject)
        return
    if case.area is Area.ALERT:
        assert case.rule is not None
        tested = run_cli(capfd, project, "alerts", "test", case.rule)
        judge(case, tested, reject=False)
        # An accepted rule goes on to `check --alert`, also when a channel did not take the test (its secret is
        # unset here): `alerts test` then exits 2 with one line saying so.
        if tested.code == 0 or "did not take the test notification" in tested.err:
            judge(case, check(capfd, project, case.feature, "--alert"), reject=reject)
        return
    if case.area is Area.ONLINE:
        judge(case, check(capfd, project, case.feature), reject=reject)
        return
    if case.expect is Expect.QUARANTINE:
        assert case.ingest is not None
        settings = load_settings(project)
        (source,) = project.glob(case.files[0])
        table = pq.read_table(source)
        source.unlink()
        written = write_events(case.ingest(table), settings.event_log, "ride_events", settings.quarantine)
        expected = math.ceil(table.num_rows / 7)
        assert (written.rows_written, written.rows_quarantined) == (table.num_rows - expected, expected)
        assert written.quarantine_file is not None
        reasons = pq.read_table(written.quarantine_file)[REASON_COLUMN].to_pylist()
        assert all(case.mentions[0] in reason for reason in reasons), Counter(reasons)
        judge(case, check(capfd, project, case.feature), reject=False)
        return
    judge(case, check(capfd, project, case.feature), reject=reject)
    judge(case, run_cli(capfd, project, "stream", case.feature, "--start", START, "--end", END), reject=reject)


def test_corpus_is_large_and_sampled() -> None:
    """The issue asks for at least 1,000 bad inputs; the sample of `make test` is a fixed subset of them."""
    assert len(CASES) >= 1000
    assert len(sample(CASES)) < len(CASES) and sample(CASES) == sample(CASES)
    assert {case.area for case in sample(CASES)} == set(Area)
