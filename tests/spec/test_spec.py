"""Feature specs: strict validation with errors that name the file, the field and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from parity.errors import SpecError, UnknownFeatureError
from parity.spec import load_feature, load_features
from parity.units import US, parse_duration

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
feature: clicks
source: events
keys: [cell]
window: {size: 5m, slide: 1m}
values:
  n: {tolerance: {abs: 0, rel: 0}}
  avg: {tolerance: {abs: 0.001, rel: 1.0e-9}}
allowed_lateness: 90s
transform_ref: realtime_jobs/clicks.py:Clicks
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "realtime_jobs").mkdir()
    (tmp_path / "offline_queries").mkdir()
    return tmp_path


def write(project: Path, text: str, name: str = "clicks") -> Path:
    path = project / "realtime_jobs" / f"{name}.yaml"
    path.write_text(text)
    return path


def test_example_specs_all_load() -> None:
    names = [spec.name for spec in load_features(REPO)]
    assert names == ["available_drivers", "avg_eta", "demand_supply", "ride_requests"]


def test_good_spec_becomes_frozen_values(project: Path) -> None:
    write(project, GOOD)
    spec = load_feature("clicks", project)
    assert spec.keys == ("cell",)
    assert (spec.window.size_us, spec.window.slide_us, spec.window.sliding) == (300 * US, 60 * US, True)
    assert spec.values == ("n", "avg")
    assert spec.tolerance["avg"].abs == 0.001 and spec.tolerance["avg"].rel == 1e-9
    assert spec.allowed_lateness_us == 90 * US
    assert spec.threshold == 0.999
    assert spec.offline_query == project / "offline_queries" / "clicks.sql"
    assert spec.cell_columns == ("cell", "window_start")


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (GOOD + "colour: red\n", "colour", "unknown key"),
        (GOOD.replace("  avg: {tolerance: {abs: 0.001, rel: 1.0e-9}}", "  avg: {tolerance: {abs: 0.001, rell: 1}}"),
         "values.avg.tolerance.rell", "unknown key"),
        (GOOD.replace("rel: 1.0e-9", "rel: -1"), "values.avg.tolerance.rel", "greater than or equal to 0"),
        (GOOD.replace("{size: 5m, slide: 1m}", "{size: 1m, slide: 5m}"), "window", "slide must not exceed size"),
        (GOOD.replace("{size: 5m, slide: 1m}", "{size: 5 minutes}"), "window", "bad duration"),
        (GOOD.replace("{size: 5m, slide: 1m}", "{size: 5m, slide: 2m}"), "window", "whole multiple"),
        (GOOD.replace("keys: [cell]\n", ""), "keys", "required key is missing"),
        (GOOD + "transform: [{type: Filter}]\n", "spec", "exactly one of `transform`"),
        (GOOD.replace("Clicks\n", "Clicks\n").replace(":Clicks", ""), "transform_ref", "module.py:ClassName"),
        (GOOD.replace("keys: [cell]", "keys: [window_start]"), "spec", "added by parity"),
        (GOOD.replace("allowed_lateness: 90s", "allowed_lateness: soon"), "allowed_lateness", "bad duration"),
    ],
)
def test_bad_spec_names_file_and_field(project: Path, edit: str, field: str, words: str) -> None:
    write(project, edit)
    with pytest.raises(SpecError) as caught:
        load_feature("clicks", project)
    assert caught.value.path == "realtime_jobs/clicks.yaml"
    assert caught.value.field == field
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"realtime_jobs/clicks.yaml: {field}: ")


def test_malformed_yaml_is_a_spec_error_with_a_line(project: Path) -> None:
    write(project, "feature: clicks\nkeys: [cell\n")
    with pytest.raises(SpecError, match=r"realtime_jobs/clicks.yaml: line \d+: malformed YAML"):
        load_feature("clicks", project)


def test_feature_name_must_match_file_name(project: Path) -> None:
    write(project, GOOD, name="other")
    with pytest.raises(SpecError, match="the file is named other.yaml"):
        load_feature("other", project)


def test_unknown_feature_lists_known_ones(project: Path) -> None:
    write(project, GOOD)
    with pytest.raises(UnknownFeatureError, match="unknown feature 'nope'; known features: clicks"):
        load_feature("nope", project)


def test_yaml_transform_list_becomes_a_chain(tmp_path: Path) -> None:
    shutil.copytree(REPO / "realtime_jobs", tmp_path / "realtime_jobs")
    spec = load_feature("ride_requests", tmp_path)
    assert spec.transform_yaml is not None and spec.transform_yaml.startswith("type: chain")
    assert spec.transform_ref is None


@pytest.mark.parametrize(("text", "us"), [("30s", 30 * US), ("1m", 60 * US), ("2h", 7200 * US), (45, 45 * US), ("0s", 0)])
def test_parse_duration(text: str | int, us: int) -> None:
    assert parse_duration(text) == us


@pytest.mark.parametrize("text", ["1 minute", "-1m", "1.5m", "", "m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)


# --- a spec may only name files inside its project (specs are trusted code, but confined to the project) ------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("transform_ref: /tmp/elsewhere/job.py:Clicks", "transform_ref"),
        ("transform_ref: ../outside/job.py:Clicks", "transform_ref"),
        ("transform_ref: realtime_jobs/../../job.py:Clicks", "transform_ref"),
        ("offline_query: /etc/clicks.sql", "offline_query"),
        ("offline_query: ../clicks.sql", "offline_query"),
    ],
)
def test_a_path_outside_the_project_is_a_spec_error(project: Path, line: str, field: str) -> None:
    text = GOOD.replace("transform_ref: realtime_jobs/clicks.py:Clicks", line) if field == "transform_ref" else GOOD + line
    write(project, text + "\n")
    with pytest.raises(SpecError) as caught:
        load_feature("clicks", project)
    assert caught.value.field == field
    assert "outside the project" in str(caught.value) and "\n" not in str(caught.value)


def test_a_symlink_resolving_outside_the_project_counts_as_outside(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "clicks.py"
    elsewhere.write_text("raise SystemExit(1)\n")
    (project / "realtime_jobs" / "clicks.py").symlink_to(elsewhere)
    write(project, GOOD)
    with pytest.raises(SpecError, match=r"^realtime_jobs/clicks.yaml: transform_ref: .*outside the project"):
        load_feature("clicks", project)


def test_a_symlink_inside_the_project_is_allowed(project: Path) -> None:
    (project / "jobs").mkdir()
    (project / "jobs" / "clicks.py").write_text("")
    (project / "realtime_jobs" / "clicks.py").symlink_to(project / "jobs" / "clicks.py")
    write(project, GOOD.replace("\n", "\noffline_query: offline_queries/../offline_queries/clicks.sql\n", 1))
    spec = load_feature("clicks", project)
    assert spec.transform_ref == "realtime_jobs/clicks.py:Clicks"
    assert spec.offline_query == project / "offline_queries" / "clicks.sql"


def test_served_terms_default_to_one_slide_of_delay_and_freshness_one_slide_later(project: Path) -> None:
    write(project, GOOD)
    served = load_feature("clicks", project).served_rules
    assert (served.delay_us, served.freshness_us, served.empty) == (60 * US, 120 * US, 0)


def test_served_terms_are_read_from_the_spec(project: Path) -> None:
    write(project, GOOD + "served: {delay: 30s, freshness: 3m, empty: latest}\n")
    served = load_feature("clicks", project).served_rules
    assert (served.delay_us, served.freshness_us, served.empty) == (30 * US, 180 * US, "latest")


def test_a_served_empty_word_other_than_latest_names_the_field(project: Path) -> None:
    write(project, GOOD + "served: {empty: newest}\n")
    with pytest.raises(SpecError) as raised:
        load_feature("clicks", project)
    assert "served.empty" in str(raised.value) and "latest" in str(raised.value)
