"""Validation of members' files: every bad-input case on a tiny hand-made file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from participant_node.data import (
    Contract,
    DataValidationError,
    FeatureSpec,
    Issue,
    ValidationReport,
    read_table,
    validate_file,
)

HEADER = "company_id,revenue,age,industry,default_6m\n"
GOOD_ROWS = "c1,100,3,retail,0\nc2,250.5,,tech,1\nc3,0,7,retail,0\n"


@pytest.fixture
def contract() -> Contract:
    return Contract(
        label="default_6m",
        positive="1",
        negative="0",
        id_column="company_id",
        exclude=("name",),
        features=(
            FeatureSpec.numeric("revenue", min=0.0, max=1000.0, center=200.0, scale=100.0),
            FeatureSpec.numeric(
                "age",
                min=0.0,
                max=100.0,
                center=5.0,
                scale=2.0,
                missing="impute",
                fill=5.0,
                indicator=True,
            ),
            FeatureSpec.categorical("industry", ["retail", "tech"]),
        ),
    )


def _write(tmp_path: Path, body: str, name: str = "m01.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_bytes((header + body).encode("utf-8"))
    return path


def _only(report: ValidationReport, rule: str) -> list[Issue]:
    assert not report.ok
    found = [i for i in report.issues if i.rule == rule]
    assert found, f"no {rule} issue in:\n{report}"
    assert set(report.counts) == {rule}, report.counts
    return found


def test_valid_file_reports_rows_positives_and_missing(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + "c4,1,1,tech,1\n")
    report = validate_file(path, contract)
    assert report.ok, str(report)
    assert (report.rows, report.positives, report.negatives) == (4, 2, 2)
    assert report.missing == {
        "company_id": 0,
        "revenue": 0,
        "age": 1,
        "industry": 0,
        "default_6m": 0,
    }
    assert report.format == "csv" and report.complete


def test_read_table_returns_typed_columns(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + "c4,1,1,tech,1\n")
    df = read_table(path, contract)
    assert list(df.columns) == ["company_id", "revenue", "age", "industry", "default_6m"]
    assert df["revenue"].tolist() == [100.0, 250.5, 0.0, 1.0]
    assert np.isnan(df["age"].iloc[1])
    assert list(df["industry"].cat.categories) == ["retail", "tech"]
    assert df["default_6m"].astype(str).tolist() == ["0", "1", "0", "1"]
    assert df["company_id"].tolist() == ["c1", "c2", "c3", "c4"]


def test_extra_and_excluded_columns_are_ignored(tmp_path: Path, contract: Contract) -> None:
    path = _write(
        tmp_path,
        "c1,1,2,retail,0,Acme,x\nc2,3,4,tech,1,Beta,y\n",
        header="company_id,revenue,age,industry,default_6m,name,notes\n",
    )
    report = validate_file(path, contract)
    assert report.ok, str(report)
    assert report.ignored_columns == ("name", "notes")


def test_missing_required_column(tmp_path: Path, contract: Contract) -> None:
    path = _write(
        tmp_path,
        "c1,100,retail,0\nc2,5,tech,1\n",
        header="company_id,revenue,industry,default_6m\n",
    )
    (issue,) = _only(validate_file(path, contract), "required-column")
    assert (issue.file, issue.column, issue.line, issue.row) == (str(path), "age", 1, None)
    assert "feature column is missing" in issue.message


def test_missing_column_hint_for_spaces_and_semicolons(tmp_path: Path, contract: Contract) -> None:
    spaced = _write(
        tmp_path,
        "c1, 100,3,retail,0\nc2,1,1,tech,1\n",
        header="company_id, revenue,age,industry,default_6m\n",
        name="s.csv",
    )
    (issue,) = _only(validate_file(spaced, contract), "required-column")
    assert "found ' revenue'" in issue.message
    semi = _write(tmp_path, "c1;100;3;retail;0\n", header=HEADER.replace(",", ";"), name="semi.csv")
    report = validate_file(semi, contract)
    assert report.counts == {"required-column": 5}
    assert "not comma-separated" in report.issues[0].message


def test_duplicate_header_column(tmp_path: Path, contract: Contract) -> None:
    path = _write(
        tmp_path,
        "c1,1,2,3,retail,0\nc2,1,2,3,tech,1\n",
        header="company_id,revenue,age,age,industry,default_6m\n",
    )
    (issue,) = _only(validate_file(path, contract), "duplicate-column")
    assert issue.column == "age" and "2 times" in issue.message


def test_unknown_category(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + "c4,10,1,mining,1\n")
    (issue,) = _only(validate_file(path, contract), "unknown-category")
    assert (issue.row, issue.line, issue.column, issue.value) == (4, 5, "industry", "mining")
    assert "retail, tech" in issue.message
    assert str(path) in str(issue)


def test_out_of_range_value(tmp_path: Path, contract: Contract) -> None:
    path = _write(
        tmp_path, "c1,-5,3,retail,0\n" + GOOD_ROWS.replace("c1,", "c9,", 1) + "c4,1000.5,1,tech,1\n"
    )
    issues = _only(validate_file(path, contract), "out-of-range")
    assert [(i.row, i.column, i.value) for i in issues] == [
        (1, "revenue", "-5"),
        (5, "revenue", "1000.5"),
    ]
    assert "[0.0, 1000.0]" in issues[0].message


def test_non_numeric_in_numeric_column(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + 'c4,"1,200",1,tech,1\nc5,12abc,1,tech,0\nc6,inf,1,tech,0\n')
    issues = _only(validate_file(path, contract), "not-numeric")
    assert [(i.row, i.line, i.value) for i in issues] == [
        (4, 5, "1,200"),
        (5, 6, "12abc"),
        (6, 7, "inf"),
    ]
    assert all(i.column == "revenue" for i in issues)


def test_forbidden_missing_value(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + "c4,NA,1,tech,1\nc5,12,2,,0\n")
    issues = _only(validate_file(path, contract), "missing-value")
    assert [(i.row, i.column) for i in issues] == [(4, "revenue"), (5, "industry")]
    assert "'forbid'" in issues[0].message


def test_empty_file(tmp_path: Path, contract: Contract) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    (issue,) = _only(validate_file(path, contract), "empty-file")
    assert issue.file == str(path) and "no header" in issue.message


def test_header_only_file_is_empty(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, "\n\n")
    (issue,) = _only(validate_file(path, contract), "empty-file")
    assert "no data rows" in issue.message and "2 blank rows" in issue.message


def test_duplicate_ids(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + "c2,1,1,tech,1\nc5,1,1,tech,0\nc1,1,1,tech,0\n")
    issues = _only(validate_file(path, contract), "id-duplicate")
    assert [(i.row, i.value) for i in issues] == [(4, "c2"), (6, "c1")]
    assert all(i.column == "company_id" for i in issues)


def test_duplicate_ids_across_chunks(tmp_path: Path, contract: Contract) -> None:
    rows = "".join(f"c{i},1,1,tech,{i % 2}\n" for i in range(200)) + "c7,1,1,tech,0\n"
    path = _write(tmp_path, rows)
    report = validate_file(path, contract, block_bytes=256)
    (issue,) = _only(report, "id-duplicate")
    assert (issue.row, issue.value) == (201, "c7")


def test_missing_id(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + ",1,1,tech,1\n")
    (issue,) = _only(validate_file(path, contract), "id-missing")
    assert issue.row == 4


def test_label_not_binary(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + "c4,1,1,tech,2\nc5,1,1,tech,yes\nc6,1,1,tech,1.0\n")
    issues = _only(validate_file(path, contract), "label-not-binary")
    assert [(i.row, i.value) for i in issues] == [(4, "2"), (5, "yes")]  # 1.0 equals 1
    assert "'1' (positive) or '0' (negative)" in issues[0].message


def test_label_missing(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + "c4,1,1,tech,\n")
    (issue,) = _only(validate_file(path, contract), "label-missing")
    assert (issue.row, issue.column) == (4, "default_6m")


def test_all_one_class(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, "c1,1,1,tech,0\nc2,2,2,retail,0\n")
    (issue,) = _only(validate_file(path, contract), "label-one-class")
    assert issue.row is None and issue.column == "default_6m"
    assert "all 2 labelled rows are '0'" in issue.message


def test_scoring_file_without_label(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, "c1,1,1,tech\n", header="company_id,revenue,age,industry\n")
    assert validate_file(path, contract, require_label=False).ok
    (issue,) = _only(validate_file(path, contract), "required-column")
    assert issue.column == "default_6m" and "label" in issue.message


def test_missing_file(tmp_path: Path, contract: Contract) -> None:
    (issue,) = _only(validate_file(tmp_path / "nope.csv", contract), "file-not-found")
    assert issue.file.endswith("nope.csv")


def test_malformed_rows_keep_exact_row_numbers(tmp_path: Path, contract: Contract) -> None:
    body = "c1,1,1,tech,0\n\nc2,1,1,tech,1,extra\nc3,1,1\nc4,bad,1,tech,1\n"
    path = _write(tmp_path, body)
    report = validate_file(path, contract)
    got = {(i.rule, i.row, i.line) for i in report.issues}
    assert got == {("malformed-row", 3, 4), ("malformed-row", 4, 5), ("not-numeric", 5, 6)}
    assert report.blank_rows == 1
    extra = next(i for i in report.issues if i.row == 3)
    assert "expected 5 fields, found 6" in extra.message and "quoted" in extra.message


@pytest.mark.parametrize("block_bytes", [40, 97, 1 << 20])
def test_row_numbers_do_not_depend_on_chunking(
    tmp_path: Path, contract: Contract, block_bytes: int
) -> None:
    lines = []
    for i in range(60):
        if i % 7 == 3:
            lines.append(f"c{i},x{i},1,tech,0")
        elif i % 11 == 5:
            lines.append(f"c{i},1,1")
        elif i % 13 == 8:
            lines.append("")
        else:
            lines.append(f"c{i},{i},1,tech,{i % 2}")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    report = validate_file(path, contract, block_bytes=block_bytes)
    expected = {i + 1 for i in range(60) if i % 7 == 3 or i % 11 == 5}
    assert {i.row for i in report.issues} == expected
    assert all(i.line == i.row + 1 for i in report.issues if i.row is not None)


def test_errors_are_collected_up_to_the_limit(tmp_path: Path, contract: Contract) -> None:
    rows = "".join(f"c{i},-1,1,tech,{i % 2}\n" for i in range(250))
    path = _write(tmp_path, rows)
    report = validate_file(path, contract, max_errors=100)
    assert report.error_count == 250 and len(report.issues) == 100 and report.hidden == 150
    assert [i.row for i in report.issues] == list(range(1, 101))
    assert "150 more error(s) not shown" in report.summary()


def test_limit_keeps_one_example_of_every_rule(tmp_path: Path, contract: Contract) -> None:
    rows = "".join(f"c{i},-1,1,tech,{i % 2}\n" for i in range(50)) + "c99,1,1,mining,1\n"
    report = validate_file(_write(tmp_path, rows), contract, max_errors=5)
    assert {i.rule for i in report.issues} == {"out-of-range", "unknown-category"}
    assert report.counts == {"out-of-range": 50, "unknown-category": 1}


def test_nothing_is_written_and_error_is_readable(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS + "c4,abc,1,mining,7\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DataValidationError) as caught:
        read_table(path, contract)
    validate_file(path, contract)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    text = str(caught.value)
    assert "3 validation error(s)" in text
    assert f"{path}: row 4 (line 5), column 'revenue': [not-numeric]" in text
    assert "header not counted" in text
    assert caught.value.report.counts == {
        "not-numeric": 1,
        "unknown-category": 1,
        "label-not-binary": 1,
    }


def test_utf8_bom_is_read(tmp_path: Path, contract: Contract) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD_ROWS).encode("utf-8"))
    report = validate_file(path, contract)
    assert report.ok, str(report)
    assert read_table(path, contract)["company_id"].tolist() == ["c1", "c2", "c3"]


@pytest.fixture
def gbk_contract() -> Contract:
    return Contract(
        label="违约",
        positive="是",
        negative="否",
        features=(
            FeatureSpec.categorical("行业", ["制造业", "零售"]),
            FeatureSpec.numeric("营收", center=0.0, scale=1.0),
        ),
    )


def test_gbk_file_reads_with_encoding_option(tmp_path: Path, gbk_contract: Contract) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("行业,营收,违约\n制造业,12.5,是\n零售,3,否\n".encode("gbk"))
    report = validate_file(path, gbk_contract, encoding="gbk")
    assert report.ok, str(report)
    df = read_table(path, gbk_contract, encoding="gbk")
    assert df["行业"].astype(str).tolist() == ["制造业", "零售"]


def test_gbk_file_without_encoding_names_line_and_fix(
    tmp_path: Path, gbk_contract: Contract
) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("行业,营收,违约\n".encode() + "制造业,12.5,是\n".encode("gbk"))
    report = validate_file(path, gbk_contract)
    (issue,) = _only(report, "encoding")
    assert (issue.file, issue.line, issue.row) == (str(path), 2, 1)
    assert "--encoding gbk" in issue.message and "not valid utf-8" in issue.message
    assert not report.complete


def test_gbk_header_without_encoding(tmp_path: Path, gbk_contract: Contract) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("行业,营收,违约\n制造业,12.5,是\n".encode("gbk"))
    (issue,) = _only(validate_file(path, gbk_contract), "encoding")
    assert issue.line == 1 and "--encoding gbk" in issue.message


def test_unknown_encoding_name(tmp_path: Path, contract: Contract) -> None:
    path = _write(tmp_path, GOOD_ROWS)
    (issue,) = _only(validate_file(path, contract, encoding="klingon"), "encoding")
    assert "unknown text encoding 'klingon'" in issue.message


def test_parquet_valid_and_invalid(tmp_path: Path, contract: Contract) -> None:
    df = pd.DataFrame(
        {
            "company_id": ["a", "b", "c"],
            "revenue": [1.0, 2.0, 5000.0],
            "age": [1, None, 3],
            "industry": ["tech", "retail", "tech"],
            "default_6m": [0, 1, 0],
        }
    )
    good = tmp_path / "good.parquet"
    df.iloc[:2].to_parquet(good)
    assert validate_file(good, contract).ok
    bad = tmp_path / "bad.parquet"
    df.to_parquet(bad)
    (issue,) = _only(validate_file(bad, contract), "out-of-range")
    assert (issue.row, issue.line, issue.value) == (3, None, "5000.0")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 definitely not parquet")
    _only(validate_file(junk, contract), "file-unreadable")


def test_max_errors_must_be_positive(tmp_path: Path, contract: Contract) -> None:
    with pytest.raises(ValueError, match="max_errors must be >= 1; got 0"):
        validate_file(_write(tmp_path, GOOD_ROWS), contract, max_errors=0)


def test_spreadsheet_file_is_named_not_misread(tmp_path: Path, contract: Contract) -> None:
    path = tmp_path / "members.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (issue,) = _only(validate_file(path, contract), "file-unreadable")
    assert "zip (e.g. Excel .xlsx)" in issue.message and "export the data as CSV" in issue.message
