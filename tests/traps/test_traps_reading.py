"""parity.traps reads a port's job without running it: Python through `ast`, Beam YAML expressions likewise."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.errors import SpecError
from parity.spec import load_feature
from parity.traps import Fact, find_traps, read_job

SQL = (
    "SELECT city,\n  window.start AS window_start, window.end AS window_end,\n  COUNT(eta_seconds) AS n\n"
    "FROM ride_events\nGROUP BY city, window(event_time, '1 minute')\n"
)


def project(root: Path, job: str, transform: str = "transform_ref: realtime_jobs/f.py:Job\n") -> Path:
    (root / "realtime_jobs").mkdir()
    (root / "offline_queries").mkdir()
    (root / "offline_queries" / "f.sql").write_text(SQL)
    (root / "realtime_jobs" / "f.yaml").write_text(
        "feature: f\nsource: ride_events\nkeys: [city]\nwindow: {size: 1m}\nvalues: {n: {}}\n" + transform
    )
    (root / "realtime_jobs" / "f.py").write_text(job)
    return root


def test_a_python_job_is_parsed_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    job = (
        f"open({str(marker)!r}, 'w').write('x')\n"
        "import apache_beam as beam\n"
        "class Job(beam.PTransform):\n"
        "    def expand(self, events):\n"
        "        return events | beam.Map(lambda e: (e.city, 1)) | beam.combiners.Count.PerKey()\n"
    )
    root = project(tmp_path, job)
    warnings = find_traps(load_feature("f", root), root)
    assert not marker.exists()
    assert [(w.trap.value, w.sql.line, str(w.job)) for w in warnings] == [("count_nulls", 3, "realtime_jobs/f.py:5")]


def test_a_job_file_that_is_missing_is_a_spec_error_naming_the_spec_and_the_file(tmp_path: Path) -> None:
    root = project(tmp_path, "")
    (root / "realtime_jobs" / "f.py").unlink()
    with pytest.raises(SpecError, match=r"^realtime_jobs/f.yaml: transform_ref: realtime_jobs/f.py: cannot read the job"):
        read_job(load_feature("f", root), root)


def test_a_yaml_python_expression_that_does_not_parse_is_a_spec_error_naming_the_step(tmp_path: Path) -> None:
    transform = "transform:\n  - type: Filter\n    config: {language: python, keep: 'city =='}\n"
    root = project(tmp_path, "", transform)
    with pytest.raises(SpecError, match=r"^realtime_jobs/f.yaml: transform\[0\].config.keep: not Python: "):
        read_job(load_feature("f", root), root)


def test_yaml_expressions_in_another_language_are_not_read(tmp_path: Path) -> None:
    transform = "transform:\n  - type: Filter\n    config: {language: javascript, keep: 'city.toLowerCase() == \"x\"'}\n"
    root = project(tmp_path, "", transform)
    assert read_job(load_feature("f", root), root).facts == ()


def test_a_set_accumulating_combine_fn_counts_distinct_values_not_rows(tmp_path: Path) -> None:
    job = (
        "import apache_beam as beam\n"
        "class Ids(beam.CombineFn):\n"
        "    def create_accumulator(self):\n"
        "        return set()\n"
        "    def extract_output(self, seen):\n"
        "        return len(seen)\n"
        "def rows(cell, events):\n"
        "    return cell, len(events)\n"
    )
    root = project(tmp_path, job)
    facts = read_job(load_feature("f", root), root).facts
    assert [(f.fact, f.step.line) for f in facts if f.fact in (Fact.DISTINCT, Fact.ROW_COUNT)] == [
        (Fact.DISTINCT, 4), (Fact.ROW_COUNT, 8),
    ]


def test_a_set_literal_tested_for_membership_keeps_nothing_distinct(tmp_path: Path) -> None:
    job = "keep = lambda e: e.event_type in {'ride_requested', 'driver_ping'}\nids = {e.event_id for e in []}\n"
    root = project(tmp_path, job)
    facts = read_job(load_feature("f", root), root).facts
    assert [(f.fact, f.step.line) for f in facts if f.fact is Fact.DISTINCT] == [(Fact.DISTINCT, 2)]


def test_a_trap_about_what_the_job_never_does_names_the_whole_job(tmp_path: Path) -> None:
    root = project(tmp_path, "import apache_beam as beam\n")
    (root / "offline_queries" / "f.sql").write_text(SQL.replace("SELECT city,", "SELECT city, hour(\n  from_utc_timestamp(event_time, 'Asia/Kolkata')) AS h,"))
    warnings = find_traps(load_feature("f", root), root)
    assert [(w.trap.value, w.sql.line, str(w.job)) for w in warnings] == [
        ("local_time", 2, "realtime_jobs/f.py (the whole job)"),
    ]


def test_a_yaml_combine_mean_rounded_later_is_a_floored_mean(tmp_path: Path) -> None:
    transform = (
        "transform:\n"
        "  - type: Combine\n"
        "    config: {language: python, group_by: [city], combine: {raw: {value: eta_seconds, fn: mean}}}\n"
        "  - type: MapToFields\n"
        "    config: {language: python, fields: {city: city, n: 'round(raw)'}}\n"
    )
    root = project(tmp_path, "", transform)
    (root / "offline_queries" / "f.sql").write_text(SQL.replace("COUNT(eta_seconds)", "AVG(eta_seconds)"))
    warnings = find_traps(load_feature("f", root), root)
    assert [(w.trap.value, w.sql.line, str(w.job)) for w in warnings] == [
        ("avg_integer", 3, "realtime_jobs/f.yaml transform[1] MapToFields config.fields.n"),
    ]
