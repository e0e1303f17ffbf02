"""Accuracy-compute frontiers (pure numpy, no torch): the measure behind the `familial_models`
world, usable on any (compute, accuracy) operating points, e.g. a model family's own evaluations.

A method (one model with a confidence threshold, a cascade, ...) has operating points
(c_i, a_i): mean compute per query and accuracy. Its frontier is what it can reach within a
budget c: acc_at(c) = max{a_i : c_i <= c}, and `floor` (e.g. chance: a constant guess costs
nothing) when no point fits. It is a step function: only the measured points are claimed, no
mixing of operating points (randomising between two points would reach the line between them).
"""

from __future__ import annotations

import numpy as np


def _points(c, a) -> tuple[np.ndarray, np.ndarray]:
    c, a = np.asarray(c, float).ravel(), np.asarray(a, float).ravel()
    if c.shape != a.shape or c.size == 0:
        raise ValueError(f"need as many compute values as accuracies (at least one), got {c.size}, {a.size}")
    if not (np.isfinite(c).all() and np.isfinite(a).all()) or (c <= 0).any():
        raise ValueError("compute must be finite and > 0 and accuracies finite")
    return c, a


def frontier(c, a) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto points of (c, a): sorted by compute, each strictly more accurate than every
    cheaper one (dominated points dropped). Returns (compute (F,), accuracy (F,))."""
    c, a = _points(c, a)
    order = np.lexsort((-a, c))  # by compute, the most accurate first among equal compute
    c, a = c[order], a[order]
    best = np.maximum.accumulate(a)
    keep = np.r_[True, a[1:] > best[:-1]]  # a new record
    return c[keep], a[keep]


def acc_at(c, a, budget, floor: float = 0.0) -> np.ndarray:
    """The frontier's accuracy within each budget (any shape): max{a_i : c_i <= budget} or floor."""
    fc, fa = frontier(c, a)
    b = np.asarray(budget, float)
    i = np.searchsorted(fc, b, side="right") - 1  # the last frontier point within the budget
    return np.where(i >= 0, fa[np.clip(i, 0, None)], floor)


def area(c, a, lo: float, hi: float, floor: float = 0.0) -> float:
    """Mean of the frontier's accuracy over log10 compute in [lo, hi] (exact, the frontier is a
    step function): 1 = perfect at every budget, `floor` = nothing reachable in the range."""
    if not 0 < lo < hi:
        raise ValueError(f"need 0 < lo < hi, got {lo}, {hi}")
    fc, fa = frontier(c, a)
    edges = np.r_[lo, np.clip(fc, lo, hi), hi]  # the accuracy changes only at frontier points
    levels = np.r_[floor, fa]  # level on [edges[j], edges[j + 1])
    widths = np.diff(np.log10(edges))
    return float((widths * levels).sum() / np.log10(hi / lo))


def dominance(c_a, a_a, c_b, a_b) -> float:
    """Share of B's points that A's frontier reaches: A at least as accurate within B's compute.
    1.0: A weakly dominates B."""
    c_b, a_b = _points(c_b, a_b)
    return float((acc_at(c_a, a_a, c_b, floor=-np.inf) >= a_b).mean())
