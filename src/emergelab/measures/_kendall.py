"""Kendall's tau-b of series against time, vectorised over rows, O(n log n) sorts of n keys.

Private helper of ews.py (kendall_trend, kendall_trend_rows), which checks the input.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=16)
def _plan(n):
    """Per merge level b = 1, 2, 4, ... < n: (base, const) for series of length n.

    base[p] holds, for the element at position p, its block-pair id in the high bits and a
    right-block flag in bit 0; const is what sum(p over right elements) exceeds the count of
    (left <= right) pairs by: for each pair, start * R + R(R-1)/2, R = its right block's size.
    Series lengths repeat (surrogates, indicators), hence the cache. Keys are int32 when they
    fit (n up to ~2^15): numpy sorts them twice as fast as int64."""
    pos = np.arange(n)
    shift = max(int(n - 1).bit_length(), 1) + 1  # ranks < n, shifted past the flag bit
    dtype = np.int32 if (((n - 1) // 2) << shift) + (1 << shift) < 2**31 else np.int64
    plan, b = [], 1
    while b < n:
        grp = pos // (2 * b)
        right = (pos // b) % 2
        starts = np.arange(0, n, 2 * b)
        R = np.clip(n - starts - b, 0, b)  # the last pair's right block may be short or empty
        const = float(np.sum(starts * R + R * (R - 1) / 2))
        plan.append((((grp << shift) | right).astype(dtype), const))
        b *= 2
    return plan, shift, dtype


def kendall_rows(Y):
    """Kendall tau-b of each row of finite Y (m, n) against time (its position): (m,).

    Bottom-up merge sort on all rows at once. Ranks are ordinal, ties broken by time, so every
    key is unique and numpy's fast (unstable) sort orders them exactly; an earlier tied value then
    ranks below a later one, so the pairs counted, (earlier, later) with the earlier one ranked
    lower, are the concordant plus the tied ones, C + T. At block size b each pair of neighbouring
    blocks is merged by one sort of (pair id, rank, right flag); a right element at position p
    of its merged pair has p - (rights before it) left elements below it, so the level adds
    sum(p * right) - const. log2(n) sorts of n keys per row. Time has no ties, so
    tau-b = (C - D) / sqrt(n0 * (n0 - T)), n0 = n(n-1)/2, as scipy's."""
    m, n = Y.shape
    if n < 2:
        return np.full(m, np.nan)
    # the fast unstable sort, row by row (a 2-D argsort along rows ran several times slower
    # here: numpy's SIMD sorts serve contiguous 1-D calls); rows with ties are redone stably
    order = np.stack([np.argsort(row) for row in Y])
    ys = np.take_along_axis(Y, order, axis=1)
    new = np.ones((m, n), bool)
    new[:, 1:] = ys[:, 1:] != ys[:, :-1]
    tied = ~new.all(axis=1)
    if tied.any():  # equal values must keep their time order: a stable sort, only where needed
        order[tied] = np.argsort(Y[tied], axis=1, kind="stable")
    rank = np.empty((m, n), np.int64)
    np.put_along_axis(rank, order, np.arange(n), axis=1)  # ordinal ranks in time order
    # tied pairs T: each value is tied with the equal values sorted before it
    pos = np.arange(n)
    ties = (pos - np.maximum.accumulate(np.where(new, pos, 0), axis=1)).sum(axis=1)
    le = np.zeros(m)
    plan, shift, dtype = _plan(n)
    mask = (1 << (shift - 1)) - 1
    # In place, in two buffers: no fresh (page-faulting) arrays per level for long series.
    v = rank.astype(dtype)
    key, flag = np.empty_like(v), np.empty_like(v)
    for base, const in plan:
        np.left_shift(v, 1, out=key)
        np.bitwise_or(key, base, out=key)
        key.sort(axis=1)  # unique keys: the blocks merged, in rank order
        np.bitwise_and(key, 1, out=flag)
        le += flag @ pos - const
        np.right_shift(key, 1, out=v)
        np.bitwise_and(v, mask, out=v)
    n0 = n * (n - 1) / 2
    conc = le - ties
    disc = n0 - le
    with np.errstate(invalid="ignore", divide="ignore"):
        return (conc - disc) / np.sqrt(n0 * (n0 - ties))  # constant row: 0/0 = nan
