"""Writing a consortium: byte-identical output, manifest, atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from graph_risk.frames import TABLE_COLUMNS
from simulations.consortium import (
    MEMBER_COLUMNS,
    Consortium,
    ConsortiumConfig,
    generate_consortium,
    write_consortium,
)
from simulations.consortium.writer import output_files


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def small() -> Consortium:
    return generate_consortium(ConsortiumConfig(n_companies=600, n_members=3, seed=5))


def test_same_seed_gives_byte_identical_files(tmp_path: Path, small: Consortium) -> None:
    # Prepare: a second, independent generation with the same arguments
    again = generate_consortium(ConsortiumConfig(n_companies=600, n_members=3, seed=5))
    # Execute
    write_consortium(small, tmp_path / "a")
    write_consortium(again, tmp_path / "b")
    # Assert
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(a) == sorted(output_files(small))
    assert a == b


def test_different_seed_gives_different_files(tmp_path: Path, small: Consortium) -> None:
    other = generate_consortium(ConsortiumConfig(n_companies=600, n_members=3, seed=6))
    write_consortium(small, tmp_path / "a")
    write_consortium(other, tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    for name in ("shareholdings.csv", "guarantees.csv", "members/m01.csv"):
        assert a[name] != b[name]


def test_written_tables_match_the_contract_and_manifest(tmp_path: Path, small: Consortium) -> None:
    # Execute
    out = write_consortium(small, tmp_path / "c")
    # Assert
    manifest = json.loads((out / "consortium.json").read_text())
    for name, columns in TABLE_COLUMNS.items():
        frame = pd.read_csv(out / f"{name}.csv", dtype={"company_id": str})
        assert tuple(frame.columns[: len(columns)]) == columns
        assert len(frame) == manifest["counts"][name]
    assert manifest["seed"] == 5
    assert manifest["scoring_date"] == "2026-06-30"
    assert manifest["member_ids"] == ["m01", "m02", "m03"]
    for mid in manifest["member_ids"]:
        frame = pd.read_csv(out / "members" / f"{mid}.csv")
        assert tuple(frame.columns) == MEMBER_COLUMNS
        assert len(frame) == manifest["members"][mid]["rows"]
        assert int(frame["default_6m"].sum()) == manifest["members"][mid]["positives"]
    planted = manifest["planted"]
    assert planted["guarantee_circles"] == small.planted.guarantee_circles
    assert planted["controller_groups"][0]["controller_id"].startswith("P")
    assert set(manifest["label_model"]) >= {"intercept_label", "graph_effect"}


def test_interrupted_write_leaves_nothing_behind(tmp_path: Path, small: Consortium) -> None:
    # Prepare: a progress callback that interrupts after three files
    written: list[str] = []

    def interrupt(path: str) -> None:
        written.append(path)
        if len(written) == 3:
            raise KeyboardInterrupt

    # Execute
    with pytest.raises(KeyboardInterrupt):
        write_consortium(small, tmp_path / "out", on_file=interrupt)
    # Assert
    assert len(written) == 3
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_refused_unless_overwrite(tmp_path: Path, small: Consortium) -> None:
    # Prepare
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    (tmp_path / "file").write_text("x")
    # Execute / Assert
    with pytest.raises(FileExistsError, match="not empty"):
        write_consortium(small, out)
    assert (out / "keep.txt").read_text() == "old"
    with pytest.raises(FileExistsError, match="not a directory"):
        write_consortium(small, tmp_path / "file")
    write_consortium(small, out, overwrite=True)
    assert not (out / "keep.txt").exists()
    assert (out / "consortium.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "out"]


def test_empty_existing_directory_is_filled(tmp_path: Path, small: Consortium) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    write_consortium(small, out)
    assert (out / "members" / "m03.csv").exists()
