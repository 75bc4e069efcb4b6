"""Split one pooled table into alliance members, and each member into train and holdout.

Partition specs (``--partition``):

- ``column:NAME``: the ``K - 1`` largest groups of column ``NAME`` become members (named after
  the value), every other row is merged into one member ``rest`` — e.g. ``column:addr_state``
  with ``K = 6`` gives the five largest states and the rest of the country.
- ``dirichlet:ALPHA``: label-skewed shares; for each class the rows are split across members by
  proportions drawn from ``Dirichlet(ALPHA * 1_K)`` (Hsu et al. 2019, "Measuring the effects of
  non-identical data distribution"). Small ALPHA, strong skew.
- ``iid``: a uniformly random split into K near-equal members.
- ``member``: the rows already carry a member column (a synthetic consortium's member files).

Every member holds out a stratified 20% of its rows (same seed, so the baselines use the same
split).

Example
-------
>>> import pandas as pd, numpy as np
>>> df = pd.DataFrame({"s": ["a"] * 5 + ["b"] * 3 + ["c"] * 2})
>>> assign_members(df, parse_partition("column:s"), 2, np.zeros(10), seed=0).tolist()
['a', 'a', 'a', 'a', 'a', 'rest', 'rest', 'rest', 'rest', 'rest']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

MEMBER_COLUMN = "__member__"


@dataclass(frozen=True)
class PartitionSpec:
    """A parsed ``--partition`` value."""

    kind: str
    column: str = ""
    alpha: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("column", "dirichlet", "iid", "member"):
            raise ValueError(
                f"partition kind must be column|dirichlet|iid|member; got {self.kind!r}"
            )
        if self.kind == "column" and not self.column:
            raise ValueError("partition 'column:NAME' needs a column name")
        if self.kind == "dirichlet" and not self.alpha > 0:
            raise ValueError(f"dirichlet alpha must be > 0; got {self.alpha}")

    def describe(self) -> str:
        """The spec as the user writes it."""
        if self.kind == "column":
            return f"column:{self.column}"
        if self.kind == "dirichlet":
            return f"dirichlet:{self.alpha:g}"
        return self.kind


def parse_partition(text: str) -> PartitionSpec:
    """Parse ``column:NAME``, ``dirichlet:ALPHA``, ``iid`` or ``member``."""
    kind, _, arg = text.partition(":")
    if kind == "column":
        return PartitionSpec("column", column=arg)
    if kind == "dirichlet":
        try:
            alpha = float(arg)
        except ValueError:
            raise ValueError(f"dirichlet alpha must be a number; got {arg!r}") from None
        return PartitionSpec("dirichlet", alpha=alpha)
    if kind in ("iid", "member") and not arg:
        return PartitionSpec(kind)
    raise ValueError(
        f"--partition must be column:NAME, dirichlet:ALPHA, iid or member; got {text!r}"
    )


def _safe_id(value: object) -> str:
    text = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(value)).strip("_")
    return text or "blank"


def assign_members(
    df: pd.DataFrame, spec: PartitionSpec, k: int, y: np.ndarray, *, seed: int
) -> np.ndarray:
    """Return the member id of every row (an object array of strings).

    Raises
    ------
    ValueError
        When ``k < 2``, the column is missing or has fewer than ``k`` groups, or a member would
        end up with no rows.
    """
    if spec.kind != "member" and k < 2:
        raise ValueError(f"a consortium needs at least 2 members; got {k}")
    n = len(df)
    rng = np.random.default_rng(seed)
    if spec.kind == "member":
        if MEMBER_COLUMN not in df.columns:
            raise ValueError(
                "partition 'member' needs data that carries its member (use --consortium)"
            )
        out = df[MEMBER_COLUMN].astype(str).to_numpy(dtype=object)
    elif spec.kind == "column":
        if spec.column not in df.columns:
            raise ValueError(f"partition column {spec.column!r} is not in the data")
        values = df[spec.column].astype("string").fillna("missing")
        ranked = sorted(values.value_counts().items(), key=lambda kv: (-kv[1], str(kv[0])))
        if len(ranked) < k:
            raise ValueError(f"column {spec.column!r} has {len(ranked)} groups; need >= {k}")
        keep = {str(v) for v, _ in ranked[: k - 1]}
        out = np.array(
            [_safe_id(v) if v in keep else "rest" for v in values.astype(str)], dtype=object
        )
    elif spec.kind == "iid":
        order = rng.permutation(n)
        out = np.empty(n, dtype=object)
        for i, chunk in enumerate(np.array_split(order, k)):
            out[chunk] = f"m{i + 1:02d}"
    else:
        out = np.empty(n, dtype=object)
        labels = np.asarray(y)
        for cls in np.unique(labels):
            rows = rng.permutation(np.flatnonzero(labels == cls))
            shares = rng.dirichlet(np.full(k, spec.alpha))
            cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
            for i, chunk in enumerate(np.split(rows, cuts)):
                out[chunk] = f"m{i + 1:02d}"
    ids = np.unique(out.astype(str))
    if spec.kind != "member" and len(ids) < k:
        raise ValueError(
            f"partition {spec.describe()} left only {len(ids)} non-empty members of {k}; "
            "use a larger alpha or fewer members"
        )
    return out


def stratified_holdout(y: np.ndarray, fraction: float, *, seed: int) -> np.ndarray:
    """Boolean mask of holdout rows: ``fraction`` of each class, at least one row per class
    when the class has two or more rows."""
    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction must be in (0, 1); got {fraction}")
    labels = np.asarray(y)
    mask = np.zeros(len(labels), dtype=bool)
    rng = np.random.default_rng(seed)
    for cls in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        take = round(len(rows) * fraction)
        if len(rows) >= 2:
            take = min(max(take, 1), len(rows) - 1)
        mask[rows[:take]] = True
    return mask
