"""The random-walk null of detect_transitions (transitions.py): how tall a change must be to
beat the steps a curve makes by chance elsewhere, over as many samples."""

from __future__ import annotations

import numpy as np

# A change must beat the random-walk null by WALK_SIGMAS sd's plus sqrt(2 ln m), the
# typical largest of m = n / L independent normal draws: we search every stretch of the
# curve for the tallest change, so a long curve offers chance more tries.
WALK_SIGMAS = 3.0
MIN_PAIRS = 8              # ...estimated from at least this many pairs of samples


def _chance_steps(v, gap, m):
    """The step mean(v[j+gap : j+gap+m]) - mean(v[j-m : j]) at every position j: (j, d)."""
    j = np.arange(m, len(v) - gap - m + 1)
    c = np.concatenate(([0.0], np.cumsum(v - v.mean())))  # centred: keeps precision
    return j, (c[j + gap + m] - c[j + gap] - c[j] + c[j - m]) / m


def _step_spread(y, resid, gap, m, lo, hi):
    """Robust sd of the chance steps of y at the positions clear of samples lo..hi, or
    None if fewer than MIN_PAIRS are. A steady drift moves every step by the same amount,
    which we take off: the median step of resid (y minus the fitted change) over all
    positions. Not the median of the clear positions: they overlap, and on a random walk
    they share its local trend, so their spread about their own median would look small."""
    j, d = _chance_steps(y, gap, m)
    d = d[(j + gap + m <= lo) | (j - m >= hi)]
    if d.size < MIN_PAIRS:
        return None
    dev = np.abs(d - np.median(_chance_steps(resid, gap, m)[1]))
    mad = np.median(dev)
    # quantised curves (accuracies) can have a MAD of 0: then the mean deviation
    return 1.4826 * mad if mad > 0 else 1.2533 * dev.mean()


def walk_scale(x, y, model, onset, end):
    """How tall a change from onset to end must be to beat the curve's own fluctuations.

    The null is the step the curve makes by chance: the mean of m samples after a gap of
    L samples (the change's length) minus the mean of the m samples before. Its spread is
    sqrt(2 / m) sigma for white noise, about sqrt(L) sigma for a random walk and bounded
    for AR(1) noise, so one test covers all three. We measure it at the positions clear
    of the change and its tails (a logistic is 1% and 99% done ~0.6 L past onset and end).
    With too few of them, on a short series, we shrink m, then L, scaling the latter up
    as a random walk would grow, which errs towards caution.
    """
    n = len(y)
    i0, i1 = int(np.searchsorted(x, onset)), int(np.searchsorted(x, end, side="right"))
    span = max(1, i1 - i0)
    lo, hi = i0 - int(0.6 * span), i1 + int(0.6 * span)
    resid = y - model
    factor = WALK_SIGMAS + np.sqrt(2 * np.log(max(n / span, 1.0)))  # ~n / L stretches searched
    m = max(span, 4)  # blocks of >= 4 samples: a sharp step isn't judged on single points
    while m >= 1:
        s = _step_spread(y, resid, span, m, lo, hi)
        if s is not None:
            return float(s * factor)
        m //= 2
    # Too few positions clear of the change: we use all of them, on the curve minus the
    # fitted change. (Second best: a fit over a wide window absorbs part of a walk.)
    gap, m = span, max(span, 4)
    while gap >= 1:
        s = _step_spread(resid, resid, gap, m, 0, 0)
        if s is not None:
            return float(s * np.sqrt(span / gap) * factor)
        m, gap = (m // 2, gap) if m > 1 else (m, gap // 2)
    return 0.0  # too short a series to tell: the noise floor alone decides
