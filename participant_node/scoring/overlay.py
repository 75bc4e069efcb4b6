"""Graph contagion overlay: raise a company's PD by the PDs of the companies it stands behind.

Definitions
-----------
Exposure
    A guarantee the scored company *gave*: company ``i`` is the guarantor of a debt of
    neighbour ``j`` (an edge ``guarantor_id = i -> borrower_id = j`` of the association's
    ``guarantees`` table, ``graph_risk.frames``). When ``j`` defaults the guarantee is called
    and ``i`` pays, so ``j``'s default risk flows *against* the guarantee edge onto ``i``.
    Each exposure carries a share ``e_ij`` in ``(0, 1]``: the fraction of the full hit that
    lands on ``i`` (``1`` = the guarantee covers the debt in full; a natural choice is the
    guaranteed amount over ``i``'s net assets, capped at 1). Without shares every exposure
    counts fully (``e_ij = 1``), which is the formula of issue 6 as written.
PD_neighbour
    The model PD of the neighbour ``j`` (scored with the same federated model), and exactly
    ``1`` for a neighbour that has already defaulted (observed in the ``defaults`` table).

Formula
-------
Treating each called guarantee as an independent way for ``i`` to fail, with overlay weight
``W`` in ``[0, 1]`` (the probability that a neighbour's default actually breaks ``i``)::

    PD_final_i = 1 - (1 - PD_model_i) * prod_{j in exposures(i)} (1 - W * e_ij * PD_j)

so ``PD_final >= PD_model`` always, ``W = 0`` (the off switch) or no exposures leave PD
unchanged, and a fully weighted guarantee of a defaulted neighbour (``W e PD = 1``) gives 1.
Computed in log space (``log1p``) as one sparse row-sum, no Python loop per company.

Example
-------
>>> import numpy as np
>>> contagion_overlay(np.array([0.1, 0.2]), [[1], []], np.array([0.0, 1.0]), 0.5).round(3)
array([0.55, 0.2 ])

(company 0 guarantees company 1, which defaulted: ``1 - 0.9 * (1 - 0.5 * 1) = 0.55``.)

Complexity: O(n + m) time and memory for n scored companies and m exposures.

Reference: the independent-cascade default model of Kempe, Kleinberg & Tardos (2003),
"Maximizing the spread of influence through a social network", KDD; applied to guarantee
networks by e.g. Niu et al. (2018), "Credit risk contagion in guarantee networks", Physica A.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

#: One company's exposures as a list: neighbour column indices, or ``(index, share)`` pairs.
ExposureList = Sequence[Sequence[int] | Sequence[tuple[int, float]]]


def _check_probabilities(name: str, values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array; got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must lie in [0, 1]; got {arr[i]!r} at position {i}")
    return arr


def check_weight(weight: float) -> float:
    """Validate the overlay weight ``W`` (a float in ``[0, 1]``)."""
    w = float(weight)
    if not np.isfinite(w) or not 0.0 <= w <= 1.0:
        raise ValueError(f"overlay weight W must be in [0, 1]; got {weight!r}")
    return w


def _from_lists(exposures: ExposureList, n_rows: int, n_cols: int) -> sp.csr_matrix:
    if len(exposures) != n_rows:
        raise ValueError(f"exposures has {len(exposures)} rows but pd_model has {n_rows}")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    cols: list[int] = []
    data: list[float] = []
    for i, row in enumerate(exposures):
        for item in row:
            if isinstance(item, tuple | list):
                j, share = int(item[0]), float(item[1])
            else:
                j, share = int(item), 1.0
            cols.append(j)
            data.append(share)
        indptr[i + 1] = len(cols)
    return sp.csr_matrix(
        (np.asarray(data, dtype=np.float64), np.asarray(cols, dtype=np.int64), indptr),
        shape=(n_rows, n_cols),
    )


def as_exposure_matrix(
    exposures: sp.spmatrix | sp.sparray | ExposureList, n_rows: int, n_cols: int
) -> sp.csr_matrix:
    """Exposures as a validated ``(n_rows, n_cols)`` CSR matrix of shares in ``(0, 1]``."""
    if sp.issparse(exposures):
        m = sp.csr_matrix(exposures, dtype=np.float64)
        if m.shape != (n_rows, n_cols):
            raise ValueError(
                f"exposures must have shape ({n_rows}, {n_cols}) (scored x neighbours); "
                f"got {m.shape}"
            )
    else:
        m = _from_lists(exposures, n_rows, n_cols)
    m.sum_duplicates()
    if m.nnz:
        if m.indices.min() < 0 or m.indices.max() >= n_cols:
            raise ValueError(f"exposure neighbour index outside 0..{n_cols - 1}")
        bad = ~np.isfinite(m.data) | (m.data <= 0.0) | (m.data > 1.0)
        if bad.any():
            raise ValueError(
                f"exposure shares must be in (0, 1] (duplicates summed); got "
                f"{m.data[np.flatnonzero(bad)[0]]!r}"
            )
    return m


def contagion_overlay(
    pd_model: np.ndarray,
    exposures: sp.spmatrix | sp.sparray | ExposureList,
    pd_neighbour: np.ndarray,
    weight: float,
) -> np.ndarray:
    """``PD_final = 1 - (1 - PD_model) * prod_exposures(1 - W * e * PD_neighbour)``.

    Parameters
    ----------
    pd_model : ndarray, shape (n,)
        Model PDs of the scored companies, in ``[0, 1]``.
    exposures : csr_matrix (n, m) or list of n lists
        ``exposures[i, j] = e_ij`` in ``(0, 1]`` when company ``i`` guarantees neighbour ``j``
        (see the module docstring); a list gives per company the neighbour indices, or
        ``(index, share)`` pairs.
    pd_neighbour : ndarray, shape (m,)
        Neighbour PDs in ``[0, 1]`` (1 for a defaulted neighbour).
    weight : float
        ``W`` in ``[0, 1]``; 0 switches the overlay off.

    Returns
    -------
    ndarray, shape (n,)
        Final PDs, each ``>= pd_model``.
    """
    base = _check_probabilities("pd_model", pd_model)
    nb = _check_probabilities("pd_neighbour", pd_neighbour)
    w = check_weight(weight)
    m = as_exposure_matrix(exposures, len(base), len(nb))
    if w == 0.0 or m.nnz == 0:
        return base.copy()
    hit = np.minimum(w * m.data * nb[m.indices], 1.0)
    with np.errstate(divide="ignore"):
        logs = np.log1p(-hit)
    log_survival = sp.csr_matrix((logs, m.indices, m.indptr), shape=m.shape).sum(axis=1)
    survival = np.exp(np.asarray(log_survival, dtype=np.float64).ravel())
    return np.asarray(1.0 - (1.0 - base) * survival, dtype=np.float64)


def exposure_matrix(
    guarantor: Sequence[str] | np.ndarray,
    borrower: Sequence[str] | np.ndarray,
    rows: Mapping[str, int] | Sequence[str],
    neighbours: Mapping[str, int] | Sequence[str],
    share: Sequence[float] | np.ndarray | None = None,
) -> sp.csr_matrix:
    """Build the exposure matrix from guarantee edges ``guarantor -> borrower``.

    Edges whose guarantor is not among ``rows`` or whose borrower is not among ``neighbours``
    are dropped (they expose nobody being scored). Shares default to 1; parallel guarantees
    to the same neighbour add up and must stay <= 1.

    Example
    -------
    >>> m = exposure_matrix(["A", "B"], ["B", "C"], ["A", "B"], ["A", "B", "C"])
    >>> m.toarray().tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    row_of = rows if isinstance(rows, Mapping) else {c: i for i, c in enumerate(rows)}
    col_of = (
        neighbours if isinstance(neighbours, Mapping) else {c: i for i, c in enumerate(neighbours)}
    )
    g = np.asarray(guarantor, dtype=object)
    b = np.asarray(borrower, dtype=object)
    if len(g) != len(b):
        raise ValueError(f"guarantor ({len(g)}) and borrower ({len(b)}) lengths differ")
    s = np.ones(len(g)) if share is None else np.asarray(share, dtype=np.float64)
    if len(s) != len(g):
        raise ValueError(f"share ({len(s)}) and guarantor ({len(g)}) lengths differ")
    r = np.array([row_of.get(str(x), -1) for x in g], dtype=np.int64)
    c = np.array([col_of.get(str(x), -1) for x in b], dtype=np.int64)
    keep = (r >= 0) & (c >= 0)
    m = sp.csr_matrix(
        (s[keep], (r[keep], c[keep])), shape=(len(row_of), len(col_of)), dtype=np.float64
    )
    return as_exposure_matrix(m, len(row_of), len(col_of))
