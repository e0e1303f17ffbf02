"""Smoothers behind `ews.detrend`: Gaussian kernel (two edge modes) and LOWESS (with optional
robustness passes). Private: arguments arrive checked and resolved to sample counts by ews.py.

Conventions follow ewstools / R's earlywarnings, so that settings copied from a paper or an
ewstools notebook mean the same thing here:
- Gaussian `bandwidth` is ksmooth's: the kernel's quartiles sit at +-0.25 * bandwidth, i.e.
  sigma = (0.25 / 0.675) * bandwidth (0.675 = the standard normal's upper quartile).
- edge="reflect" is scipy.ndimage.gaussian_filter1d(mode="reflect"), which ewstools calls: the
  series is mirrored about its ends (d c b a | a b c d | d c b a) and the kernel is cut at
  4 sigma and normalised, exactly as scipy does. edge="renormalise" is the lab's older
  Nadaraya-Watson smoother: the full kernel, divided by its summed weights where it runs off
  the ends.
- LOWESS is statsmodels' (which ewstools calls): the k = span nearest points, tricube weights
  that reach 0 at the farthest of them, a local linear fit, then `robust_iters` passes that
  reweight each point by the bisquare of its residual over 6 median absolute residuals.
Everything is an FFT convolution in the interior plus explicit rows for the ~k edge points,
vectorised over rows of a 2-D input.
"""

from __future__ import annotations

import functools

import numpy as np

KSMOOTH = 0.25 / 0.675  # sigma per unit of ksmooth bandwidth
TRUNCATE = 4.0           # reflect mode cuts the kernel at 4 sigma: scipy.ndimage's default
EDGES = ("reflect", "renormalise")
LOWESS_CHUNK = 512       # edge rows of LOWESS built this many at a time (bounds memory)
NONZERO = 1e-12          # statsmodels: a weight at or below this does not count as a point


def fftconv(x, kernel):
    """Full linear convolution of x (..., n) with kernel (L,) along the last axis, by FFT."""
    from scipy import fft as sfft  # lazily: importing emergelab.measures stays light

    size = x.shape[-1] + len(kernel) - 1
    nfft = sfft.next_fast_len(size, real=True)  # >= size: zero padding, so no wrap-around
    return sfft.irfft(sfft.rfft(x, nfft) * sfft.rfft(kernel, nfft), nfft)[..., :size]


def reflect_index(n, pad):
    """Indices that extend 0..n-1 by `pad` on each side in scipy's "reflect" mode. The pattern
    has period 2n, so a pad longer than the series (a wide kernel) keeps mirroring."""
    i = np.arange(-pad, n + pad) % (2 * n)
    return np.where(i >= n, 2 * n - 1 - i, i)


@functools.lru_cache(maxsize=32)
def _reflect_plan(n: int, sigma: float):
    """(mirror indices, kernel spectrum, FFT length, radius) of a reflect-mode Gaussian smooth of
    length n: what does not depend on the data, kept for the next series of the same length and
    bandwidth (surrogate tests, sweeps, rolling re-analyses smooth thousands of them)."""
    from scipy import fft as sfft

    r = int(TRUNCATE * sigma + 0.5)  # scipy's radius; its weights are normalised to sum 1
    kern = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    kern /= kern.sum()
    nfft = sfft.next_fast_len(n + 4 * r, real=True)  # >= full convolution length: no wrap-around
    spec = sfft.rfft(kern, nfft)
    idx = reflect_index(n, r)
    spec.flags.writeable = idx.flags.writeable = False  # shared between calls
    return idx, spec, nfft, r


def gaussian(y, sigma, edge):
    """Gaussian-kernel smooth of y (..., n) with sd `sigma` samples."""
    n = y.shape[-1]
    if edge == "reflect":
        from scipy import fft as sfft

        idx, spec, nfft, r = _reflect_plan(n, float(sigma))
        ext = y[..., idx]  # (..., n + 2r)
        # the symmetric kernel: convolution = correlation
        return sfft.irfft(sfft.rfft(ext, nfft) * spec, nfft)[..., 2 * r : 2 * r + n]
    kern = np.exp(-0.5 * (np.arange(-(n - 1), n) / sigma) ** 2)  # untruncated, offsets -(n-1)..n-1
    num = fftconv(y, kern)[..., n - 1 : 2 * n - 1]
    den = fftconv(np.ones(n), kern)[n - 1 : 2 * n - 1]
    return num / den


def _tricube(d, radius):
    u = np.minimum(np.abs(d) / radius, 1.0)
    return (1.0 - u**3) ** 3


def _corr(v, kern, n):
    """sum_d kern[d + a] * v[..., i + d] for the interior i = a .. n - k + a (k = len(kern))."""
    k = len(kern)
    return fftconv(v, kern[::-1])[..., k - 1 : n]


def _fit_rows(rw, y, i0, i1, lo, k):
    """Local linear fits at positions i0..i1-1 whose window is y[..., lo:lo+k] (an end of the
    series), with robustness weights rw: (..., i1 - i0)."""
    c = np.arange(i0, i1) - lo  # centres inside the window
    d = np.arange(k) - c[:, None]  # (r, k) signed distances
    radius = np.maximum(c, k - 1 - c)[:, None]
    tri = _tricube(d, radius)  # (r, k)
    rwin, ywin = rw[..., lo : lo + k], rw[..., lo : lo + k] * y[..., lo : lo + k]
    s0, s1, s2 = rwin @ tri.T, rwin @ (tri * d).T, rwin @ (tri * d * d).T
    t0, t1 = ywin @ tri.T, ywin @ (tri * d).T
    ok = ((rwin > NONZERO) * 1.0) @ (tri > NONZERO).T >= 2
    return s0, s1, s2, t0, t1, ok


def _lowess_pass(y, rw, k):
    """One weighted local-linear pass of statsmodels' LOWESS over y (..., n), weights rw."""
    n = y.shape[-1]
    a = k // 2  # statsmodels' window for point i starts at i - k//2, clamped to the series
    d = np.arange(k) - a
    tri = _tricube(d, max(a, k - 1 - a))
    sums = [np.empty(y.shape) for _ in range(5)]  # s0, s1, s2, t0, t1
    ok = np.empty(y.shape, bool)
    mid = slice(a, n - k + a + 1)
    ry = rw * y
    for out, v, kern in zip(sums, (rw, rw, rw, ry, ry), (tri, tri * d, tri * d * d, tri, tri * d)):
        out[..., mid] = _corr(v, kern, n)
    ok[..., mid] = _corr((rw > NONZERO) * 1.0, (tri > NONZERO) * 1.0, n) > 1.5
    for i0, i1, lo in ((0, a, 0), (n - k + a + 1, n, n - k)):  # left end, right end
        for s in range(i0, i1, LOWESS_CHUNK):
            e = min(s + LOWESS_CHUNK, i1)
            *vals, good = _fit_rows(rw, y, s, e, lo, k)
            for out, v in zip(sums, vals):
                out[..., s:e] = v
            ok[..., s:e] = good
    s0, s1, s2, t0, t1 = sums
    det = s0 * s2 - s1 * s1
    ok &= det > NONZERO * s0 * s0  # statsmodels floors the weighted variance of x at 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = (s2 * t0 - s1 * t1) / det
    return np.where(ok, fit, y)  # too few weighted points: statsmodels keeps the point itself


def _bisquare_weights(res):
    """statsmodels' robustness weights: bisquare of |residual| / (6 median |residual|), per row."""
    res = np.abs(res)
    med = np.median(res, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(med > 0, np.minimum(res / (6.0 * med), 1.0), (res > 0) * 1.0)
    return (1.0 - u * u) ** 2


def lowess(y, k, robust_iters=0):
    """LOWESS fit of y (..., n) over windows of k points, then `robust_iters` robust passes."""
    rw = np.ones(y.shape)
    fit = _lowess_pass(y, rw, k)
    for _ in range(robust_iters):
        rw = _bisquare_weights(y - fit)
        fit = _lowess_pass(y, rw, k)
    return fit
