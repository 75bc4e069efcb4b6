"""The consortium model in numpy for scoring: logits and exact additive attributions.

Scoring never touches torch: the flat parameter vector (``participant_node.model.get_flat``
order) is split into numpy matrices once, and a request is a few small matrix products.

Attribution (reason codes) against a reference point ``r`` (the member's portfolio mean in
the design space):

* ``logistic`` -- exactly additive: ``a_j = w_j (x_j - r_j)``, so
  ``sum_j a_j = logit(x) - logit(r)``.
* ``mlp`` -- exact integrated gradients (Sundararajan, Taly & Yan 2017, ICML) along the
  straight path ``r + t (x - r)``, in closed form per first-layer linear segment
  (:mod:`participant_node.scoring.attribution`): completeness holds to rounding,
  ``sum_j a_j = logit(x) - logit(r)``, and all rows are one vectorised tensor computation.
  ``method="walk"`` selects the previous kink-to-kink walk (same numbers, slower).

Example
-------
>>> net = ScoringNet.from_flat("logistic", 2, 0, np.array([1.0, -2.0, 0.5]))
>>> net.logit(np.array([[1.0, 1.0]])).tolist()
[-0.5]
>>> net.attribute(np.array([[1.0, 1.0]]), np.zeros(2)).tolist()
[[1.0, -2.0]]

Complexity: logits O(n d h); exact IG O(n h (d + K h)) for K <= h first-layer kinks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from participant_node.scoring.attribution import ig_segments, ig_walk


@dataclass(frozen=True)
class ScoringNet:
    """Weights of a logistic scorecard (``layers`` of length 1) or a ReLU MLP (length 3)."""

    kind: str
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]

    @classmethod
    def from_flat(cls, kind: str, n_features: int, hidden: int, flat: np.ndarray) -> ScoringNet:
        """Split a flat vector in ``model.parameters()`` order (weight then bias per layer)."""
        vec = np.asarray(flat, dtype=np.float64)
        if kind == "logistic":
            shapes = [(1, n_features)]
        elif kind == "mlp":
            shapes = [(hidden, n_features), (hidden, hidden), (1, hidden)]
        else:
            raise ValueError(f"model kind must be logistic or mlp; got {kind!r}")
        expected = sum(o * i + o for o, i in shapes)
        if vec.shape != (expected,):
            raise ValueError(
                f"parameter vector has {vec.size} values; a {kind} model with "
                f"{n_features} inputs expects {expected}"
            )
        if not np.all(np.isfinite(vec)):
            raise ValueError("parameter vector contains NaN or infinity")
        layers = []
        at = 0
        for out_dim, in_dim in shapes:
            w = vec[at : at + out_dim * in_dim].reshape(out_dim, in_dim)
            at += out_dim * in_dim
            b = vec[at : at + out_dim]
            at += out_dim
            layers.append((np.ascontiguousarray(w), b.copy()))
        return cls(kind=kind, layers=tuple(layers))

    @property
    def n_features(self) -> int:
        """Input width."""
        return int(self.layers[0][0].shape[1])

    def logit(self, x: np.ndarray) -> np.ndarray:
        """Logits of a ``(n, d)`` design matrix."""
        h = np.asarray(x, dtype=np.float64)
        for k, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if k < len(self.layers) - 1:
                np.maximum(h, 0.0, out=h)
        return h[:, 0]

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Probabilities of default: ``sigmoid(logit)``."""
        return 1.0 / (1.0 + np.exp(-self.logit(x)))

    def attribute(
        self, x: np.ndarray, reference: np.ndarray, method: str = "segments"
    ) -> np.ndarray:
        """Per-column attributions ``(n, d)`` summing to ``logit(x) - logit(reference)``.

        ``method`` (MLP only): ``segments`` (closed form, default) or ``walk`` (previous).
        """
        xs = np.asarray(x, dtype=np.float64)
        delta = xs - np.asarray(reference, dtype=np.float64)[None, :]
        if self.kind == "logistic":
            return delta * self.layers[0][0][0][None, :]
        ref = np.broadcast_to(reference, xs.shape).astype(np.float64)
        if method == "segments":
            return ig_segments(self.layers, ref, delta)
        if method == "walk":
            return ig_walk(self.layers, ref, delta)
        raise ValueError(f"attribution method must be segments or walk; got {method!r}")
