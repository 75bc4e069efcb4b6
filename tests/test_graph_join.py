"""Members join the published graph-feature table locally."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from participant_node.graph_join import (
    GRAPH_FEATURES,
    check_feature_table,
    join_graph_features,
    read_feature_table,
)


def _table(ids: list[str]) -> pd.DataFrame:
    data = {"company_id": ids}
    data.update({c: np.arange(len(ids), dtype=float) for c in GRAPH_FEATURES})
    return pd.DataFrame(data)


def test_join_keeps_row_order_and_leaves_unknown_companies_missing() -> None:
    rows = pd.DataFrame({"company_id": ["C2", "C9", "C1"], "x": [1, 2, 3]})
    joined = join_graph_features(rows, _table(["C1", "C2"]))
    assert joined["x"].tolist() == [1, 2, 3]
    assert joined["contagion_score"].tolist()[0] == 1.0  # C2 is row 1 of the table
    assert np.isnan(joined["contagion_score"].iloc[1])  # C9 unknown
    assert joined["contagion_score"].iloc[2] == 0.0


def test_duplicate_company_is_rejected_with_row() -> None:
    with pytest.raises(ValueError, match="'C1' appears more than once \\(row 2\\)"):
        check_feature_table(_table(["C1", "C1"]))


def test_missing_and_non_numeric_columns_are_named(tmp_path: Path) -> None:
    bad = _table(["C1", "C2"]).drop(columns=["chain_depth"])
    with pytest.raises(ValueError, match="lacks columns \\['chain_depth'\\]"):
        check_feature_table(bad)
    text = _table(["C1", "C2"]).astype({"contagion_score": object})
    text.loc[1, "contagion_score"] = "high"
    path = tmp_path / "f.csv"
    text.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"f\.csv: row 2, column contagion_score"):
        read_feature_table(path)


def test_join_needs_the_id_column() -> None:
    with pytest.raises(ValueError, match="lacks"):
        join_graph_features(pd.DataFrame({"x": [1]}), _table(["C1"]))
