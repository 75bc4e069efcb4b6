"""Every file of the explorer page, the vendored Cytoscape licence included, is package data of
the wheel: its folder is a package setuptools finds and one of pyproject's package-data
patterns matches its name (read with setuptools' own pyproject reader)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from setuptools.config.pyprojecttoml import read_configuration

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "graph_risk" / "api" / "static"


def shipped(config: dict[str, object], path: Path) -> bool:
    tool = config["tool"]["setuptools"]  # type: ignore[index]
    package = ".".join(path.parent.relative_to(ROOT).parts)
    if package not in tool["packages"]:
        return False
    data = tool.get("package-data", {})
    patterns = [*data.get("", []), *data.get("*", []), *data.get(package, [])]
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)


def test_the_vendored_licence_and_every_static_asset_ship() -> None:
    config = read_configuration(ROOT / "pyproject.toml", expand=True)
    files = sorted(p for p in STATIC.rglob("*") if p.is_file())
    licence = STATIC / "vendor" / "LICENSE"
    assert licence in files and "Copyright" in licence.read_text(encoding="utf-8")
    missing = [str(p.relative_to(ROOT)) for p in files if not shipped(config, p)]
    assert missing == []


def test_the_check_fails_for_a_file_no_pattern_covers() -> None:
    config = read_configuration(ROOT / "pyproject.toml", expand=True)
    assert not shipped(config, STATIC / "vendor" / "NOTICE.bin")
