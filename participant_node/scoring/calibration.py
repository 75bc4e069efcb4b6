"""Calibration of PDs: Brier score, reliability table, Platt and isotonic recalibration.

* Brier score: ``mean((p - y)^2)`` (Brier 1950, Monthly Weather Review 78(1)).
* Reliability table: rows grouped into ``bins`` equal-width PD bins; per bin the count, mean
  predicted PD and observed default rate (DeGroot & Fienberg 1983, "The comparison and
  evaluation of forecasters"), plus the expected calibration error
  ``ECE = sum_b n_b / n * |observed_b - predicted_b|``.
* Platt scaling (Platt 1999, "Probabilistic outputs for support vector machines"):
  ``PD' = sigmoid(a * logit(PD) + b)`` fitted by Newton's method on Platt's smoothed targets.
  Two parameters: the right choice for a few hundred holdout rows; it keeps the model's
  ranking (a fit with ``a <= 0`` is refused).
* Isotonic regression (Zadrozny & Elkan 2002, KDD): the non-decreasing step function closest
  in squared error, by pool-adjacent-violators, interpolated linearly between blocks. More
  flexible, needs more rows; a block without defaults gets ``1 / (2 n)``, not 0 (no ``n``
  rows support a smaller PD), a block of defaults ``1 - 1 / (2 n)``.

Both are member-local adjustments fitted on the member's own labelled holdout (the federated
model is not changed), stateful with ``state_dict`` / ``load_state_dict``; the state goes into
the model artifact (``fedcredit node calibrate``). :func:`fit_calibration` fits one and reports
Brier/ECE before, after in-sample, and after out-of-fold (stratified k-fold: each row is
calibrated by a map fitted without it, an honest estimate of the gain).

Example
-------
>>> import numpy as np
>>> brier(np.array([0.1, 0.9]), np.array([0, 1]))
0.01
>>> reliability_table(np.array([0.1, 0.2, 0.9]), np.array([0, 1, 1]), bins=2)["rows"][0]
{'bin': '[0.00, 0.50)', 'count': 2, 'predicted': 0.15, 'observed': 0.5}
>>> IsotonicCalibrator().fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1])).y
[0.125, 0.5, 0.5, 0.875]

Complexity: O(n) for the report; O(iters * n) for Platt, O(n log n) for isotonic; ``folds``
times that for the out-of-fold estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def _check(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pa = np.asarray(p, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if pa.shape != ya.shape or pa.ndim != 1:
        raise ValueError(f"PDs {pa.shape} and labels {ya.shape} must be 1-d of equal length")
    if not np.all((pa >= 0) & (pa <= 1)):
        raise ValueError("PDs must lie in [0, 1]")
    if not np.all((ya == 0) | (ya == 1)):
        raise ValueError("labels must be 0 or 1")
    return pa, ya


def brier(p: np.ndarray, y: np.ndarray) -> float:
    """Brier score (lower is better; 0.25 for a constant 0.5 on balanced labels)."""
    pa, ya = _check(p, y)
    return round(float(np.mean((pa - ya) ** 2)), 12)


def reliability_table(p: np.ndarray, y: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Per-bin count, mean PD and default rate; also ``brier``, ``ece`` and ``n``."""
    if not 2 <= bins <= 100:
        raise ValueError(f"bins must be in [2, 100]; got {bins}")
    pa, ya = _check(p, y)
    idx = np.minimum((pa * bins).astype(np.int64), bins - 1)
    count = np.bincount(idx, minlength=bins)
    psum = np.bincount(idx, weights=pa, minlength=bins)
    ysum = np.bincount(idx, weights=ya, minlength=bins)
    rows = []
    ece = 0.0
    for b in range(bins):
        if count[b] == 0:
            continue
        pred, obs = psum[b] / count[b], ysum[b] / count[b]
        ece += count[b] / len(pa) * abs(obs - pred)
        rows.append(
            {
                "bin": f"[{b / bins:.2f}, {(b + 1) / bins:.2f}{']' if b == bins - 1 else ')'}",
                "count": int(count[b]),
                "predicted": round(float(pred), 6),
                "observed": round(float(obs), 6),
            }
        )
    return {"n": len(pa), "brier": brier(pa, ya), "ece": round(float(ece), 6), "rows": rows}


class PlattCalibrator:
    """``PD' = sigmoid(a * logit(PD) + b)``; identity (a=1, b=0) until fitted."""

    method = "platt"

    def __init__(self, a: float = 1.0, b: float = 0.0) -> None:
        self.a = float(a)
        self.b = float(b)

    def fit(self, p: np.ndarray, y: np.ndarray, iters: int = 100) -> PlattCalibrator:
        """Maximise the Bernoulli likelihood by Newton steps on Platt's smoothed targets.

        Targets are ``(N+ + 1) / (N+ + 2)`` for defaults and ``1 / (N- + 2)`` for the others
        (Platt 1999), which keeps the fit finite on separable rows. A slope ``a <= 0`` would
        reverse the model's ranking and is refused (rule: monotone calibration).
        """
        pa, ya = _check(p, y)
        _two_classes(ya)
        pos = ya.sum()
        target = np.where(ya == 1, (pos + 1) / (pos + 2), 1 / (len(ya) - pos + 2))
        x = np.column_stack([_logit(pa), np.ones_like(pa)])
        theta = np.array([1.0, 0.0])
        for _ in range(iters):
            q = _sigmoid(x @ theta)
            grad = x.T @ (q - target)
            hess = (x * (q * (1 - q))[:, None]).T @ x + 1e-9 * np.eye(2)
            step = np.linalg.solve(hess, grad)
            theta -= step
            if np.abs(step).max() < 1e-10:
                break
        if not theta[0] > 0:
            raise ValueError(
                f"Platt slope a = {theta[0]:.4g} <= 0: on these {len(ya)} rows higher model PDs "
                "do not default more often, and calibrating would reverse the model's ranking "
                "(rule: monotone calibration)"
            )
        self.a, self.b = float(theta[0]), float(theta[1])
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        """Calibrated PDs."""
        return _sigmoid(self.a * _logit(np.asarray(p, dtype=np.float64)) + self.b)

    def state_dict(self) -> dict[str, Any]:
        """``{"method": "platt", "a": ..., "b": ...}``."""
        return {"method": self.method, "a": self.a, "b": self.b}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict` (a state without ``method`` is Platt)."""
        a, b = float(state["a"]), float(state["b"])
        if not (np.isfinite(a) and np.isfinite(b)):
            raise ValueError(f"Platt parameters must be finite; got a={a}, b={b}")
        self.a, self.b = a, b


class IsotonicCalibrator:
    """Non-decreasing map ``PD -> PD'`` (pool-adjacent-violators); identity until fitted.

    ``x`` / ``y``: the knots (increasing PDs and their calibrated values); between knots the
    map is linear, outside it is flat.
    """

    method = "isotonic"

    def __init__(self, x: list[float] | None = None, y: list[float] | None = None) -> None:
        self.x: list[float] = [0.0, 1.0] if x is None else [float(v) for v in x]
        self.y: list[float] = [0.0, 1.0] if y is None else [float(v) for v in y]

    def fit(self, p: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        """Fit on PDs ``p`` and labels ``y`` (both classes needed)."""
        pa, ya = _check(p, y)
        _two_classes(ya)
        xs, first = np.unique(pa, return_inverse=True)
        count = np.bincount(first, minlength=len(xs)).astype(np.float64)
        total = np.bincount(first, weights=ya, minlength=len(xs))
        blocks = _pool_adjacent_violators(total, count)  # (start, end, mean) per block
        floor = 0.5 / len(pa)
        knots_x: list[float] = []
        knots_y: list[float] = []
        for start, end, mean in blocks:
            value = float(np.clip(mean, floor, 1.0 - floor))
            for i in (start, end) if end > start else (start,):
                knots_x.append(float(xs[i]))
                knots_y.append(value)
        self.x, self.y = knots_x, knots_y
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        """Calibrated PDs."""
        return np.interp(np.asarray(p, dtype=np.float64), self.x, self.y)

    def state_dict(self) -> dict[str, Any]:
        """``{"method": "isotonic", "x": [...], "y": [...]}``."""
        return {"method": self.method, "x": list(self.x), "y": list(self.y)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict`; the knots must be valid."""
        x = np.asarray(state["x"], dtype=np.float64)
        y = np.asarray(state["y"], dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape or len(x) == 0:
            raise ValueError("isotonic knots x and y must be non-empty lists of equal length")
        if np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0):
            raise ValueError("isotonic knots must be non-decreasing in x and y")
        if not (np.all((x >= 0) & (x <= 1)) and np.all((y >= 0) & (y <= 1))):
            raise ValueError("isotonic knots must lie in [0, 1]")
        self.x, self.y = x.tolist(), y.tolist()


def _pool_adjacent_violators(total: np.ndarray, count: np.ndarray) -> list[tuple[int, int, float]]:
    """Blocks ``(first index, last index, mean)`` of the weighted isotonic fit of
    ``total / count`` (Ayer et al. 1955). O(m) amortised for ``m`` distinct PDs."""
    blocks: list[list[float]] = []  # [start, end, sum, weight]
    for i in range(len(total)):
        blocks.append([i, i, float(total[i]), float(count[i])])
        while len(blocks) > 1 and blocks[-2][2] / blocks[-2][3] >= blocks[-1][2] / blocks[-1][3]:
            last = blocks.pop()
            prev = blocks[-1]
            prev[1], prev[2], prev[3] = last[1], prev[2] + last[2], prev[3] + last[3]
    return [(int(b[0]), int(b[1]), b[2] / b[3]) for b in blocks]


Calibrator = PlattCalibrator | IsotonicCalibrator
METHODS: tuple[str, ...] = ("platt", "isotonic")


def make_calibrator(method: str) -> Calibrator:
    """An unfitted calibrator of ``method`` (``platt`` | ``isotonic``)."""
    if method == "platt":
        return PlattCalibrator()
    if method == "isotonic":
        return IsotonicCalibrator()
    raise ValueError(f"calibration method must be one of {METHODS}; got {method!r}")


def calibrator_from_state(state: Mapping[str, Any]) -> Calibrator:
    """The calibrator a model artifact's ``calibration`` describes (no ``method``: Platt)."""
    cal = make_calibrator(str(state.get("method", "platt")))
    cal.load_state_dict(state)
    return cal


def _two_classes(y: np.ndarray) -> None:
    pos = int(y.sum())
    if pos == 0 or pos == len(y):
        raise ValueError(
            f"calibration needs both defaults and non-defaults; the {len(y)} labelled rows "
            f"have {pos} default(s) (rule: two classes)"
        )


def stratified_folds(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number ``0..folds-1`` of each row, each class spread evenly over the folds."""
    fold = np.empty(len(y), dtype=np.int64)
    rng = np.random.default_rng(seed)
    for cls in (0, 1):
        rows = rng.permutation(np.flatnonzero(y == cls))
        fold[rows] = np.arange(len(rows)) % folds
    return fold


def fit_calibration(
    p: np.ndarray, y: np.ndarray, method: str = "platt", *, bins: int = 10, folds: int = 5,
    seed: int = 0,
) -> tuple[Calibrator, dict[str, Any]]:  # fmt: skip
    """Fit ``method`` on ``(p, y)``; report before, after (in-sample) and out-of-fold.

    Returns the calibrator fitted on all rows and ``{"method", "rows", "defaults",
    "before": reliability_table, "after_in_sample": {"brier", "ece"}, "after": reliability
    table of out-of-fold calibrated PDs or None, "folds"}``. Out-of-fold needs ``folds``
    rows of each class; with fewer, ``folds`` drops to the minority count, and below 2 the
    ``after`` entry is ``None``.
    """
    pa, ya = _check(p, y)
    _two_classes(ya)
    cal = make_calibrator(method).fit(pa, ya)
    in_sample = reliability_table(cal.transform(pa), ya, bins)
    k = min(folds, int(ya.sum()), int(len(ya) - ya.sum()))
    after = None
    if k >= 2:
        fold = stratified_folds(ya, k, seed)
        oof = np.empty_like(pa)
        for f in range(k):
            held = fold == f
            oof[held] = make_calibrator(method).fit(pa[~held], ya[~held]).transform(pa[held])
        after = reliability_table(oof, ya, bins)
    report = {
        "method": method,
        "rows": len(pa),
        "defaults": int(ya.sum()),
        "before": reliability_table(pa, ya, bins),
        "after_in_sample": {"brier": in_sample["brier"], "ece": in_sample["ece"]},
        "after": after,
        "folds": k if k >= 2 else 0,
    }
    return cal, report


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` without overflow: ``exp(-log(1 + exp(-z)))``."""
    return np.asarray(np.exp(-np.logaddexp(0.0, -z)))


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(np.log(q) - np.log1p(-q))
