"""Early-warning signals (EWS) of critical transitions: rolling indicators and their trend test.

After Boettiger, Ross & Hastings, "Early warning signals: The charted and uncharted territories"
(Theoretical Ecology 6, 2013), building on Dakos et al.'s methods (the R package earlywarnings)
and the Python package ewstools.

Critical slowing down. As a system drifts towards a fold (saddle-node) bifurcation, the
restoring force around its equilibrium weakens, so it recovers ever more slowly from small
shocks. In a noisy series this shows as rising lag-1 autocorrelation (each value remembers more
of the last) and rising variance (shocks pile up); skewness and kurtosis may change as the
potential becomes lopsided. The paper's other half, the false-alarm side: many shifts show no
slowing down at all (noise-induced tipping, shifts without a bifurcation, forcing that is too
fast, data too short or too coarse), and indicators can rise with no shift ahead. A rising
indicator is therefore evidence to weigh against a null model, never a forecast: run the same
test on series that do not tip to see how often it fires anyway.

The pipeline:
1. detrend(x): remove the slow part (Gaussian kernel smoother, LOWESS, a straight line, the
   first difference, or nothing). Indicators are computed on the residuals. The Gaussian
   bandwidth, its edges and LOWESS follow ewstools / earlywarnings (see measures/_detrend.py).
2. rolling(r, window): indicators over a trailing window of w samples; the value at index i
   uses r[i-w+1 .. i], NaN before the first full window. var and std use ddof=1 (as pandas and
   ewstools); skew and kurt are the biased (population) moments, kurt in excess (Fisher), as
   scipy.stats defaults; ac1 is the Pearson correlation of the (r[t], r[t-lag]) pairs inside
   the window (pandas' Series.autocorr); cv is std / |rolling mean of the raw series|.
3. kendall_trend: Kendall's tau (tau-b) of an indicator against time, the trend strength.
4. surrogate_test: would a stationary process give as large a tau? As earlywarnings does, fit
   an AR(1) or ARMA(1,1) to the residuals, simulate n surrogates, run each through the same
   pipeline, and report p = (1 + #{tau_surrogate >= tau}) / (n + 1), one-sided for a rise.

Numerics. Every rolling statistic is O(n): windowed sums of powers come from differences of
prefix sums, and central moments from those sums. Two things keep that accurate:
- Each series is first centred on its own mean, so a constant offset (x + 1e6) never enters
  a power; results match a per-window loop to ~1e-13 at any offset.
- A windowed sum taken from two prefix sums carries the rounding of the prefix, ~eps * n/w
  relative: harmless for the windows used here (w >= n/10 or so).
What is not protected: a window whose mean sits far from the series mean, in units of its
own standard deviation (a strong trend left in). The p-th central moment then loses about
p * log10(|mean_w - mean| / sd_w) digits. Detrended residuals don't have this problem, which
is one more reason the indicators are computed on them. A window whose variance is below
1e-12 of its series' variance counts as constant: var = std = 0, and ac1/skew/kurt are NaN.
"""

from __future__ import annotations

import numbers

import numpy as np

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line
from emergelab.measures import _detrend as _dt
from emergelab.measures import _kendall

INDICATORS = ("var", "std", "cv", "ac1", "skew", "kurt")
DETRENDS = ("gaussian", "lowess", "linear", "diff", "none")
NULLS = ("ar1", "arma")
MIN_WINDOW = 3       # fewer samples than this make no window statistic worth the name
DEGENERATE = 1e-12   # window variance below this fraction of the series' variance counts as 0
CONSTANT = 1e-12     # residual sd below this fraction of max|x| means "no fluctuations"
COEF_MAX = 0.99      # |phi|, |theta| clipped here: surrogates stay stationary and invertible
BANDWIDTH = 0.2      # default Gaussian bandwidth, ksmooth units (see detrend); measured in analysis.py


# ------------------------------------------------------------------ input checks

def _as_array(name, a, ndims=(1,), allow_nan=False):
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be numeric; could not turn {type(a).__name__} into floats") from None
    if arr.ndim not in ndims:
        want = {(1,): "1-D", (2,): "2-D (series x points)"}.get(ndims, "1-D or 2-D (series x points)")
        raise UserError(f"{name} must be {want}, got shape {arr.shape}; pass one series per row "
                        f"(a list, 1-D array or pandas Series for one)")  # fmt: skip
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise UserError(f"{name} contains {int(bad.sum())} {'inf' if allow_nan else 'NaN/inf'} value(s), the "
                        f"first at index {first[0] if len(first) == 1 else first}; drop those points first, "
                        f"e.g. keep = np.isfinite({name})")  # fmt: skip
    return arr


def _samples(name, value, n, lo, exact=False):
    """A length given as a fraction of n (a float in (0, 1]) or a count of samples (an int >= lo).
    Fractions round down to whole samples unless exact=True (a kernel width needn't be whole)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        if value < lo:
            raise UserError(f"{name}={value} samples is too small: use at least {lo}, "
                            f"or a fraction in (0, 1]")  # fmt: skip
        return int(value)
    if isinstance(value, numbers.Real) and 0 < value <= 1:
        return value * n if exact else max(int(value * n + 1e-9), 1)  # +1e-9: 0.29 * 100 gives 29, not 28
    raise UserError(f"{name} must be a fraction of the series in (0, 1] or a whole number of samples "
                    f">= {lo}, got {value!r}")  # fmt: skip


def _window(window, n, lag):
    w = _samples("window", window, n, MIN_WINDOW)
    if w < MIN_WINDOW:
        raise UserError(f"series too short for EWS: window={window} of {n} points is only {w} sample(s), "
                        f"need at least {MIN_WINDOW}; use a larger window or a longer series")  # fmt: skip
    if n < 2 * w:
        raise UserError(f"series too short for EWS: {n} points with a window of {w} needs at least {2 * w}; "
                        f"use a smaller window or a longer series")  # fmt: skip
    if not isinstance(lag, numbers.Integral) or isinstance(lag, bool) or not 1 <= lag <= w - 2:
        raise UserError(f"lag must be a whole number from 1 to window - 2 = {w - 2}, got {lag!r}; "
                        f"use lag=1 for the lag-1 autocorrelation")  # fmt: skip
    return w


def _names(which):
    names = (which,) if isinstance(which, str) else tuple(dict.fromkeys(which))
    bad = [k for k in names if k not in INDICATORS]
    if bad or not names:
        raise UserError(f"unknown indicator(s) {bad or '(none given)'}; choose from {', '.join(INDICATORS)}")
    return names


def _choice(kind, value, valid):
    if value not in valid:
        raise UserError(f"unknown {kind} {value!r}; use one of {', '.join(valid)}")


def _check_fluctuates(resid, x):
    # Rows whose residuals are flat to rounding: every indicator would be 0 or 0/0.
    r = np.where(np.isnan(resid), 0.0, resid)
    flat = r.std(axis=-1) <= CONSTANT * np.abs(x).max(axis=-1)
    if np.any(flat):
        where = "" if x.ndim == 1 else f" (row {int(np.argmax(flat))})"
        raise UserError(f"series is constant{where}: no fluctuations to measure (after detrending); "
                        f"check the input or the detrend method")  # fmt: skip


# ------------------------------------------------------------------ detrending

def _check_detrend(method, edge, sigma_points, robust_iters):
    _choice("detrend method", method, DETRENDS)
    _choice("edge mode", edge, _dt.EDGES)
    if sigma_points is not None and not (isinstance(sigma_points, numbers.Real) and not isinstance(
            sigma_points, (bool, np.bool_)) and 0 < sigma_points < np.inf):  # fmt: skip
        raise UserError(f"sigma_points must be a positive number of samples (the kernel's sd), "
                        f"got {sigma_points!r}; or leave it None and give bandwidth")  # fmt: skip
    if not isinstance(robust_iters, numbers.Integral) or isinstance(robust_iters, bool) or robust_iters < 0:
        raise UserError(f"robust_iters must be a whole number >= 0, got {robust_iters!r}; "
                        f"0 = plain LOWESS, 3 = statsmodels' and ewstools' default")  # fmt: skip


def _trend(x, method, bandwidth, span, edge="reflect", sigma_points=None, robust_iters=0):
    n = x.shape[-1]
    if method == "none":
        return np.zeros_like(x)
    if method == "diff":  # x_t = x_{t-1} + residual_t; nothing predicts x_0
        tr = np.full_like(x, np.nan)
        tr[..., 1:] = x[..., :-1]
        return tr
    c = x.mean(axis=-1, keepdims=True)  # centre first: the smoothers then never see an offset
    y = x - c  # (..., n)
    if method == "linear":
        t = np.arange(n) - (n - 1) / 2
        return c + (y @ t / (t @ t))[..., None] * t
    if method == "gaussian":
        if sigma_points is None:  # ksmooth units: quartiles at +-0.25 bandwidth
            sigma_points = _dt.KSMOOTH * _samples("bandwidth", bandwidth, n, 1, exact=True)
        return c + _dt.gaussian(y, float(sigma_points), edge)
    k = min(_samples("span", span, n, MIN_WINDOW), n)  # lowess
    return c + _dt.lowess(y, max(k, MIN_WINDOW), robust_iters)


def detrend(x, method="gaussian", bandwidth=BANDWIDTH, span=0.25, return_trend=False, edge="reflect",
            sigma_points=None, robust_iters=0):  # fmt: skip
    """Residuals x - trend, same shape as x (1-D, or 2-D with one series per row).

    method: "gaussian" (kernel smoother), "lowess" (local linear fit over the span * n nearest
    points, or `span` if an int, tricube weights reaching 0 at the farthest, as statsmodels),
    "linear" (least-squares line), "diff" (first difference, aligned: residual[t] = x[t] -
    x[t-1], NaN at index 0), "none".
    bandwidth: the Gaussian kernel's width in ksmooth / earlywarnings / ewstools units, a
    fraction of n (or a number of samples if an int): its quartiles sit at +-0.25 * bandwidth,
    i.e. sd = (0.25 / 0.675) * bandwidth. (Before, the lab's sd was bandwidth * n: see CHANGELOG.md.)
    sigma_points: the kernel's sd in samples directly; replaces bandwidth when given.
    edge: "reflect" mirrors the series about its ends and cuts the kernel at 4 sd (ewstools,
    scipy.ndimage.gaussian_filter1d); "renormalise" uses the full kernel and divides by its
    summed weights where it runs off the ends (Nadaraya-Watson; the lab's older behaviour).
    robust_iters: LOWESS robustness passes (statsmodels' and ewstools' default is 3).
    return_trend=True returns (residuals, trend).
    """
    x = _as_array("x", x, (1, 2))
    _check_detrend(method, edge, sigma_points, robust_iters)
    if x.shape[-1] < MIN_WINDOW:
        raise UserError(f"series too short to detrend: {x.shape[-1]} points, need at least {MIN_WINDOW}")
    tr = _trend(x, method, bandwidth, span, edge, sigma_points, robust_iters)
    return (x - tr, tr) if return_trend else x - tr


# ------------------------------------------------------------------ rolling indicators

def _rolling(x, w, lag, names, level=None, bias=True):
    """Indicators over trailing windows of w samples along the last axis of x (..., n), no checks."""
    n = x.shape[-1]
    y = x - x.mean(axis=-1, keepdims=True)  # centring: powers of an offset never get summed
    scale = np.mean(y * y, axis=-1, keepdims=True)  # the series' variance: yardstick for "zero"

    def cum(v):  # prefix sums with a leading 0: sum of v[a:b] = c[b] - c[a]
        c = np.empty(v.shape[:-1] + (n + 1,))
        c[..., 0] = 0.0
        np.cumsum(v, axis=-1, out=c[..., 1:])
        return c

    def win(c, length, shift=0):  # sums over v[i-shift-length+1 .. i-shift] for i = w-1 .. n-1
        return c[..., w - shift : n + 1 - shift] - c[..., w - shift - length : n + 1 - shift - length]

    y2 = y * y
    c1, c2 = cum(y), cum(y2)
    s1, s2 = win(c1, w), win(c2, w)  # (..., n-w+1)
    mu = s1 / w  # window mean of y
    mu2 = mu * mu
    m2 = s2 / w - mu2  # biased (population) central moments from raw ones
    ok = m2 > DEGENERATE * scale
    m2 = np.where(ok, m2, 0.0)
    stats = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if {"var", "std", "cv"} & set(names):
            stats["var"] = m2 * w / (w - 1)
            stats["std"] = np.sqrt(stats["var"])
        if "cv" in names:  # denominator: rolling mean of the raw series (or of x itself)
            mean = mu + x.mean(axis=-1, keepdims=True) if level is None else win(cum(level), w) / w
            stats["cv"] = np.where(mean != 0, stats["std"] / np.abs(mean), np.nan)
        if {"skew", "kurt"} & set(names):
            s3 = win(cum(y2 * y), w)
            m3 = s3 / w - mu * (3 * s2 / w - 2 * mu2)  # products, not powers: ** 3 is ~10x slower
            stats["skew"] = np.where(ok, m3 / (m2 * np.sqrt(m2)), np.nan)
        if "kurt" in names:
            s4 = win(cum(y2 * y2), w)
            m4 = s4 / w - mu * (4 * s3 / w - mu * (6 * s2 / w - 3 * mu2))
            stats["kurt"] = np.where(ok, m4 / m2**2 - 3.0, np.nan)
        if not bias:  # the sample estimators G1, G2 (pandas' rolling skew/kurt, hence ewstools')
            if "skew" in stats:
                stats["skew"] = stats["skew"] * np.sqrt(w * (w - 1.0)) / (w - 2.0)
            if "kurt" in stats:
                stats["kurt"] = ((w + 1.0) * stats["kurt"] + 6.0) * (w - 1.0) / ((w - 2.0) * (w - 3.0))
        if "ac1" in names:
            # pairs (a, b) = (y[t], y[t-lag]) with both inside the window: the last k = w - lag t's
            k = w - lag
            prod = np.zeros_like(y)
            prod[..., lag:] = y[..., lag:] * y[..., :-lag]
            sa, sb = win(c1, k), win(c1, k, lag)  # b runs over the same k positions, lag earlier
            va = win(c2, k) / k - (sa / k) ** 2
            vb = win(c2, k, lag) / k - (sb / k) ** 2
            cov = win(cum(prod), k) / k - (sa / k) * (sb / k)
            good = (va > DEGENERATE * scale) & (vb > DEGENERATE * scale)
            stats["ac1"] = np.where(good, np.clip(cov / np.sqrt(va * vb), -1.0, 1.0), np.nan)
    full = np.full((len(names),) + x.shape, np.nan)  # (k, ..., n), NaN before the first full window
    for i, name in enumerate(names):
        full[i, ..., w - 1 :] = stats[name]
    return dict(zip(names, full))  # views of one block: indicators() frames it without a copy


def rolling(x, window, lag=1, which=INDICATORS, bias=True):
    """Rolling-window indicators of x (1-D, or 2-D with one series per row), {name: array like x}.

    window: a fraction of the series length in (0, 1] or an int number of samples >= 3; the
    value at index i uses x[i-w+1 .. i] and is NaN before the first full window (i < w-1).
    Indicators: var, std (ddof=1), cv (std / |mean| of x itself), ac1 (lag-`lag` Pearson
    autocorrelation within the window), skew, kurt (kurt in excess). Detrend first.
    bias=True: skew and kurt are the population moments (scipy.stats' default); bias=False: the
    sample estimators G1, G2 (pandas' rolling skew/kurt, ewstools). Kendall tau is the same for
    both: for a fixed window one is an increasing linear function of the other.
    """
    x = _as_array("x", x, (1, 2))
    names = _names(which)
    w = _window(window, x.shape[-1], lag)
    _check_bias(bias, w, names)
    _check_fluctuates(x - x.mean(axis=-1, keepdims=True), x)
    return _rolling(x, w, lag, names, bias=bool(bias))


def _check_bias(bias, w, names):
    if not isinstance(bias, (bool, np.bool_)):
        raise UserError(f"bias must be True or False, got {bias!r}")
    if not bias and "kurt" in names and w < 4:
        raise UserError(f"the sample kurtosis (bias=False) needs a window of at least 4 samples, got {w}")


def _pipeline(x, w, lag, names, method, dk, bias=True):
    """Detrend (options dk) then rolling indicators; every result aligned with x (..., n). Also
    the residuals."""
    resid = x - _trend(x, method, **dk)
    if method != "diff":
        return _rolling(resid, w, lag, names, level=x, bias=bias), resid
    # the first difference has no value at index 0: roll over the rest, pad the front back
    out = _rolling(resid[..., 1:], w, lag, names, level=x[..., 1:], bias=bias)
    block = np.stack([out[k] for k in names])  # (k, ..., n-1)
    block = np.concatenate([np.full(block.shape[:-1] + (1,), np.nan), block], axis=-1)
    return dict(zip(names, block)), resid


def _check_common(x, window, lag, which, method, dk, null=None):
    names = _names(which)
    _check_detrend(method, dk["edge"], dk["sigma_points"], dk["robust_iters"])
    if null is not None:
        _choice("null model", null, NULLS)
    return names, _window(window, len(x), lag)


def indicators(x, window=0.5, lag=1, which=INDICATORS, detrend="gaussian", bandwidth=BANDWIDTH, span=0.25,
               index=None, edge="reflect", sigma_points=None, robust_iters=0, bias=True):  # fmt: skip
    """DataFrame of rolling indicators of the 1-D series x, one column per name in `which`,
    aligned with x (index = `index`, e.g. the steps, else 0..n-1). x is detrended first (see
    `detrend` for bandwidth, span, edge, sigma_points, robust_iters) and the indicators are
    computed on the residuals (see `rolling` for bias); "cv" divides by the rolling mean of
    the raw x."""
    import pandas as pd

    x = _as_array("x", x)
    dk = dict(bandwidth=bandwidth, span=span, edge=edge, sigma_points=sigma_points, robust_iters=robust_iters)
    names, w = _check_common(x, window, lag, which, detrend, dk)
    _check_bias(bias, w, names)
    if index is not None and len(index) != len(x):
        raise UserError(f"index has {len(index)} entries but x has {len(x)}; pass one label per point")
    out, resid = _pipeline(x, w, lag, names, detrend, dk, bool(bias))
    _check_fluctuates(resid, x)
    index = pd.RangeIndex(len(x)) if index is None else index
    block = out[names[0]].base  # _pipeline's (k, n) block; the frame wraps its transpose, no copy
    if block is None or block.shape != (len(names), len(x)):
        block = np.stack([out[k] for k in names])
    return pd.DataFrame(block.T, index=index, columns=list(names), copy=False)


# ------------------------------------------------------------------ Kendall trend

def kendall_trend(series) -> float:
    """Kendall's tau-b of a 1-D series against time, ignoring NaNs (e.g. the leading NaNs of
    rolling indicators). 1 for a strictly increasing series, -1 for a decreasing one, NaN for a
    constant one (or fewer than 2 values): tau is undefined when nothing varies."""
    y = _as_array("series", series, allow_nan=True)
    return float(_kendall.kendall_rows(y[~np.isnan(y)][None, :])[0])


def kendall_trend_rows(A) -> np.ndarray:
    """kendall_trend of each row of A (m, n), vectorised: (m,). Columns NaN in every row (a
    common NaN prefix, as surrogates' indicators have) are dropped; rows with other NaNs are
    done one by one."""
    A = _as_array("A", A, (2,), allow_nan=True)
    nan = np.isnan(A)
    keep = np.flatnonzero(~nan.all(axis=0))
    if len(keep) and keep[-1] - keep[0] == len(keep) - 1:  # one run (a NaN prefix): a view, no copy
        keep = slice(keep[0], keep[-1] + 1)
    A, nan = A[:, keep], nan[:, keep]
    holes = nan.any(axis=1)
    if not holes.any():
        return _kendall.kendall_rows(A)
    out = np.empty(len(A))
    out[~holes] = _kendall.kendall_rows(A[~holes])
    out[holes] = [kendall_trend(row) for row in A[holes]]
    return out


# ------------------------------------------------------------------ surrogate test

def _fit_null(r, null):
    """(phi, theta, sigma) of an AR(1) (theta = 0) or ARMA(1,1) fitted to residuals r."""
    r = r - r.mean()
    if null == "ar1":  # least squares of r_t on r_{t-1}
        phi, theta = (r[1:] @ r[:-1]) / (r[:-1] @ r[:-1]), 0.0
        e = r[1:] - phi * r[:-1]
    else:
        # Hannan-Rissanen: a long AR(p) estimates the innovations, then least squares of
        # r_t on (r_{t-1}, e_{t-1}) gives phi and theta
        p = min(10, max(1, len(r) // 5))
        X = np.lib.stride_tricks.sliding_window_view(r, p)[:-1, ::-1]  # (n-p, p): r_{t-1} .. r_{t-p}
        e_hat = r[p:] - X @ np.linalg.lstsq(X, r[p:], rcond=None)[0]  # innovations for t = p..n-1
        Z = np.column_stack([r[p:-1], e_hat[:-1]])  # (n-p-1, 2)
        phi, theta = np.linalg.lstsq(Z, r[p + 1 :], rcond=None)[0]
        e = r[p + 1 :] - Z @ (phi, theta)
    phi, theta = float(np.clip(phi, -COEF_MAX, COEF_MAX)), float(np.clip(theta, -COEF_MAX, COEF_MAX))
    return phi, theta, float(e.std())


def _simulate(phi, theta, sigma, n, m, rng):
    """m stationary ARMA(1,1) series of length n: x_t = phi x_{t-1} + e_t + theta e_{t-1}. (m, n)"""
    e = sigma * rng.standard_normal((n, m))  # time-major: each step below is one contiguous row
    x = np.empty((n, m))
    # exact stationary start: cov(x_0, e_0) = sigma^2, var(x_0) - sigma^2 = sigma^2 (phi+theta)^2/(1-phi^2)
    x[0] = e[0] + sigma * abs(phi + theta) / np.sqrt(1 - phi**2) * rng.standard_normal(m)
    drive = e[1:] + theta * e[:-1]  # (n-1, m)
    for t in range(1, n):  # the AR recursion is sequential in time, vectorised across series
        x[t] = phi * x[t - 1] + drive[t - 1]
    return x.T


def surrogate_test(x, n=100, null="ar1", window=0.5, lag=1, which=("var", "ac1"), detrend="gaussian",
                   bandwidth=BANDWIDTH, span=0.25, seed=0, edge="reflect", sigma_points=None,
                   robust_iters=0):  # fmt: skip
    """Is each indicator's rise (Kendall tau) larger than a stationary null model gives?

    Fits `null` ("ar1" or "arma" = ARMA(1,1)) to the detrended residuals of x, simulates n
    surrogate residual series (np.random.default_rng(seed)), adds them to the trend of x, and
    runs every surrogate through the same detrend + rolling + Kendall pipeline. One row per
    indicator: indicator, tau (observed), null_mean, null_std, null_q95 (of surrogate taus),
    p_value = (1 + #{surrogate tau >= tau}) / (n + 1) (one-sided: a rise), n_surrogates.
    """
    import pandas as pd

    x = _as_array("x", x)
    dk = dict(bandwidth=bandwidth, span=span, edge=edge, sigma_points=sigma_points, robust_iters=robust_iters)
    names, w = _check_common(x, window, lag, which, detrend, dk, null)
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise UserError(f"n (surrogates) must be a whole number >= 1, got {n!r}; 100 or more is usual")
    obs, resid = _pipeline(x, w, lag, names, detrend, dk)
    _check_fluctuates(resid, x)
    r = resid[1:] if detrend == "diff" else resid  # (n_r,) finite residuals
    phi, theta, sigma = _fit_null(r, null)
    sim = r.mean() + _simulate(phi, theta, sigma, len(r), n, np.random.default_rng(seed))  # (n, n_r)
    if detrend == "diff":  # integrate the simulated differences from the same start
        raw = x[0] + np.concatenate([np.zeros((n, 1)), np.cumsum(sim, axis=1)], axis=1)
    else:  # the observed trend plus stationary residuals: same trend, no slowing down
        raw = (x - resid) + sim
    sur, _ = _pipeline(raw, w, lag, names, detrend, dk)
    rows = []
    for name in names:
        tau = kendall_trend(obs[name])
        taus = kendall_trend_rows(sur[name])
        taus = taus[np.isfinite(taus)]
        rows.append({"indicator": name, "tau": tau,
                     "null_mean": taus.mean() if len(taus) else np.nan,
                     "null_std": taus.std(ddof=1) if len(taus) > 1 else np.nan,
                     "null_q95": np.quantile(taus, 0.95) if len(taus) else np.nan,
                     "p_value": (1 + np.sum(taus >= tau)) / (len(taus) + 1) if np.isfinite(tau) else np.nan,
                     "n_surrogates": len(taus)})  # fmt: skip
    return pd.DataFrame(rows)


def early_warning(steps, values, until=None, window=0.5, which=("var", "ac1"), detrend="gaussian",
                  bandwidth=BANDWIDTH, n_surrogates=100, null="ar1", seed=0, lag=1, span=0.25, edge="reflect",
                  sigma_points=None, robust_iters=0) -> dict:  # fmt: skip
    """EWS of a transition: indicators and surrogate tests over the points with steps < until
    (the pre-transition stretch; until=None uses the whole series).

    Returns {"indicators": DataFrame (step + one column per indicator), "tests": DataFrame from
    surrogate_test, "n_points": points used, "until": until}.
    """
    t, v = _as_array("steps", steps), _as_array("values", values)
    if len(t) != len(v):
        raise UserError(f"steps and values have different lengths ({len(t)} vs {len(v)}); "
                        f"pass one value per step")  # fmt: skip
    if np.any(np.diff(t) <= 0):
        raise UserError("steps must be strictly increasing; sort the series or drop duplicate steps")
    if until is not None:
        keep = t < until
        t, v = t[keep], v[keep]
    kw = dict(window=window, lag=lag, which=which, detrend=detrend, bandwidth=bandwidth, span=span, edge=edge,
              sigma_points=sigma_points, robust_iters=robust_iters)
    ind = indicators(v, **kw)
    ind.insert(0, "step", t)
    tests = surrogate_test(v, n=n_surrogates, null=null, seed=seed, **kw)
    return {"indicators": ind, "tests": tests, "n_points": len(v), "until": until}


from emergelab.measures.ews_classifier import classify  # noqa: E402,F401  (Bury et al. 2021; torch loads on first use)
