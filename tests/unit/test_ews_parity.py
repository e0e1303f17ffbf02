"""Parity of emergelab.measures.ews with ewstools on the same inputs and settings.

With ewstools installed (the `dev` extra) the lab is compared with ewstools itself; without it,
with `reference`, which makes the very calls ewstools makes (scipy.ndimage.gaussian_filter with
mode="reflect" and ksmooth's sd = (0.25 / 0.675) * bandwidth, pandas' rolling var/std/mean/
skew/kurt, a per-window pandas autocorr, scipy's Kendall tau), so the same numbers are checked
either way. Acceptance: rolling statistics and tau within 1e-10 relative; detrended residuals
within 1e-6 relative (to the largest residual). ewstools' cv divides by the signed rolling mean
and the lab by its absolute value, so the series here stay positive.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage, stats

from emergelab.measures.ews import INDICATORS, detrend, indicators, kendall_trend

EWSTOOLS_NAMES = {"var": "variance", "std": "std", "cv": "cv", "ac1": "ac1", "skew": "skew", "kurt": "kurtosis"}
WINDOW, BANDWIDTH, SPAN = 0.25, 0.2, 0.2  # ewstools' defaults (rolling window, bandwidth, span)


def series(n=800, seed=0):
    """A slowing-down AR(1) on a curved trend, offset to stay positive."""
    rng = np.random.default_rng(seed)
    phi = np.linspace(0.2, 0.9, n)
    x = np.zeros(n)
    e = rng.standard_normal(n)
    for t in range(1, n):
        x[t] = phi[t] * x[t - 1] + e[t]
    return 50.0 + 3.0 * np.sin(np.linspace(0, 4, n)) + x


def reference(x, detrend_method=None):
    """ewstools' computation, written out from its source: (residuals, {indicator: values})."""
    n = len(x)
    if detrend_method == "Gaussian":
        resid = x - ndimage.gaussian_filter(x, sigma=(0.25 / 0.675) * BANDWIDTH * n, mode="reflect")
    else:
        resid = x
    w = int(WINDOW * n)
    r, s = pd.Series(resid).rolling(w), pd.Series(x).rolling(w)
    out = {"var": r.var(), "std": r.std(), "cv": r.std() / s.mean(),
           "ac1": r.apply(lambda v: pd.Series(v).autocorr(lag=1), raw=True), "skew": r.skew(), "kurt": r.kurt()}  # fmt: skip
    return resid, {k: v.to_numpy() for k, v in out.items()}


def ewstools_run(x, detrend_method=None):
    """The same through ewstools itself: (residuals, {indicator: values}, {indicator: tau})."""
    ewstools = pytest.importorskip("ewstools")
    ts = ewstools.TimeSeries(x)
    if detrend_method:
        ts.detrend(method=detrend_method, bandwidth=BANDWIDTH, span=SPAN)
    for f in (ts.compute_var, ts.compute_std, ts.compute_cv, ts.compute_auto, ts.compute_skew, ts.compute_kurt):
        f(rolling_window=WINDOW)
    ts.compute_ktau()
    resid = ts.state["residuals"].to_numpy() if detrend_method else x
    ind = {k: ts.ews[v].to_numpy() for k, v in EWSTOOLS_NAMES.items()}
    return resid, ind, {k: ts.ktau[v] for k, v in EWSTOOLS_NAMES.items()}


def assert_rolling_close(got, want):
    for k in INDICATORS:
        np.testing.assert_array_equal(np.isnan(got[k]), np.isnan(want[k]), err_msg=k)
        ok = ~np.isnan(want[k])
        scale = np.abs(want[k][ok]).max()  # relative to the indicator's size: skew crosses 0
        np.testing.assert_allclose(got[k][ok], want[k][ok], rtol=1e-10, atol=1e-10 * scale, err_msg=k)


def lab(x, method):
    return indicators(x, window=WINDOW, detrend=method, bandwidth=BANDWIDTH, bias=False)


def test_rolling_matches_reference():
    x = series()
    _, want = reference(x)
    assert_rolling_close(lab(x, "none"), want)


def test_gaussian_detrend_matches_reference():
    x = series(seed=1)
    resid, want = reference(x, "Gaussian")
    got = detrend(x, bandwidth=BANDWIDTH)
    assert np.abs(got - resid).max() <= 1e-6 * np.abs(resid).max()
    assert_rolling_close(lab(x, "gaussian"), want)
    for k in INDICATORS:  # tau: scipy's, as ewstools' pandas corrwith(method="kendall")
        ok = ~np.isnan(want[k])
        assert kendall_trend(lab(x, "gaussian")[k]) == pytest.approx(
            stats.kendalltau(np.arange(ok.sum()), want[k][ok]).statistic, abs=1e-10)  # fmt: skip


def test_lowess_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.nonparametric.smoothers_lowess")  # comes with ewstools
    x = series(n=400, seed=2)
    x[[50, 200]] += 15.0  # outliers: the robustness passes matter
    for it in (0, 3):
        want = x - sm.lowess(x, np.arange(400.0), frac=SPAN, it=it, return_sorted=False)
        got = detrend(x, "lowess", span=SPAN, robust_iters=it)
        assert np.abs(got - want).max() <= 1e-6 * np.abs(want).max()


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("method", [None, "Gaussian", "Lowess"])
def test_matches_ewstools(method):
    x = series(seed=3)
    resid, want, taus = ewstools_run(x, method)
    kw = dict(detrend={"Gaussian": "gaussian", "Lowess": "lowess", None: "none"}[method], span=SPAN,
              robust_iters=3)  # ewstools' LOWESS is statsmodels' with its default 3 robust passes
    got_resid = detrend(x, kw["detrend"], bandwidth=BANDWIDTH, span=SPAN, robust_iters=3)
    assert np.abs(got_resid - resid).max() <= 1e-6 * np.abs(resid).max()
    got = indicators(x, window=WINDOW, bandwidth=BANDWIDTH, bias=False, **kw)
    assert_rolling_close(got, want)
    for k in INDICATORS:
        assert kendall_trend(got[k]) == pytest.approx(taus[k], abs=1e-10), k
