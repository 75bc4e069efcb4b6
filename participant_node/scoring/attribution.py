"""Exact integrated gradients of a two-hidden-layer ReLU network, vectorised over rows.

Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic attribution for deep
networks", ICML) attribute ``f(x) - f(r)`` to the inputs along the straight path
``p(t) = r + t (x - r)``, ``t in [0, 1]``::

    IG_j = (x_j - r_j) * integral_0^1 df/dx_j (p(t)) dt

For ``f(x) = w3 . relu(W2 relu(W1 x + b1) + b2) + b3`` (the consortium MLP, logit output) the
integral has a closed form, so no sampling error and no path walk:

1. Layer-1 pre-activations ``a1 + t c1`` (``a1 = W1 r + b1``, ``c1 = W1 (x - r)``) are linear
   in ``t``; their sign changes ("kinks") cut ``[0, 1]`` into at most ``h + 1`` segments, on
   each of which the layer-1 pattern ``s1`` is constant.
2. On a segment ``[t0, t1]`` layer 2 is linear in ``t`` too: ``a2(t) = A + t C`` with
   ``A = W2 (s1 * a1) + b2``, ``C = W2 (s1 * c1)``. Each layer-2 unit is active on one
   sub-interval, whose length ``L_u`` is closed-form; with ``z = A + t C`` at the segment
   ends (the network is continuous, so these are plain forward passes at the kinks),
   ``L_u = (t1 - t0) (relu(z_lo) + relu(z_hi)) / (|z_lo| + |z_hi|)``.
3. The gradient on the segment is ``w3^T diag(s2) W2 diag(s1) W1``, so its integral is
   ``((w3 * L) W2 * s1) W1``. Summed over segments this is the exact path integral; completeness
   ``sum_j IG_j = f(x) - f(r)`` then holds to rounding.

All rows and segments are processed as one ``(rows, segments, h)`` tensor (in row chunks that
bound memory); there is no Python loop over kinks. :func:`ig_walk` is the previous method
(walk the path kink to kink, layer 2's kinks included), kept as the reference the closed
form is tested and benchmarked against.

Example
-------
A single active unit ``relu(x1 - x2)`` from ``r = 0`` to ``x = (2, 1)``: the gradient is
``(1, -1)`` all along the path, so ``IG = (2, -1)``.

>>> w1 = np.array([[1.0, -1.0], [0.0, 0.0]]); z = np.zeros(2)
>>> w2 = np.array([[1.0, 0.0], [0.0, 0.0]]); w3 = np.array([1.0, 0.0])
>>> ig_segments(((w1, z), (w2, z), (w3[None, :], z[:1])), np.zeros((1, 2)),
...             np.array([[2.0, 1.0]])).tolist()
[[2.0, -1.0]]

Complexity: O(n h (d + K h)) time for ``n`` rows, ``d`` inputs, ``h`` hidden units and ``K``
the largest number of layer-1 kinks in a row chunk (``K <= h``); O(chunk K h) memory.
"""

from __future__ import annotations

import numpy as np

Layers = tuple[tuple[np.ndarray, np.ndarray], ...]

#: Elements of one ``(rows, segments, h)`` tensor per chunk (1 MB of float64, cache sized).
CHUNK_ELEMENTS = 1 << 17
#: Upper bound on path pieces for :func:`ig_walk`.
MAX_PIECES = 10_000


def ig_segments(layers: Layers, ref: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Exact integrated gradients ``(n, d)`` from ``ref`` rows to ``ref + delta`` rows.

    Parameters
    ----------
    layers
        ``((W1, b1), (W2, b2), (W3, b3))`` with ``W1 (h, d)``, ``W2 (h, h)``, ``W3 (1, h)``.
    ref, delta
        ``(n, d)`` path start points and path directions ``x - ref``.
    """
    (w1, b1), (w2, b2), (w3, _) = layers
    n, h = len(ref), w1.shape[0]
    out = np.empty_like(delta)
    a1_all = ref @ w1.T + b1  # layer-1 pre-activation at t = 0
    c1_all = delta @ w1.T  # and its slope in t
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = -a1_all / c1_all
    inside = (c1_all != 0) & (roots > 0) & (roots < 1)
    kinks = np.sort(np.where(inside, roots, 1.0), axis=1)  # padded with 1 (empty segments)
    counts = inside.sum(axis=1)
    order = np.argsort(counts, kind="stable")  # chunks of rows with similar kink counts
    step = max(1, CHUNK_ELEMENTS // ((h + 2) * max(h, 1)))
    for lo in range(0, n, step):
        rows = order[lo : lo + step]
        k = int(counts[rows[-1]])  # the most kinks in this chunk; the rest are padding
        bounds = np.concatenate(
            [np.zeros((len(rows), 1)), kinks[rows, :k], np.ones((len(rows), 1))], axis=1
        )
        grad = _path_gradient(a1_all[rows], c1_all[rows], bounds, w2, b2, w3[0])
        out[rows] = (grad @ w1) * delta[rows]
    return out


def _path_gradient(
    a1: np.ndarray, c1: np.ndarray, bounds: np.ndarray, w2: np.ndarray, b2: np.ndarray,
    w3: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """``sum_segments ((w3 * L) W2) * s1``: the path-integrated gradient at layer-1 output.

    Layer 2 is linear on a segment, so it is evaluated at the segment ends only (the network
    is continuous there): unit ``u`` is active on the fraction
    ``(relu(z_lo) + relu(z_hi)) / (|z_lo| + |z_hi|)`` of the segment.
    """
    pre1 = a1[:, None, :] + bounds[:, :, None] * c1[:, None, :]  # (n, K+2, h) at the ends
    s1 = (pre1[:, :-1] + pre1[:, 1:]) > 0  # layer-1 pattern at each segment's midpoint
    z = np.maximum(pre1, 0.0) @ w2.T + b2  # layer-2 pre-activation at the ends
    z_lo, z_hi = z[:, :-1], z[:, 1:]
    active = np.maximum(z_lo, 0.0) + np.maximum(z_hi, 0.0)
    span = np.abs(z_lo) + np.abs(z_hi)
    width = np.diff(bounds, axis=1)[:, :, None]
    length = width * active / np.maximum(span, np.finfo(np.float64).tiny)
    return np.einsum("nkh,nkh->nh", (length * w3) @ w2, s1)


def ig_walk(layers: Layers, ref: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """The previous method: walk the path kink to kink (layer 1 and 2), all rows together.

    A ReLU net is linear between kinks, so ``sum_k (t_{k+1} - t_k) grad_k`` is exact, but the
    loop runs once per kink (up to ~45 per row on the consortium MLP). Same result as
    :func:`ig_segments` to rounding; kept as its reference and benchmark baseline.
    Complexity: O(P n h (d + h)) for ``P`` pieces on the longest path.
    """
    (w1, b1), (w2, b2), (w3, _) = layers
    n = len(ref)
    a1 = ref @ w1.T + b1
    c1 = delta @ w1.T
    t = np.zeros(n)
    grad_sum = np.zeros_like(delta)
    active = np.ones(n, dtype=bool)
    for _ in range(MAX_PIECES):
        if not active.any():
            return grad_sum * delta
        rows = np.flatnonzero(active)
        tr = t[rows]
        a1r, c1r = a1[rows], c1[rows]
        t1 = np.minimum(_next_cross(a1r, c1r, tr), 1.0)
        s1 = (a1r + ((tr + t1) / 2)[:, None] * c1r) > 0  # pattern on (t, t1)
        a2 = (s1 * a1r) @ w2.T + b2
        c2 = (s1 * c1r) @ w2.T
        t_next = np.minimum(_next_cross(a2, c2, tr), t1)
        s2 = (a2 + ((tr + t_next) / 2)[:, None] * c2) > 0  # pattern on (t, t_next)
        g = (((w3[0][None, :] * s2) @ w2) * s1) @ w1  # d logit / d x on this piece
        grad_sum[rows] += (t_next - tr)[:, None] * g
        t[rows] = t_next
        active[rows] = t_next < 1.0
    raise RuntimeError(f"integrated gradients did not finish within {MAX_PIECES} pieces")


def _next_cross(a: np.ndarray, c: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per row, the smallest ``t' > t`` where some ``a + t' c`` changes sign (inf if none)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = -a / c
    roots = np.where((c != 0) & (roots > t[:, None] + 1e-12), roots, np.inf)
    return np.asarray(roots.min(axis=1))
