"""`fedcredit node validate` and `fedcredit node infer-contract`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from participant_node.cli import app
from participant_node.data import Contract, FeatureSpec, load_contract

runner = CliRunner()


def _contract(tmp_path: Path) -> Path:
    c = Contract(
        label="default_6m",
        positive="1",
        negative="0",
        id_column="company_id",
        features=(
            FeatureSpec.numeric(
                "revenue", min=0.0, max=100.0, center=50.0, scale=10.0, missing="impute", fill=50.0
            ),
            FeatureSpec.categorical("industry", ["retail", "tech"]),
        ),
    )
    return c.save(tmp_path / "contract.toml")


def _data(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "m.csv"
    path.write_text("company_id,revenue,industry,default_6m\n" + body, encoding="utf-8")
    return path


def test_validate_ok_prints_counts(tmp_path: Path) -> None:
    data = _data(tmp_path, "a,1,tech,0\nb,,retail,1\nc,3,tech,1\n")
    result = runner.invoke(
        app,
        ["validate", "--contract", str(_contract(tmp_path)), "--data", str(data)],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert "rows: 3" in result.output and "positives: 2" in result.output
    assert "│ revenue" in result.output and "│       1 │" in result.output  # one missing


def test_validate_errors_table_and_exit_code(tmp_path: Path) -> None:
    data = _data(tmp_path, "a,1,tech,0\nb,500,mining,1\n")
    result = runner.invoke(
        app, ["validate", "-c", str(_contract(tmp_path)), "-d", str(data)], terminal_width=200
    )
    assert result.exit_code == 1
    out = result.output
    assert "2 validation error(s)" in out and str(data) in out
    assert "header not counted" in out
    for cell in (
        "m.csv",
        "out-of-range",
        "unknown-category",
        "500",
        "mining",
        "revenue",
        "industry",
        "│ 2   │ 3    │",
    ):
        assert cell in out, cell


def test_validate_gbk_hint_and_fix(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    data = tmp_path / "gbk.csv"
    data.write_bytes(
        b"company_id,revenue,industry,default_6m\n"
        + "甲公司,1,tech,0\n乙公司,2,retail,1\n".encode("gbk")
    )
    bad = runner.invoke(app, ["validate", "-c", str(contract), "-d", str(data)], terminal_width=200)
    assert bad.exit_code == 1 and "--encoding gbk" in bad.output and "encoding" in bad.output
    good = runner.invoke(
        app,
        ["validate", "-c", str(contract), "-d", str(data), "--encoding", "gbk"],
        terminal_width=200,
    )
    assert good.exit_code == 0, good.output


def test_validate_bad_contract_is_one_line_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = runner.invoke(
        app, ["validate", "-c", str(missing), "-d", str(tmp_path / "x.csv")], terminal_width=200
    )
    assert result.exit_code == 1
    assert "error:" in result.output and "nope.toml does not exist" in result.output
    assert "Traceback" not in result.output


def test_infer_contract_writes_file(tmp_path: Path) -> None:
    data = _data(tmp_path, "a,1,tech,0\nb,,retail,1\nc,3,tech,1\n")
    out = tmp_path / "inferred.toml"
    result = runner.invoke(
        app,
        [
            "infer-contract",
            "--data",
            str(data),
            "--label",
            "default_6m",
            "--positive",
            "1",
            "--id-column",
            "company_id",
            "--out",
            str(out),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    c = load_contract(out)
    assert c.feature_names == ("revenue", "industry") and c.id_column == "company_id"
    assert c.fingerprint()[:16] in result.output
    check = runner.invoke(app, ["validate", "-c", str(out), "-d", str(data)])
    assert check.exit_code == 0, check.output


def test_infer_contract_bad_label_is_one_line_error(tmp_path: Path) -> None:
    data = _data(tmp_path, "a,1,tech,0\nb,2,retail,1\n")
    out = tmp_path / "c.toml"
    result = runner.invoke(
        app,
        [
            "infer-contract",
            "-d",
            str(data),
            "--label",
            "default_6m",
            "--positive",
            "yes",
            "-o",
            str(out),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 1 and "positive value 'yes' does not occur" in result.output
    assert not out.exists()
