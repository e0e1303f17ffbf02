"""Entropy and scaling early-warning indicators over rolling windows, vectorised.

- Sample entropy (Richman & Moorman, "Physiological time-series analysis using approximate
  entropy and sample entropy", Am. J. Physiol. 278, 2000): -ln(A / B), B = pairs of length-m
  templates within r (Chebyshev distance, no self-matches), A = the same pairs still within r
  at length m + 1; both over the first w - m templates of the window (EntropyHub's SampEn).
- Approximate entropy (Pincus, "Approximate entropy as a measure of system complexity", PNAS
  88, 1991): Phi^m - Phi^(m+1), Phi^L = mean over templates of ln(fraction of templates within
  r, self-match included).
- Permutation entropy (Bandt & Pompe, "Permutation entropy: a natural complexity measure for
  time series", PRL 88, 2002): Shannon entropy of the ordinal patterns of `order` points
  `delay` apart; ties ranked by time (a stable sort); normalised by ln(order!) by default.
- DFA exponent (Peng et al., "Mosaic organization of DNA nucleotides", PRE 49, 1994), as
  ewstools.helpers.dfa: profile = cumsum(window - its mean); per scale s (n_scales log-spaced
  from min_scale to w // 2, rounded, unique) the profile is cut into w // s segments from the
  start, each detrended by a least-squares polynomial of `order`; F(s) = sqrt(mean squared
  residual); alpha = least-squares slope of log10 F against log10 s (NaN if < 3 scales with F > 0).

Entropy EWS: a system slowing down becomes more regular (entropy falls); see Bury et al. /
ewstools' compute_entropy and compute_dfa, which loop over windows in Python. Here r is
`r * std(window)` (ddof=0, EntropyHub's default r = 0.2 sd), so r varies per window.

Vectorisation. SampEn/ApEn: one pass per lag k (template pairs (i, i+k)), each a comparison
of the k-th distance sequence against every window's r at once; O(n w^2) work, O(n w) memory
per lag, no loop over time. PermEn: window counts of each pattern from prefix sums of a
one-hot code matrix. DFA: a segment's residual depends only on where it starts (order >= 1
removes the window's mean, which enters the profile as a straight line), so the residuals of
all start positions are computed once per scale and each window sums every s-th of them.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view as _swv

from emergelab.errors import UserError

CHUNK = 1 << 21  # elements per block of work in DFA and PermEn: bounds memory


# ------------------------------------------------------------------ shared input checks (my modules)

def _series(name, x, ndim=1):
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be numeric; could not turn {type(x).__name__} into floats") from None
    if a.ndim != ndim:
        raise UserError(f"{name} must be {ndim}-D, got shape {a.shape}"
                        + ("; pass one column per variable" if ndim == 2 else ""))  # fmt: skip
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise UserError(f"{name} has {int(bad.sum())} NaN/inf value(s), the first at index "
                        f"{first[0] if ndim == 1 else first}; drop or fill them first")  # fmt: skip
    flat = np.ptp(a, axis=0) == 0 if a.size else np.array([True])
    if np.any(flat):
        where = "" if ndim == 1 else f" (column {int(np.argmax(flat))})"
        raise UserError(f"{name} is constant{where}: no fluctuations to measure; check the input")
    return a


def _int(name, v, lo, hi=None):
    if not isinstance(v, numbers.Integral) or isinstance(v, (bool, np.bool_)) or v < lo or (hi and v > hi):
        raise UserError(f"{name} must be a whole number >= {lo}" + (f" and <= {hi}" if hi else "")
                        + f", got {v!r}")  # fmt: skip
    return int(v)


def _window(window, n, least):
    """Window in samples from a fraction of n in (0, 1] or an int; must hold `least` samples
    and fit in the series."""
    if isinstance(window, numbers.Integral) and not isinstance(window, (bool, np.bool_)):
        w = int(window)
    elif isinstance(window, numbers.Real) and 0 < window <= 1:
        w = int(window * n + 1e-9)  # +1e-9: 0.29 * 100 gives 29, not 28 (as ews.py)
    else:
        raise UserError(f"window must be a fraction of the series in (0, 1] or a whole number of samples, "
                        f"got {window!r}")  # fmt: skip
    if w < least:
        raise UserError(f"window of {w} samples is too short for this indicator: use at least {least}")
    if w > n:
        raise UserError(f"series too short: {n} points but a window of {w}; use a smaller window "
                        f"or a longer series")  # fmt: skip
    return w


def _place(vals, n, w):
    """Values of the K = n - w + 1 windows, aligned with the series: index i = window end."""
    out = np.full(n, np.nan)
    out[w - 1 :] = vals
    return out


# ------------------------------------------------------------------ sample and approximate entropy

def _lag_matches(x, w, L, count, r):
    """For lags k = 1 .. count - 1: (k, M) with M[s, p] = template pair (s+p, s+p+k) of length L
    within r[s], for the K windows s and p < count - k."""
    K = len(x) - w + 1
    for k in range(1, count):  # a loop over lags, each vectorised over windows and positions
        d = _swv(np.abs(x[:-k] - x[k:]), L).max(axis=-1)  # Chebyshev distance of (i, i+k)
        yield k, _swv(d, count - k)[:K] <= r[:, None]


def _r_abs(x, w, r):
    if not isinstance(r, numbers.Real) or isinstance(r, bool) or not r > 0:
        raise UserError(f"r must be a positive fraction of the window's sd (0.2 is usual), got {r!r}")
    # window sd (ddof=0) from prefix sums of the centred series: O(n) memory, not O(n w)
    y = x - x.mean()
    c1, c2 = (np.concatenate([[0.0], np.cumsum(v)]) for v in (y, y * y))
    mu = (c1[w:] - c1[:-w]) / w
    return r * np.sqrt(np.maximum((c2[w:] - c2[:-w]) / w - mu * mu, 0.0))


def sample_entropy(x, window=0.25, m=2, r=0.2):
    """Rolling sample entropy of 1-D x, aligned with x (NaN before the first full window, and
    where A or B is 0: no estimate). r is a fraction of each window's sd."""
    x = _series("x", x)
    m = _int("m", m, 1)
    w = _window(window, len(x), m + 3)
    ra = _r_abs(x, w, r)
    T = w - m  # the same first w - m templates at lengths m and m + 1 (Richman & Moorman)
    A = np.zeros(len(ra))
    B = np.zeros(len(ra))
    for L, acc in ((m, B), (m + 1, A)):
        for _, M in _lag_matches(x, w, L, T, ra):
            acc += np.count_nonzero(M, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where((A > 0) & (B > 0), -np.log(A / np.where(B > 0, B, 1)), np.nan)
    return _place(se, len(x), w)


def approximate_entropy(x, window=0.25, m=2, r=0.2):
    """Rolling approximate entropy of 1-D x, aligned with x (NaN before the first full window).
    r is a fraction of each window's sd."""
    x = _series("x", x)
    m = _int("m", m, 1)
    w = _window(window, len(x), m + 3)
    ra = _r_abs(x, w, r)
    phi = []
    for L in (m, m + 1):
        N = w - L + 1  # every template of length L in the window
        C = np.ones((len(ra), N), np.int32)  # the self-match; integer adds are the fast ones
        for k, M in _lag_matches(x, w, L, N, ra):
            C[:, : N - k] += M  # the pair counts for both of its templates
            C[:, k:] += M
        phi.append(np.log(C / N).mean(axis=1))
    return _place(phi[0] - phi[1], len(x), w)


# ------------------------------------------------------------------ permutation entropy

def permutation_entropy(x, window=0.25, order=3, delay=1, normalize=True):
    """Rolling permutation entropy of 1-D x, aligned with x; in [0, 1] if normalize."""
    x = _series("x", x)
    order = _int("order", order, 2, 8)  # 8! = 40320 patterns: beyond that no window fills them
    delay = _int("delay", delay, 1)
    span = (order - 1) * delay
    w = _window(window, len(x), span + 2)
    emb = _swv(x, span + 1)[:, ::delay]  # (n - span, order): the points of each pattern
    ranks = np.argsort(np.argsort(emb, axis=1, kind="stable"), axis=1, kind="stable")
    code = ranks @ (order ** np.arange(order))  # one integer per ordinal pattern
    _, ids = np.unique(code, return_inverse=True)  # only the patterns that occur: fewer columns
    P = w - span  # patterns in one window
    nlogn = np.zeros(len(ids) - P + 1)
    rows = np.arange(1, len(ids) + 1)
    step = max(1, CHUNK // (len(ids) + 1))
    for lo in range(0, ids.max() + 1, step):  # blocks of pattern ids bound the one-hot's memory
        onehot = np.zeros((len(ids) + 1, min(step, ids.max() + 1 - lo)), np.int32)
        sel = (ids >= lo) & (ids < lo + step)
        onehot[rows[sel], ids[sel] - lo] = 1
        cum = np.cumsum(onehot, axis=0)
        counts = (cum[P:] - cum[:-P]).astype(float)  # window counts of these patterns, (K, block)
        with np.errstate(divide="ignore", invalid="ignore"):
            nlogn += np.where(counts > 0, counts * np.log(counts), 0.0).sum(axis=1)
    h = np.log(P) - nlogn / P  # -sum p ln p with p = count / P
    if normalize:
        h = h / math.log(math.factorial(order))
    return _place(h, len(x), w)


# ------------------------------------------------------------------ detrended fluctuation analysis

def dfa_scales(w, min_scale=4, max_scale=None, n_scales=20):
    """The scales ewstools' dfa uses for a window of w samples."""
    top = w // 2 if max_scale is None else min(max_scale, w // 2)
    top = max(top, min_scale + 1)
    s = np.unique(np.round(np.logspace(np.log10(min_scale), np.log10(top), n_scales)).astype(int))
    return s[s >= min_scale]


def _poly_basis(s, order):
    t = np.arange(s, dtype=float)
    t = (t - t.mean()) / max(t.std(), 1.0)  # scaled: a well-conditioned Vandermonde
    q, _ = np.linalg.qr(np.vander(t, order + 1))
    return q  # (s, order + 1) orthonormal


def _segment_rss(xc, s, A, order):
    """Mean squared residual of the order-`order` fit to the profile segment starting at a,
    for a = 0 .. A - 1 (the profile's offset and the window mean drop out, see the docstring)."""
    Q = _poly_basis(s, order)
    out = np.empty(A)
    step = max(1, CHUNK // s)
    for a in range(0, A, step):  # chunks of start positions bound memory, each one array op
        z = np.cumsum(_swv(xc, s)[a : min(a + step, A)], axis=1)
        res = z - (z @ Q) @ Q.T
        out[a : a + len(z)] = np.mean(res * res, axis=1)
    return out


def dfa(x, window=0.25, order=1, min_scale=4, max_scale=None, n_scales=20):
    """Rolling DFA exponent alpha of 1-D x, aligned with x (ewstools' compute_dfa / helpers.dfa).
    order >= 1: the polynomial detrending each segment (1 = DFA1)."""
    x = _series("x", x)
    order = _int("order", order, 1)  # order 0 would leave the window mean in (see docstring)
    min_scale = _int("min_scale", min_scale, order + 2)
    n_scales = _int("n_scales", n_scales, 3)
    if max_scale is not None:
        _int("max_scale", max_scale, min_scale + 1)
    w = _window(window, len(x), 2 * min_scale)
    scales = dfa_scales(w, min_scale, max_scale, n_scales)
    if len(scales) < 3:
        raise UserError(f"window of {w} samples gives only {len(scales)} DFA scale(s), need 3; "
                        f"use a larger window or a smaller min_scale")  # fmt: skip
    n, K = len(x), len(x) - w + 1
    xc = x - x.mean()
    F = np.empty((K, len(scales)))
    for j, s in enumerate(scales):  # a loop over the ~20 scales, not over time
        J = w // s
        rss = _segment_rss(xc, s, K + (J - 1) * s, order)
        F[:, j] = np.sqrt(_swv(rss, (J - 1) * s + 1)[:K, ::s].mean(axis=1))  # window s: rss[s + j*s]
    ok = F > 0
    ls = np.where(ok, np.log10(scales.astype(float)), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lf = np.where(ok, np.log10(np.where(ok, F, 1.0)), 0.0)
        cnt = ok.sum(axis=1)
        mx, my = ls.sum(1) / cnt, lf.sum(1) / cnt
        dx = np.where(ok, ls - mx[:, None], 0.0)
        alpha = (dx * (lf - my[:, None])).sum(1) / (dx * dx).sum(1)
    return _place(np.where(cnt >= 3, alpha, np.nan), n, w)


ENTROPY_INDICATORS = {"sampen": sample_entropy, "apen": approximate_entropy,
                      "permen": permutation_entropy, "dfa": dfa}  # fmt: skip
