"""Regions of the drill-down come from `[tool.parity] regions` or `regions.yaml`, validated once."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.errors import ConfigError
from parity.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


def test_regions_from_the_pyproject_table_keep_their_order(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nregions = { sf = ["9q8", "9q9"], nyc = ["dr5"] }\n')
    assert load_settings(tmp_path).regions == (("sf", ("9q8", "9q9")), ("nyc", ("dr5",)))


def test_regions_from_regions_yaml(tmp_path: Path) -> None:
    (tmp_path / "regions.yaml").write_text("london: [gcp, u10]\n")
    assert load_settings(tmp_path).regions == (("london", ("gcp", "u10")),)


def test_a_prefix_that_is_not_a_geohash_is_a_one_line_error_naming_file_region_and_value(tmp_path: Path) -> None:
    (tmp_path / "regions.yaml").write_text("london: [gcpa]\n")  # 'a' is not in the geohash alphabet
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert "regions.yaml" in str(caught.value) and "london" in str(caught.value) and "'gcpa'" in str(caught.value)


def test_regions_in_both_places_are_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nregions = { sf = ["9q8"] }\n')
    (tmp_path / "regions.yaml").write_text("sf: [9q8]\n")
    with pytest.raises(ConfigError, match="keep one"):
        load_settings(tmp_path)


def test_the_example_project_ships_a_region_for_every_generator_city() -> None:
    from parity.generate import CITIES
    from parity.geo import geohash
    from parity.report.drilldown import region_of

    regions = load_settings(REPO).regions
    assert len(regions) == len(CITIES)
    assert len({region_of(geohash(city.lat, city.lon, 6), regions) for city in CITIES}) == len(CITIES)
    assert "other" not in {region_of(geohash(city.lat, city.lon, 6), regions) for city in CITIES}
