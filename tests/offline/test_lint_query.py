"""parity.feature.problems: what is wrong with a feature's offline SQL, one line per problem naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.feature import problems
from parity.settings import load_settings
from parity.spec import feature_names, load_feature

REPO = Path(__file__).resolve().parents[2]
GOOD = (
    "SELECT city, window.start AS window_start, window.end AS window_end, COUNT(*) AS n\n"
    "FROM ride_events GROUP BY city, window(event_time, '1 minute')"
)


def feature(project: Path, sql: str | None, keys: str = "[city]", values: str = "{n: {}}") -> Path:
    (project / "realtime_jobs").mkdir(exist_ok=True)
    (project / "offline_queries").mkdir(exist_ok=True)
    (project / "realtime_jobs" / "f.yaml").write_text(
        f"feature: f\nsource: ride_events\nkeys: {keys}\nwindow: {{size: 1m}}\nvalues: {values}\n"
        "transform_ref: realtime_jobs/f.py:F\n"
    )
    if sql is not None:
        (project / "offline_queries" / "f.sql").write_text(sql)
    return project


@pytest.mark.parametrize("name", feature_names(REPO))
def test_example_queries_lint_clean(name: str) -> None:
    assert problems(load_feature(name, REPO), load_settings(REPO)) == []


def test_a_good_query_lints_clean(tmp_path: Path) -> None:
    assert problems(load_feature("f", feature(tmp_path, GOOD)), load_settings(tmp_path)) == []


def test_missing_value_column_is_named(tmp_path: Path) -> None:
    project = feature(tmp_path, GOOD, values="{n: {}, total: {}}")
    assert problems(load_feature("f", project), load_settings(project)) == [
        "offline_queries/f.sql: output column 'total' (value of f) is missing; add it to the outermost SELECT"
    ]


def test_missing_key_column_is_named(tmp_path: Path) -> None:
    project = feature(tmp_path, GOOD, keys="[city, zone]")
    (problem,) = problems(load_feature("f", project), load_settings(project))
    assert problem.startswith("offline_queries/f.sql: output column 'zone' (key of f) is missing")


def test_missing_window_end_is_named(tmp_path: Path) -> None:
    sql = "SELECT city, window.start AS window_start, COUNT(*) AS n FROM ride_events GROUP BY 1, window(event_time, '1 minute')"
    project = feature(tmp_path, sql)
    (problem,) = problems(load_feature("f", project), load_settings(project))
    assert "'window_end' (window of f)" in problem


def test_query_not_reading_the_source_is_reported(tmp_path: Path) -> None:
    project = feature(tmp_path, GOOD.replace("FROM ride_events", "FROM other_events"))
    assert problems(load_feature("f", project), load_settings(project)) == [
        "offline_queries/f.sql: does not read the source 'ride_events' (reads other_events); read it in FROM"
    ]


def test_a_cte_named_like_the_source_does_not_count_as_reading_it(tmp_path: Path) -> None:
    sql = "WITH ride_events AS (SELECT * FROM other) " + GOOD
    project = feature(tmp_path, sql)
    assert problems(load_feature("f", project), load_settings(project)) == [
        "offline_queries/f.sql: does not read the source 'ride_events' (reads other); read it in FROM"
    ]


def test_missing_file_is_reported(tmp_path: Path) -> None:
    project = feature(tmp_path, None)
    assert problems(load_feature("f", project), load_settings(project)) == [
        "offline_queries/f.sql: file is missing; write the offline query of f there"
    ]


def test_parse_error_is_reported_with_file_and_line(tmp_path: Path) -> None:
    project = feature(tmp_path, "SELECT city,\n  FROM (")
    (problem,) = problems(load_feature("f", project), load_settings(project))
    assert problem.startswith("offline_queries/f.sql: sql: line 2")


def test_star_over_a_cte_is_resolved(tmp_path: Path) -> None:
    project = feature(tmp_path, f"WITH t AS ({GOOD}) SELECT * FROM t")
    assert problems(load_feature("f", project), load_settings(project)) == []
