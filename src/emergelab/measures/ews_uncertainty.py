"""How sure is an early-warning trend? Block-bootstrap intervals for Kendall tau, and the
sensitivity of tau to the analyst's choices (rolling window x detrending bandwidth).

Bootstrap. An indicator computed over overlapping windows is strongly autocorrelated, so an
i.i.d. bootstrap would understate the spread of tau. The (time, value) pairs are resampled in
blocks that wrap around the end, and tau-b of each resample is computed:
- "stationary": blocks of geometric length with mean `block` (Politis & Romano, "The
  stationary bootstrap", JASA 89, 1994);
- "circular": blocks of exactly `block` points (Politis & Romano, "A circular block-resampling
  procedure for stationary data", 1992).
Kendall tau is a U-statistic, for which block bootstraps of mixing data are consistent
(Dehling & Wendler, J. Multivariate Anal. 101, 2010). A resample repeats some time points;
those pairs are tied in time and in value, and tau-b's denominator discounts them exactly.
Default block: n^(1/3) (the rate of Hall, Horowitz & Jing, Biometrika 1995); for a rolling
indicator pass about the window length, the span over which its values share data.

Sensitivity. Dakos et al. ("Methods for detecting early warnings of critical transitions in
time series illustrated using simulated ecological data", PLoS ONE 7, 2012) showed that tau
moves with the rolling window and the detrending bandwidth, and advised reporting it over a
grid of both. `sensitivity` does that through ews.indicators / ews.surrogate_test, so the
bandwidth means whatever ews.detrend says it means.
"""

from __future__ import annotations

import numbers

import numpy as np

from emergelab.errors import UserError
from emergelab.measures import ews
from emergelab.measures.ews_entropy import _int

BOOT_METHODS = ("stationary", "circular")


def block_bootstrap_indices(n, n_boot, block, method="stationary", seed=0):
    """(n_boot, n) resampled positions 0..n-1, blocks wrapping around the end."""
    rng = np.random.default_rng(seed)
    if method == "circular":
        b = max(1, int(round(block)))
        nb = -(-n // b)
        starts = rng.integers(0, n, size=(n_boot, nb, 1))
        return ((starts + np.arange(b)) % n).reshape(n_boot, nb * b)[:, :n]
    t = np.arange(n)
    new = rng.random((n_boot, n)) < 1.0 / block  # a new block starts here (probability 1/block)
    new[:, 0] = True
    start = rng.integers(0, n, size=(n_boot, n))
    last = np.maximum.accumulate(np.where(new, t, 0), axis=1)  # where the current block began
    return (np.take_along_axis(start, last, axis=1) + t - last) % n


def bootstrap_taus(series, n_boot=1000, block=None, method="stationary", seed=0):
    """Kendall tau-b against time of n_boot block-bootstrap resamples of `series` (NaNs, e.g. a
    rolling indicator's leading ones, dropped first): (n_boot,)."""
    y = np.asarray(series, dtype=float)
    if y.ndim != 1:
        raise UserError(f"series must be 1-D, got shape {y.shape}")
    if np.isinf(y).any():
        raise UserError("series contains inf; drop those points first")
    y = y[~np.isnan(y)]  # Kendall tau uses only the order in time, which this keeps
    n = len(y)
    if n < 4:
        raise UserError(f"series has {n} non-NaN value(s): a bootstrap of a trend needs at least 4")
    if np.ptp(y) == 0:
        raise UserError("series is constant: Kendall tau is undefined; check the indicator")
    n_boot = _int("n_boot", n_boot, 10)
    if method not in BOOT_METHODS:
        raise UserError(f"unknown bootstrap method {method!r}; use one of {', '.join(BOOT_METHODS)}")
    block = n ** (1 / 3) if block is None else block
    if not isinstance(block, numbers.Real) or isinstance(block, bool) or not 1 <= block <= n:
        raise UserError(f"block must be a (mean) block length from 1 to the {n} points, got {block!r}")
    idx = np.sort(block_bootstrap_indices(n, n_boot, float(block), method, seed), axis=1)
    # time order, so tau against position is tau against time; repeated points (same index)
    # are tied in time, which kendall_trend_rows does not know: correct its denominator
    tau = ews.kendall_trend_rows(y[idx])
    n0 = n * (n - 1) / 2
    same = np.zeros(idx.shape, bool)
    same[:, 1:] = idx[:, 1:] == idx[:, :-1]
    run = np.arange(n) - np.maximum.accumulate(np.where(same, 0, np.arange(n)), axis=1)
    n1 = run.sum(axis=1)  # each repeat is tied with the copies before it: sum c(c-1)/2 per point
    return tau * np.sqrt(n0 / (n0 - n1))


def kendall_ci(series, n_boot=1000, block=None, method="stationary", level=0.9, seed=0):
    """Kendall tau of `series` against time with a block-bootstrap percentile interval.
    Returns {tau, lo, hi, se, level, block, method, n_boot}; tau as ews.kendall_trend."""
    if not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise UserError(f"level must be in (0, 1), e.g. 0.9 for a 90% interval, got {level!r}")
    taus = bootstrap_taus(series, n_boot, block, method, seed)
    taus = taus[np.isfinite(taus)]
    n = int(np.sum(~np.isnan(np.asarray(series, float))))
    lo, hi = np.quantile(taus, [(1 - level) / 2, (1 + level) / 2])
    return {"tau": ews.kendall_trend(series), "lo": float(lo), "hi": float(hi), "se": float(taus.std(ddof=1)),
            "level": level, "block": n ** (1 / 3) if block is None else block, "method": method,
            "n_boot": len(taus)}  # fmt: skip


def sensitivity(x, windows=(0.25, 0.375, 0.5, 0.625, 0.75), bandwidths=(0.05, 0.1, 0.2, 0.3, 0.5),
                indicator="ac1", detrend="gaussian", n_surrogates=0, seed=0, **kw):  # fmt: skip
    """Kendall tau of one indicator of x over the grid windows x bandwidths: a DataFrame with
    columns window, bandwidth, tau (and p_value, from ews.surrogate_test with n_surrogates
    AR(1) surrogates, if n_surrogates > 0). Other keywords go to ews.indicators /
    ews.surrogate_test (e.g. lag=, null=, edge=)."""
    import pandas as pd

    x = np.asarray(x, dtype=float)
    if not isinstance(indicator, str):
        raise UserError(f"indicator must be one name (e.g. 'ac1' or 'var'), got {indicator!r}")
    if len(windows) == 0 or len(bandwidths) == 0:
        raise UserError("give at least one window and one bandwidth")
    n_surrogates = _int("n_surrogates", n_surrogates, 0)
    rows = []
    for bw in bandwidths:  # a loop over grid cells: each is a whole vectorised pipeline
        for w in windows:
            common = dict(window=w, which=(indicator,), detrend=detrend, bandwidth=bw, **kw)
            if n_surrogates:
                r = ews.surrogate_test(x, n=n_surrogates, seed=seed, **common).iloc[0]
                rows.append({"window": w, "bandwidth": bw, "tau": r["tau"], "p_value": r["p_value"]})
            else:
                tau = ews.kendall_trend(ews.indicators(x, **common)[indicator].to_numpy())
                rows.append({"window": w, "bandwidth": bw, "tau": tau})
    return pd.DataFrame(rows)
