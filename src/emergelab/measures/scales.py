"""Measures of musical scales on an n-tone circle: enumeration, step entropy, defects.

A scale is a set of pitch classes 0..n-1 containing the root 0, held as a boolean row of
length n (True = the pitch class is in the scale); a collection of S scales is an (S, n)
boolean matrix. Every function takes either form and returns a scalar for one scale, an
(S,) array for many. Its k notes cut the circle into k circular steps g_1..g_k (semitones
from each note to the next, sum n), read upwards from the root.

Definitions (C4 of SCIENCE.md; they follow the authors' released code for "Selective
Imperfection as a Generative Framework", github.com/lamm-mit/MusicAnalysis, where it has one):
- step entropy   H = -sum_d p_d log2 p_d over the step-size distribution p_d = #{g_i = d}/k.
    "log2k":      H / log2 min(k, n) (SCIENCE's normalised step entropy; 0 when k = 1).
                  Major: steps {2: 5, 1: 2}, H = 0.863 bits, / log2 7 = 0.307.
    "bits":       H itself, unnormalised.
    "attainable": H / the largest H any k steps of size 1..max_gap summing to n can have,
                  so every scale size k has its own 0..1 range (0 when that max is 0).
    "interval":   not steps but all pairs: the entropy of the interval-class vector
                  (pairs of notes a distance 1..n//2 apart), / log2(n//2).
- evenness defect      std of the steps about the even step n/k, divided by the largest
                       such std that k steps of size 1..max_gap summing to n can have
                       (normalise="max", the authors' composite), or by n/k ("mean", the
                       coefficient of variation). 0 = an equal division of the circle.
- arrangement defect   1 - max_t cos(g, rotate(reversed(g), t)): how far the step sequence
                       is from reading the same backwards under some rotation (a mirror-
                       symmetric scale). 0 for major, pentatonic, whole-tone, octatonic.
- interval-variety defect  (m - 1) / (min(k, n//2) - 1), m = number of distinct step sizes.
- composite defect     w1 evenness + w2 arrangement + w3 variety, weights (0.5, 0.3, 0.2).
- missing fifths       notes p whose fifth p + round(n log2 1.5) (7 for n = 12) is absent.
Percentiles are mid-ranks: (#below + #tied / 2) / S, so ties share the middle of their block.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from emergelab.errors import UserError

ENTROPY_DEFINITIONS = ("log2k", "bits", "attainable", "interval")
COMPOSITE_WEIGHTS = (0.5, 0.3, 0.2)  # evenness, arrangement, variety (the authors' defaults)

# Culturally used scales as pitch classes above the root (12-tone equal temperament).
NAMED_SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural_minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic_minor": (0, 2, 3, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "whole_tone": (0, 2, 4, 6, 8, 10),
    "octatonic_hw": (0, 1, 3, 4, 6, 7, 9, 10),
    "octatonic_wh": (0, 2, 3, 5, 6, 8, 9, 11),
    "chromatic": tuple(range(12)),
    "double_harmonic": (0, 1, 4, 5, 7, 8, 11),  # raga bhairav / maqam hijaz kar
    "hirajoshi": (0, 2, 3, 7, 8),
    "in_sen": (0, 1, 5, 7, 10),
    "bebop_dominant": (0, 2, 4, 5, 7, 9, 10, 11),
}


# -- scales as boolean rows -------------------------------------------------------------
def _as_scales(scales) -> tuple[np.ndarray, bool]:
    """(bool (S, n), single?) with checks: 0/1 values, the root present."""
    a = np.asarray(scales)
    if a.ndim not in (1, 2) or a.shape[-1] < 2:
        raise UserError(f"scales must be one boolean row of n >= 2 pitch classes or an (S, n) matrix, "
                        f"got shape {a.shape}; build one with scale_from_pcs((0, 2, 4, ...))")
    if a.dtype != bool:
        if not np.isin(a, (0, 1)).all():
            raise UserError("scales must hold only 0/1 (or True/False) per pitch class; "
                            "to pass pitch-class numbers use scale_from_pcs")
        a = a.astype(bool)
    b = a.reshape(-1, a.shape[-1])
    if not b[:, 0].all():
        raise UserError(f"{int((~b[:, 0]).sum())} scale(s) lack the root (pitch class 0); "
                        "transpose each scale so that it contains 0")
    return b, a.ndim == 1


def _out(x: np.ndarray, single: bool):
    return x[0].item() if single else x


def scale_from_pcs(pcs, n: int = 12) -> np.ndarray:
    """The boolean row (n,) of a set of pitch classes, e.g. scale_from_pcs((0, 4, 7))."""
    pcs = np.asarray(pcs, dtype=int).ravel()
    if n < 2 or pcs.size == 0 or pcs.min() < 0 or pcs.max() >= n:
        raise UserError(f"pitch classes must be integers in 0..{n - 1} (n >= 2), got {pcs.tolist()}")
    row = np.zeros(n, dtype=bool)
    row[pcs] = True
    return row


def enumerate_scales(n: int = 12, max_gap: int = 4) -> np.ndarray:
    """All scales of n tones with the root and every circular gap <= max_gap, as bool (S, n)
    ordered by bit mask (pitch class j is bit j). n=12, max_gap=4: 1,490 scales."""
    if not (isinstance(n, (int, np.integer)) and 2 <= n <= 24):
        raise UserError(f"n must be an integer in 2..24 (2^(n-1) subsets are built), got {n}")
    if not (isinstance(max_gap, (int, np.integer)) and 1 <= max_gap <= n):
        raise UserError(f"max_gap must be an integer in 1..n={n}, got {max_gap}")
    masks = np.arange(1 << (n - 1), dtype=np.int64) << 1 | 1  # bit 0 (the root) always set
    b = (masks[:, None] >> np.arange(n)) & 1 == 1  # (2^(n-1), n)
    # Gap <= g  <=>  no run of g consecutive pitch classes (around the circle) is empty.
    windows = (np.arange(n)[:, None] + np.arange(max_gap)) % n  # (n, g)
    return b[b[:, windows].any(axis=2).all(axis=1)]


def largest_gap(scales):
    """Largest circular step of each scale (n for a scale of the root alone)."""
    b, single = _as_scales(scales)
    return _out(np.where(b, _next_distance(b), 0).max(axis=1), single)


def _next_distance(b: np.ndarray) -> np.ndarray:
    """(S, n): distance from each pitch class up to the next scale note (1..n)."""
    n = b.shape[1]
    d = np.full(b.shape, n)
    for j in range(n - 1, 0, -1):  # nearest wins: overwrite from the farthest down
        d = np.where(np.roll(b, -j, axis=1), j, d)
    return d


def steps(scale) -> np.ndarray:
    """Circular steps upwards from the root: (k,) for one scale, (S, k) for a matrix of
    scales that all have k notes. Major: [2 2 1 2 2 2 1]."""
    b, single = _as_scales(scale)
    k = b.sum(axis=1)
    if not single and len(set(k.tolist())) > 1:
        raise UserError("steps(matrix) needs scales with the same number of notes; "
                        "use step_counts for mixed sizes, or select rows by size first")
    pos = np.nonzero(b)[1].reshape(len(b), -1)  # (S, k) note positions, ascending
    g = np.diff(np.concatenate([pos, pos[:, :1] + b.shape[1]], axis=1), axis=1)
    return g[0] if single else g


def step_counts(scales) -> np.ndarray:
    """(n+1,) or (S, n+1): column d counts the steps of size d (column 0 is always 0)."""
    b, single = _as_scales(scales)
    d = np.where(b, _next_distance(b), 0)  # the step up from each note; 0 off the scale
    counts = np.stack([(d == j).sum(axis=1) for j in range(b.shape[1] + 1)], axis=1)
    counts[:, 0] = 0
    return counts[0] if single else counts


def _gap(b: np.ndarray, max_gap: int | None) -> int:
    """max_gap (None: n), checked against the scales: a larger step would leave the range."""
    n = b.shape[1]
    if max_gap is None:
        return n
    if not 1 <= int(max_gap) <= n:
        raise UserError(f"max_gap must be in 1..n={n}, got {max_gap}")
    if (largest_gap(b) > max_gap).any():
        raise UserError(f"some scale has a step larger than max_gap={max_gap}; pass the max_gap "
                        "its scales were enumerated with (or None)")
    return int(max_gap)


# -- entropy -------------------------------------------------------------------------------
def _entropy_bits(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy (bits) of each row of counts."""
    p = counts / counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # p log2(1/p), not -p log2 p: no -0.0 for p = 1
        return np.where(p > 0, p * np.log2(1 / p), 0.0).sum(axis=1)


def _partitions(left: int, parts: int, top: int):
    """Every multiset of `parts` step sizes in 1..top summing to `left` (non-increasing)."""
    if parts == 0:
        yield from [()] if left == 0 else []
        return
    for s in range(min(top, left - parts + 1), 0, -1):
        if s * parts >= left:  # the remaining parts, each <= s, can still reach `left`
            yield from ((s, *rest) for rest in _partitions(left - s, parts - 1, s))


@functools.lru_cache(maxsize=None)
def _step_set_extremes(n: int, k: int, gap: int) -> tuple[float, float]:
    """(max entropy in bits, max std) over all step-size multisets a k-note scale with
    steps <= gap can have: few enough (< 300 for n <= 16) to list."""
    sets = [np.array(p) for p in _partitions(n, k, gap)]
    h = max(float(_entropy_bits(np.bincount(p)[None])[0]) for p in sets)
    return h, max(float(p.std()) for p in sets)


def interval_class_vector(scales) -> np.ndarray:
    """(n//2,) or (S, n//2): column c-1 counts the pairs of notes c apart (c = 1..n//2).
    Major: [2 5 4 3 6 1]."""
    b, single = _as_scales(scales)
    n = b.shape[1]
    # (b & roll) counts ordered pairs p -> p + d; d and n - d are one class, counted once
    # for d < n/2; the tritone-like d = n/2 is counted from both ends, hence the halving.
    icv = np.stack([(b & np.roll(b, -d, axis=1)).sum(axis=1) for d in range(1, n // 2 + 1)], axis=1)
    if n % 2 == 0:
        icv[:, -1] //= 2
    return icv[0] if single else icv


def step_entropy(scales, normalise: str = "log2k", max_gap: int | None = None):
    """Step entropy (see the module docstring): normalise in "log2k" (SCIENCE), "bits",
    "attainable" (max over step sets with sizes 1..max_gap, default n)."""
    b, single = _as_scales(scales)
    n, k = b.shape[1], b.sum(axis=1)
    h = _entropy_bits(step_counts(b))
    if normalise == "bits":
        out = h
    elif normalise == "log2k":
        denom = np.log2(np.minimum(k, n))
        out = np.divide(h, denom, out=np.zeros_like(h), where=denom > 0)
    elif normalise == "attainable":
        gap = _gap(b, max_gap)
        hmax = np.array([_step_set_extremes(n, int(kk), gap)[0] for kk in k])  # cached per k
        out = np.divide(h, hmax, out=np.zeros_like(h), where=hmax > 0)
    else:
        raise UserError(f"unknown normalise={normalise!r}: choose log2k, bits or attainable")
    return _out(out, single)


def interval_entropy(scales):
    """Entropy of the interval-class vector, / log2(n//2): 0..1 (0 with < 2 notes)."""
    b, single = _as_scales(scales)
    icv = interval_class_vector(b)
    tot = icv.sum(axis=1)
    h = _entropy_bits(np.where(tot[:, None] > 0, icv, 1))
    out = np.where(tot > 0, h, 0.0) / math.log2(max(b.shape[1] // 2, 2))
    return _out(out, single)


def entropy(scales, definition: str = "log2k", max_gap: int | None = None):
    """Any of ENTROPY_DEFINITIONS: log2k, bits, attainable (step entropies), interval."""
    if definition == "interval":
        return interval_entropy(scales)
    if definition not in ENTROPY_DEFINITIONS:
        raise UserError(f"unknown entropy definition {definition!r}: choose one of "
                        f"{', '.join(ENTROPY_DEFINITIONS)}")
    return step_entropy(scales, definition, max_gap)


# -- defects -------------------------------------------------------------------------------
def evenness_defect(scales, normalise: str = "max", max_gap: int | None = None):
    """std of the steps about n/k, / the largest possible std for k steps of size
    1..max_gap (normalise="max"; max_gap None = n) or / n/k ("mean"). 0 = equal division."""
    b, single = _as_scales(scales)
    n, k = b.shape[1], b.sum(axis=1)
    c = step_counts(b)
    d = np.arange(n + 1)
    mean_sq = (c * d * d).sum(axis=1) / k
    std = np.sqrt(np.maximum(mean_sq - (n / k) ** 2, 0.0))
    std[np.isclose(std, 0.0, atol=1e-12)] = 0.0  # exact equal divisions: no float crumbs
    if normalise == "mean":
        out = std / (n / k)
    elif normalise == "max":
        gap = _gap(b, max_gap)
        smax = np.array([_step_set_extremes(n, int(kk), gap)[1] for kk in k])
        out = np.divide(std, smax, out=np.zeros_like(std), where=smax > 0)
    else:
        raise UserError(f"unknown normalise={normalise!r}: choose max or mean")
    return _out(out, single)


def arrangement_defect(scales):
    """1 - max over rotations t of cos(g, rotate(reversed(g), t)): 0 iff the step sequence
    is mirror-symmetric (reads the same backwards from some note)."""
    b, single = _as_scales(scales)
    k = b.sum(axis=1)
    out = np.zeros(len(b))
    for kk in np.unique(k):  # one block of equal-length step sequences per scale size
        rows = np.flatnonzero(k == kk)
        g = steps(b[rows]).astype(np.int64)  # (m, kk)
        r = g[:, ::-1]
        # g and reversed g have the same norm, so cos = dot / |g|^2, in exact integers
        best = np.max([(g * np.roll(r, t, axis=1)).sum(axis=1) for t in range(kk)], axis=0)
        out[rows] = 1.0 - best / (g * g).sum(axis=1)
    return _out(out, single)


def interval_variety_defect(scales):
    """(distinct step sizes - 1) / (min(k, n//2) - 1); 0 with one step size (or k <= 1)."""
    b, single = _as_scales(scales)
    n, k = b.shape[1], b.sum(axis=1)
    m = (step_counts(b) > 0).sum(axis=1)
    denom = np.minimum(k, n // 2) - 1
    out = np.divide(m - 1, denom, out=np.zeros(len(b)), where=denom > 0)
    return _out(out, single)


def composite_defect(scales, weights=COMPOSITE_WEIGHTS, max_gap: int | None = None):
    """w1 evenness (normalise="max", max_gap) + w2 arrangement + w3 interval variety."""
    b, single = _as_scales(scales)
    w = np.asarray(weights, dtype=float)
    if w.shape != (3,) or not np.isfinite(w).all() or (w < 0).any():
        raise UserError(f"weights must be three numbers >= 0 (evenness, arrangement, variety), got {weights}")
    out = (w[0] * evenness_defect(b, "max", max_gap) + w[1] * arrangement_defect(b)
           + w[2] * interval_variety_defect(b))
    return _out(out, single)


def missing_fifths(scales, fifth: int | None = None):
    """Notes whose fifth (+7 for n = 12; round(n log2 1.5) in general) is not in the scale."""
    b, single = _as_scales(scales)
    n = b.shape[1]
    f = round(n * math.log2(1.5)) if fifth is None else int(fifth)
    return _out((b & ~np.roll(b, -f, axis=1)).sum(axis=1), single)


# -- where named scales sit in the population ----------------------------------------------
def percentile_rank(values, population=None) -> np.ndarray:
    """Mid-rank percentile (0..1) of each value in `population` (default: values itself)."""
    v = np.asarray(values, dtype=float).ravel()
    pop = np.sort(v if population is None else np.asarray(population, dtype=float).ravel())
    if pop.size == 0 or not (np.isfinite(pop).all() and np.isfinite(v).all()):
        raise UserError("percentile_rank needs a non-empty population of finite values; drop NaNs first")
    below = np.searchsorted(pop, v, side="left")
    tied = np.searchsorted(pop, v, side="right") - below
    return (below + 0.5 * tied) / pop.size


def corridor_test(entropy_values, defect_values, named, corridor=(0.25, 0.75), groups=None,
                  n_perm: int = 10_000, seed: int = 0) -> dict:
    """Are the `named` scales (indices or a bool mask into the population) enriched in the
    "mid-entropy, mid-defect corridor": both percentile ranks within [lo, hi]?

    Returns the named fraction inside, the base rate (fraction of all scales inside), and
    one-sided p-values for "more named scales inside than chance": p_uniform draws the same
    number of scales uniformly without replacement (hypergeometric, exact); p_matched, when
    `groups` (e.g. the scale size k) is given, draws each named scale's stand-in from its
    own group (n_perm random draws, seeded), so scale size cannot explain the result.
    The same for the corner below the corridor (both ranks < lo): low_frac, base_low, p_low.
    """
    e = np.asarray(entropy_values, dtype=float).ravel()
    d = np.asarray(defect_values, dtype=float).ravel()
    if e.shape != d.shape:
        raise UserError(f"entropy and defect values differ in length ({e.size} vs {d.size}); "
                        "pass one of each per scale")
    lo, hi = (float(x) for x in corridor)
    if not 0.0 <= lo < hi <= 1.0:
        raise UserError(f"corridor must be two percentiles 0 <= lo < hi <= 1, got {corridor}")
    idx = np.asarray(named)
    idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(int).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= e.size):
        raise UserError(f"named indices must lie in 0..{e.size - 1}")
    pe, pd_ = percentile_rank(e), percentile_rank(d)
    inside = (pe >= lo) & (pe <= hi) & (pd_ >= lo) & (pd_ <= hi)
    low = (pe < lo) & (pd_ < lo)
    S, n_named, n_in, n_low = e.size, idx.size, int(inside[idx].sum()), int(low[idx].sum())

    def frac(x):
        return x / n_named if n_named else None

    from scipy.stats import hypergeom  # here, not at the top: scipy.stats takes ~1 s to import

    def p_more(x, mask):  # P(X >= x) for n_named uniform draws without replacement
        return float(hypergeom.sf(x - 1, S, int(mask.sum()), n_named)) if n_named else None

    out = {"n_scales": S, "n_named": n_named, "n_named_in": n_in, "named_frac": frac(n_in),
           "base_rate": float(inside.mean()), "p_uniform": p_more(n_in, inside), "p_matched": None,
           "n_named_low": n_low, "low_frac": frac(n_low), "base_low": float(low.mean()),
           "p_low": p_more(n_low, low), "inside": inside}
    if groups is not None and n_named:
        g = np.asarray(groups).ravel()
        if g.size != S:
            raise UserError(f"groups has {g.size} entries for {S} scales; pass one label per scale")
        rng = np.random.default_rng(seed)
        hits = np.zeros(n_perm, dtype=np.int64)
        for i in idx:  # a random stand-in from the named scale's own group, n_perm times
            pool = np.flatnonzero(g == g[i])
            hits += inside[pool[rng.integers(0, pool.size, n_perm)]]
        out["p_matched"] = float((1 + (hits >= n_in).sum()) / (1 + n_perm))
    return out
