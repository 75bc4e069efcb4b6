"""`fedcredit sim generate` through the real command-line app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulations.cli import app

runner = CliRunner()


def _generate(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sim", "generate", *args])
    return result.exit_code, result.output


def test_generate_writes_a_consortium_and_prints_a_summary(tmp_path: Path) -> None:
    # Prepare
    out = tmp_path / "cons"
    # Execute
    code, output = _generate(
        "--companies", "400", "--members", "3", "--seed", "9", "--out", str(out),
        "--scoring-date", "2025-12-31",
    )  # fmt: skip
    # Assert
    assert code == 0, output
    manifest = json.loads((out / "consortium.json").read_text())
    assert manifest["scoring_date"] == "2025-12-31"
    assert manifest["counts"]["companies"] == 400
    assert sorted(p.name for p in (out / "members").iterdir()) == ["m01.csv", "m02.csv", "m03.csv"]
    for word in ("guarantee circles planted", "observed defaults", "member m03", "writing"):
        assert word in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--members", "1"], "members must be >= 2"),
        (["--companies", "99"], "companies must be >= 100"),
        (["--seed", "-1"], "seed must be >= 0"),
        (["--scoring-date", "2026-13-01"], "--scoring-date must be an ISO date"),
        (["--graph-effect", "-1"], "graph_effect must be in"),
        (["--members", "60", "--companies", "200"], "smallest member"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    # Prepare
    out = tmp_path / "cons"
    # Execute
    code, output = _generate("--companies", "300", "--out", str(out), *args)
    # Assert
    assert code == 1
    assert message in " ".join(output.split())
    assert "Traceback" not in output
    assert not out.exists()


def test_non_empty_output_is_refused_then_replaced_with_overwrite(tmp_path: Path) -> None:
    # Prepare
    out = tmp_path / "cons"
    out.mkdir()
    (out / "old.txt").write_text("old")
    # Execute
    code, output = _generate("--companies", "300", "--out", str(out))
    code2, output2 = _generate("--companies", "300", "--out", str(out), "--overwrite")
    # Assert
    assert code == 1 and "not empty" in output
    assert code2 == 0, output2
    assert not (out / "old.txt").exists()
    assert (out / "companies.csv").exists()


def test_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    code, output = _generate("--companies", "300", "--out", str(target))
    assert code == 1 and "not a directory" in output
    assert target.read_text() == "x"
