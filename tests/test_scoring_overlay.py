"""Contagion overlay: hand-checked values, the off switch, monotonicity, validation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from participant_node.scoring import contagion_overlay, exposure_matrix


def test_hand_checked_two_exposures() -> None:
    # company 0 guarantees neighbours 0 (PD 0.2, share 1) and 1 (PD 0.5, share 0.5)
    pd_model = np.array([0.1, 0.3])
    expo = [[0, (1, 0.5)], []]
    out = contagion_overlay(pd_model, expo, np.array([0.2, 0.5]), weight=0.5)
    expected0 = 1 - 0.9 * (1 - 0.5 * 0.2) * (1 - 0.5 * 0.5 * 0.5)
    assert out[0] == pytest.approx(expected0, abs=1e-12)
    assert out[1] == pytest.approx(0.3)


def test_sparse_and_list_inputs_agree() -> None:
    m = sp.csr_matrix(np.array([[1.0, 0.0, 0.25], [0.0, 0.5, 0.0]]))
    lists = [[0, (2, 0.25)], [(1, 0.5)]]
    nb = np.array([0.3, 0.6, 0.9])
    a = contagion_overlay(np.array([0.05, 0.2]), m, nb, 0.8)
    b = contagion_overlay(np.array([0.05, 0.2]), lists, nb, 0.8)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


def test_weight_zero_is_off_and_defaulted_full_weight_is_one() -> None:
    pd_model = np.array([0.1])
    assert contagion_overlay(pd_model, [[0]], np.array([1.0]), 0.0)[0] == 0.1
    assert contagion_overlay(pd_model, [[0]], np.array([1.0]), 1.0)[0] == 1.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=6),
    st.lists(st.floats(0, 1), min_size=1, max_size=6),
    st.floats(0, 1),
    st.integers(0, 2**32 - 1),
)
def test_final_pd_between_model_pd_and_one(
    pds: list[float], nbs: list[float], w: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n, m = len(pds), len(nbs)
    dense = (rng.random((n, m)) < 0.5) * rng.uniform(0.01, 1.0, (n, m))
    out = contagion_overlay(np.array(pds), sp.csr_matrix(dense), np.array(nbs), w)
    assert np.all(out >= np.array(pds) - 1e-12)
    assert np.all(out <= 1.0)
    # the product formula, written out densely
    surv = np.prod(1 - w * dense * np.array(nbs)[None, :], axis=1)
    np.testing.assert_allclose(out, 1 - (1 - np.array(pds)) * surv, atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": 1.5}, r"overlay weight W must be in \[0, 1\]"),
        ({"pd_neighbour": np.array([1.2])}, r"pd_neighbour must lie in \[0, 1\]"),
        ({"pd_model": np.array([np.nan])}, r"pd_model must lie in \[0, 1\]"),
        ({"exposures": [[(0, 1.5)]]}, r"exposure shares must be in \(0, 1\]"),
        ({"exposures": [[3]]}, r"neighbour index outside 0..0"),
        ({"exposures": [[0], [0]]}, "exposures has 2 rows but pd_model has 1"),
    ],
)
def test_bad_inputs_name_the_rule(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "pd_model": np.array([0.1]),
        "exposures": [[0]],
        "pd_neighbour": np.array([0.5]),
        "weight": 0.5,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        contagion_overlay(**args)  # type: ignore[arg-type]


def test_exposure_matrix_from_guarantee_edges() -> None:
    m = exposure_matrix(
        ["A", "A", "B", "Z"], ["B", "C", "C", "A"], ["A", "B"], ["A", "B", "C"], [0.5, 1.0, 0.2, 1]
    )
    assert m.toarray().tolist() == [[0.0, 0.5, 1.0], [0.0, 0.0, 0.2]]
