"""Reason codes: per-feature contributions to the logit, largest first.

Design-column attributions (:meth:`ScoringNet.attribute`: exact for the logistic scorecard,
exact integrated gradients for the MLP) are summed per contract feature (a categorical
feature's one-hot columns, a numeric feature and its missing indicator), so a reason names a
column of the member's own data. Contributions are in logit units relative to the reference
point; positive raises the PD. Their sum over all features is ``logit(x) - logit(reference)``.

Example
-------
>>> import numpy as np
>>> top_reasons(np.array([0.5, -1.0, 0.0]), ["age", "sector", "x"], [3, "retail", 1], 2)
[{'feature': 'sector', 'value': 'retail', 'contribution': -1.0, 'effect': 'lowers risk'}, \
{'feature': 'age', 'value': 3, 'contribution': 0.5, 'effect': 'raises risk'}]

Complexity: O(n d) to group, O(n F log F) to rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from participant_node.data import Contract


def group_matrix(contract: Contract) -> np.ndarray:
    """``(design width, features)`` 0/1 matrix mapping design columns to contract features."""
    width = sum(len(f.output_names) for f in contract.features)
    m = np.zeros((width, len(contract.features)))
    at = 0
    for j, f in enumerate(contract.features):
        k = len(f.output_names)
        m[at : at + k, j] = 1.0
        at += k
    return m


def top_reasons(
    contributions: np.ndarray, names: Sequence[str], values: Sequence[object], k: int
) -> list[dict[str, Any]]:
    """The ``k`` largest ``|contribution|`` features of one row (zeros left out)."""
    row = np.asarray(contributions, dtype=np.float64)[None, :]
    return top_reasons_batch(row, names, np.asarray(values, dtype=object)[None, :], k)[0]


def top_reasons_batch(
    contributions: np.ndarray, names: Sequence[str], values: np.ndarray, k: int
) -> list[list[dict[str, Any]]]:
    """:func:`top_reasons` of every row of ``(n, F)`` contributions and cell values: one
    vectorised ranking (stable, so ties keep the contract's feature order)."""
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(contributions, order, axis=1).tolist()
    cells = np.take_along_axis(values, order, axis=1).tolist()
    out = []
    for idx, cs, vs in zip(order.tolist(), top, cells, strict=True):
        out.append(
            [
                {
                    "feature": names[j],
                    "value": _plain(v),
                    "contribution": round(c, 6),
                    "effect": "raises risk" if c > 0 else "lowers risk",
                }
                for j, c, v in zip(idx, cs, vs, strict=True)
                if c != 0.0
            ]
        )
    return out


def _plain(v: object) -> object:
    """JSON-ready cell value (numpy scalars unwrapped, NaN as None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v
