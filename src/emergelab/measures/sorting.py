"""How sorted is an array, and how did it get there? Measures for self-sorting arrays.

From T. Zhang, A. Goldstein, M. Levin (2024), "Classical Sorting Algorithms as a Model of
Morphogenesis: self-sorting arrays reveal unexpected competencies in a minimal model of basal
intelligence". They serve any array or trajectory of arrays, not only the sorting_cells world.

The array measures take one array a of shape (n,) and return a scalar, or a trajectory of
shape (T, n) (one array per row, e.g. one row per logged step) and return shape (T,):
    sortedness(a)          fraction of adjacent pairs in order, a[i] <= a[i+1]   (1 = sorted)
    monotonicity_error(a)  number of adjacent inversions, a[i] > a[i+1]          (0 = sorted)
    spearman_distance(a)   sum_i |r(i) - i|, r(i) = where a[i] belongs in the sorted array
    aggregation(types)     fraction of adjacent pairs with the same type (algotype, label);
                           over="cells" divides by n, as the reference's analysis does
Over a run's snapshots after every swap, and across runs (the reference's aggregation analysis):
    progress_indices(k)    the snapshots at 0%, 1%, ... 100% of sorting progress
    progress_curve(values) a per-swap series at those 101 points
    peak_of_mean(curves)   the peak of the mean curve over runs, and where it is
    same_mover_fraction(movers)  fraction of consecutive swaps made by the same cell
Over one monotonicity-error trajectory (one value per swap or per step):
    gratification_events(errors)   the (setback, recovery) pairs
    delayed_gratification(errors)  their mean (recovery - setback) / setback
"""

from __future__ import annotations

import numpy as np

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line


# ------------------------------------------------------------------ input checks

def _rows(name: str, a, numeric: bool = True) -> np.ndarray:
    """a as a 1-D (n,) or 2-D (T, n) array with n >= 2 (one pair at least), finite if numeric."""
    try:
        arr = np.asarray(a)
        if numeric and arr.dtype.kind not in "biuf":   # integers stay integers: exact, and sort faster
            arr = arr.astype(float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be {'numeric' if numeric else 'an array'}; could not read "
                        f"{type(a).__name__} as a (n,) or (T, n) array") from None
    if arr.ndim not in (1, 2):
        raise UserError(f"{name} must be 1-D (one array) or 2-D (T, n) (one array per row), "
                        f"got shape {arr.shape}")
    if arr.shape[-1] < 2:
        raise UserError(f"{name} needs at least 2 elements per array (one adjacent pair), "
                        f"got shape {arr.shape}")
    if numeric and not np.isfinite(arr).all():
        raise UserError(f"{name} contains {int((~np.isfinite(arr)).sum())} NaN/inf value(s); "
                        "drop or fill them first")
    return arr


def _out(x: np.ndarray, one: bool):
    """A Python scalar for a 1-D input, the (T,) array for a 2-D one."""
    return x.item() if one else x


# ------------------------------------------------------------------ array measures

def monotonicity_error(a):
    """Number of adjacent inversions a[i] > a[i+1] (equal neighbours are in order).
    int for a 1-D array, an int64 array (T,) for a (T, n) trajectory."""
    x = _rows("a", a)
    err = (x[..., :-1] > x[..., 1:]).sum(axis=-1).astype(np.int64)
    return _out(err, x.ndim == 1)


def sortedness(a):
    """Fraction of the n - 1 adjacent pairs in order, a[i] <= a[i+1]: 1.0 when sorted
    (non-decreasing), ~0.5 for a random permutation, 0.0 when strictly decreasing."""
    x = _rows("a", a)
    s = (x[..., :-1] <= x[..., 1:]).mean(axis=-1)
    return _out(s, x.ndim == 1)


def sorted_positions(a) -> np.ndarray:
    """r with r[..., i] = the index at which a[..., i] lands in the stably sorted array.
    For a permutation of 0..n-1 that is a itself; equal values keep their left-to-right order."""
    x = _rows("a", a)
    order = np.argsort(x, axis=-1, kind="stable")            # (T, n): order[k] = index of the k-th smallest
    r = np.empty_like(order)
    ranks = np.broadcast_to(np.arange(x.shape[-1]), order.shape)
    np.put_along_axis(r, order, ranks, axis=-1)              # invert the permutation row by row
    return r


def spearman_distance(a):
    """Spearman's footrule to the sorted array: sum_i |r(i) - i|, where r(i) is the position of
    a[i] in the stably sorted array (see sorted_positions). For a permutation of 0..n-1 this is
    sum_i |a[i] - i| (the paper's definition); with duplicate values equal elements keep their
    current left-to-right order, so a block of equal values in place costs nothing.
    0 when sorted; at most ~n^2/2. int, or int64 (T,) for a trajectory."""
    r = sorted_positions(a)
    d = np.abs(r - np.arange(r.shape[-1])).sum(axis=-1).astype(np.int64)
    return _out(d, r.ndim == 1)


def aggregation(types, over: str = "pairs"):
    """Fraction of cells whose right neighbour has the same type. Types are any labels compared
    with == (algotype names or codes). over="pairs" (the lab's) divides by the n - 1 cells that
    have a right neighbour: for two types in equal shares, randomly mixed, the expected value is
    (n/2 - 1)/(n - 1) ~ 0.5 and 1.0 means every type forms one block. over="cells" divides by
    all n cells, the last counting as unlike (the reference's get_aggregation_value_avg): the
    value is (n - 1)/n of the lab's. float, or (T,) for a trajectory of type rows."""
    if over not in ("pairs", "cells"):
        raise UserError(f"over must be 'pairs' (divide by n - 1) or 'cells' (divide by n), got {over!r}")
    t = _rows("types", types, numeric=False)
    same = (t[..., :-1] == t[..., 1:]).sum(axis=-1)
    agg = same / (t.shape[-1] - 1 if over == "pairs" else t.shape[-1])
    return _out(agg, t.ndim == 1)


# ------------------------------------------------------------------ curves over sorting progress

def progress_indices(n_snapshots: int, points: int = 101) -> np.ndarray:
    """Which of a run's n_snapshots snapshots (one after every swap) stand for 0%, 1%, ...
    100% of sorting progress: int((n_snapshots - 1) * p) for p = i / (points - 1), in floating
    point exactly as the reference computes it (so 0.29 * 100 lands on 28, not 29)."""
    if int(n_snapshots) < 1 or int(points) < 2:
        raise UserError(f"need at least 1 snapshot and 2 points, got {n_snapshots} snapshots and "
                        f"{points} points")
    p = np.arange(int(points)) / (int(points) - 1)
    return ((int(n_snapshots) - 1) * p).astype(np.int64)       # truncation, as int() does


def progress_curve(values, points: int = 101) -> np.ndarray:
    """A series with one value per snapshot (e.g. the aggregation after every swap) at
    `points` evenly spaced points of sorting progress (see progress_indices): shape (points,)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise UserError(f"values must be one non-empty 1-D series (one value per snapshot), got shape {x.shape}")
    return x[progress_indices(x.size, points)]


def peak_of_mean(curves) -> tuple[float, int]:
    """(peak, index) of the mean curve over runs: curves (runs, points), each a run's
    progress_curve. The reference's aggregation peak ("max aggregation") is this peak, which
    is at most the mean of the runs' own peaks."""
    c = np.asarray(curves, dtype=float)
    if c.ndim != 2 or c.size == 0:
        raise UserError(f"curves must be 2-D (runs, points) with a run at least, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise UserError(f"curves contains {int((~np.isfinite(c)).sum())} NaN/inf value(s); drop those runs first")
    mean = c.mean(axis=0)
    i = int(np.argmax(mean))
    return float(mean[i]), i


def same_mover_fraction(movers) -> float:
    """Fraction of consecutive swaps made by the same cell: movers[t] is the id of the cell
    that made swap t. Near 0 when every cell moves once per turn in a shuffled order; the
    reference's threads, each holding the lock for a stretch, give ~0.6-0.7. NaN with fewer
    than two swaps."""
    m = np.asarray(movers)
    if m.ndim != 1:
        raise UserError(f"movers must be one 1-D sequence of cell ids, got shape {m.shape}")
    if m.size < 2:
        return float("nan")
    return float(np.mean(m[1:] == m[:-1]))


# ------------------------------------------------------------------ delayed gratification

def gratification_events(errors) -> np.ndarray:
    """The (setback, recovery) pairs of a monotonicity-error trajectory, shape (k, 2).

    Repeated values are dropped first (a plateau does not split a move), then the changes
    are merged into maximal runs of one sign: alternately a rise of the error (a setback,
    S > 0: the array got less sorted) and a fall (a recovery, R > 0). Each setback that is
    followed by a recovery is one event (S, R). A fall before the first setback recovers from
    nothing and a final setback that never recovers is no event.
    Example: 5 5 6 7 4 4 2 3 1 1 2 -> runs +2 -5 +1 -2 +1 -> events (2, 5), (1, 2).
    """
    e = np.asarray(errors, dtype=float)
    if e.ndim != 1:
        raise UserError(f"errors must be one 1-D trajectory, got shape {e.shape}; "
                        "pass one run at a time")
    if not np.isfinite(e).all():
        raise UserError(f"errors contains {int((~np.isfinite(e)).sum())} NaN/inf value(s); drop them first")
    d = np.diff(e)
    d = d[d != 0]                                           # plateaus: no move
    if d.size == 0:
        return np.zeros((0, 2))
    sign = np.sign(d)
    starts = np.flatnonzero(np.r_[True, sign[1:] != sign[:-1]])
    runs = np.add.reduceat(d, starts)                        # alternating +S, -R, +S, ...
    first_up = int(np.argmax(runs > 0)) if (runs > 0).any() else runs.size
    ups = runs[first_up::2]
    downs = -runs[first_up + 1::2]
    k = downs.size                                           # setbacks that have a recovery after them
    return np.stack([ups[:k], downs], axis=1)


def delayed_gratification(errors) -> float:
    """Delayed gratification (DG) of a monotonicity-error trajectory: the mean over its
    events (setback S, recovery R) (see gratification_events) of (R - S) / S.

    DG > 0: after going backwards (error up by S) the array regained more than it gave up;
    DG = 1 means it gained back twice the setback. 0.0 when there is no setback followed
    by a recovery (a monotone descent never goes against the gradient). The paper computes
    it on the error after every swap (as the sorting_cells world does); on coarser samples
    short setbacks hide inside a step. Example: events (2, 5), (1, 2) -> (1.5 + 1.0)/2 = 1.25.
    """
    ev = gratification_events(errors)
    if ev.shape[0] == 0:
        return 0.0
    return float(np.mean((ev[:, 1] - ev[:, 0]) / ev[:, 0]))
