"""The layers contract in pyproject.toml names every module of parity, so a new module cannot sit outside it."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path

import parity

ROOT = Path(__file__).resolve().parents[2]


def layered_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [contract["layers"] for contract in config["contracts"] if contract["type"] == "layers"]
    return {name.strip().removeprefix("parity.") for layer in layers for name in re.split(r"[|:]", layer)}


def test_every_module_of_parity_is_in_a_layer() -> None:
    modules = {module.name for module in pkgutil.iter_modules(parity.__path__)}
    assert modules - layered_modules() == set()
