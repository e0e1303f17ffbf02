"""Tests for emergelab.measures.ews: hand-computed windows, per-window loops, scipy's Kendall tau,
and surrogate tests on series that do and do not slow down."""

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage, stats

from emergelab.errors import UserError
from emergelab.measures.ews import (
    INDICATORS,
    detrend,
    early_warning,
    indicators,
    kendall_trend,
    kendall_trend_rows,
    rolling,
    surrogate_test,
)


def loop(x, w, lag=1):
    """The plain per-window reference: numpy on each window x[i-w+1 .. i]."""
    out = {k: np.full(len(x), np.nan) for k in INDICATORS}
    for i in range(w - 1, len(x)):
        xw = x[i - w + 1 : i + 1]
        d = xw - xw.mean()
        m2 = np.mean(d**2)
        out["var"][i] = xw.var(ddof=1)
        out["std"][i] = xw.std(ddof=1)
        out["cv"][i] = xw.std(ddof=1) / abs(xw.mean())
        out["ac1"][i] = np.corrcoef(xw[lag:], xw[:-lag])[0, 1]
        out["skew"][i] = np.mean(d**3) / m2**1.5
        out["kurt"][i] = np.mean(d**4) / m2**2 - 3
    return out


def ar1(phi, n, seed):
    """x_t = phi_t x_{t-1} + e_t with phi a scalar or a per-step array."""
    phi = np.broadcast_to(phi, (n,))
    e = np.random.default_rng(seed).standard_normal(n)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi[t] * x[t - 1] + e[t]
    return x


# ------------------------------------------------------------------ rolling

def test_hand_computed_window():
    # the window at index 4 is [1, 2, 3, 4, 10]: mean 4, deviations -3 -2 -1 0 6
    x = np.array([1, 2, 3, 4, 10, 3, 1, 4, 1, 5], float)
    r = rolling(x, 5)
    assert np.isnan(r["var"][:4]).all()
    # sum of squares 50: var = 50/4, biased m2 = 10; cubes sum 180: m3 = 36; fourths 1394: m4 = 278.8
    assert r["var"][4] == pytest.approx(12.5, abs=1e-12)
    assert r["std"][4] == pytest.approx(3.5355339059327378, abs=1e-12)
    assert r["cv"][4] == pytest.approx(3.5355339059327378 / 4, abs=1e-12)
    assert r["skew"][4] == pytest.approx(36 / 10**1.5, abs=1e-12)  # 1.1384199576606167
    assert r["kurt"][4] == pytest.approx(278.8 / 100 - 3, abs=1e-12)  # -0.212
    # lag-1 pairs a = [2, 3, 4, 10], b = [1, 2, 3, 4]: cross-deviation sum 12.5, 38.75 and 5
    assert r["ac1"][4] == pytest.approx(12.5 / np.sqrt(38.75 * 5), abs=1e-12)  # 0.8980265101338746
    w = x[:5]  # the same numbers from numpy / scipy
    assert r["var"][4] == pytest.approx(np.var(w, ddof=1))
    assert r["skew"][4] == pytest.approx(stats.skew(w))
    assert r["kurt"][4] == pytest.approx(stats.kurtosis(w))
    assert r["ac1"][4] == pytest.approx(pd.Series(w).autocorr(1))


@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_rolling_matches_loop(offset):
    rng = np.random.default_rng(1)
    x = offset + 0.1 * rng.standard_normal(600).cumsum() + rng.standard_normal(600)  # a wandering series
    for w, lag in [(150, 1), (37, 3)]:
        got, want = rolling(x, w, lag=lag), loop(x, w, lag)
        for k in INDICATORS:
            np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-10, err_msg=k)


def test_rolling_offset_1e6():
    # At 1e6 the naive loop itself loses ~1e-10 in skew (its window mean carries 1e6 * eps), so the
    # reference is the loop on the exactly shifted values: x - 1e6 is exact in floating point.
    rng = np.random.default_rng(2)
    x = 1e6 + rng.standard_normal(500)
    got, want = rolling(x, 100), loop(x - 1e6, 100)
    for k in ("var", "std", "ac1", "skew", "kurt"):
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-10, err_msg=k)
    np.testing.assert_allclose(got["cv"], loop(x, 100)["cv"], rtol=1e-12)


def test_rolling_2d_matches_rows():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 300)) + np.arange(4)[:, None] * 100
    both = rolling(X, 0.25)
    for i in range(4):
        one = rolling(X[i], 0.25)
        for k in INDICATORS:
            np.testing.assert_allclose(both[k][i], one[k], rtol=0, atol=1e-12)
        np.testing.assert_allclose(both["ac1"][i], loop(X[i], 75)["ac1"], atol=1e-10)


def test_flat_window_inside_a_series():
    x = np.r_[np.random.default_rng(4).standard_normal(20), np.full(10, 3.0)]
    r = rolling(x, 5)
    assert r["var"][-1] == 0 and r["std"][-1] == 0
    assert np.isnan(r["ac1"][-1]) and np.isnan(r["skew"][-1]) and np.isnan(r["kurt"][-1])


def test_unbiased_moments_match_pandas_and_scipy():
    x = np.random.default_rng(19).standard_exponential(300)  # skewed: the corrections matter
    r = rolling(x, 40, bias=False)
    np.testing.assert_allclose(r["skew"], pd.Series(x).rolling(40).skew(), rtol=1e-10)
    np.testing.assert_allclose(r["kurt"], pd.Series(x).rolling(40).kurt(), rtol=1e-10)
    w = x[260:]
    assert r["skew"][-1] == pytest.approx(stats.skew(w, bias=False), rel=1e-12)
    assert r["kurt"][-1] == pytest.approx(stats.kurtosis(w, bias=False), rel=1e-12)
    biased = rolling(x, 40)
    assert kendall_trend(biased["kurt"]) == pytest.approx(kendall_trend(r["kurt"]), abs=1e-12)  # same tau


# ------------------------------------------------------------------ detrending

def test_linear_detrend_recovers_signal():
    n = 400
    t = np.arange(n)
    # a cosine symmetric about the centre, whole periods: orthogonal to both 1 and t
    s = 0.1 * np.cos(2 * np.pi * 5 * (t - (n - 1) / 2) / n)
    resid, trend = detrend(3.0 + 0.5 * t + s, "linear", return_trend=True)
    np.testing.assert_allclose(resid, s, atol=1e-10)
    np.testing.assert_allclose(trend, 3.0 + 0.5 * t, atol=1e-10)


def test_gaussian_detrend_removes_slow_trend():
    n = 2000
    noise = np.random.default_rng(5).normal(0, 0.1, n)
    resid = detrend(np.sin(np.pi * np.arange(n) / n) + noise, "gaussian", bandwidth=0.05)
    assert 0.095 < resid.std() < 0.11
    assert np.corrcoef(resid, noise)[0, 1] > 0.95


def test_gaussian_renormalise_is_nadaraya_watson():
    x = np.random.default_rng(6).standard_normal(50)
    sigma = (0.25 / 0.675) * 0.2 * 50  # the default bandwidth 0.2 in ksmooth units
    t = np.arange(50)

    def nw(s):
        K = np.exp(-0.5 * ((t[:, None] - t[None, :]) / s) ** 2)  # (n, n), untruncated
        return x - K @ x / K.sum(1)

    np.testing.assert_allclose(detrend(x, "gaussian", edge="renormalise"), nw(sigma), atol=1e-12)
    np.testing.assert_allclose(detrend(x, "gaussian", bandwidth=3, edge="renormalise"),
                               nw(3 * 0.25 / 0.675), atol=1e-12)  # an int: ksmooth bandwidth in samples
    np.testing.assert_allclose(detrend(x, "gaussian", sigma_points=3.0, edge="renormalise"), nw(3.0), atol=1e-12)


@pytest.mark.parametrize("n,sigma", [(50, 1.5), (200, 7.3), (300, 40.0), (37, 100.0)])
def test_gaussian_reflect_is_scipy_gaussian_filter(n, sigma):
    # ewstools calls scipy.ndimage.gaussian_filter(mode="reflect"): mirrored ends, kernel cut at
    # 4 sd. sigma > n: the kernel runs past the mirror image too, and keeps mirroring.
    x = np.random.default_rng(16).standard_normal(n).cumsum()
    want = x - ndimage.gaussian_filter1d(x, sigma, mode="reflect")
    np.testing.assert_allclose(detrend(x, sigma_points=sigma), want, rtol=0, atol=1e-12 * np.abs(x).max())
    bw = sigma / n / (0.25 / 0.675)  # the same kernel as a ksmooth bandwidth fraction
    if bw <= 1:
        np.testing.assert_allclose(detrend(x, bandwidth=bw), want, rtol=0, atol=1e-12 * np.abs(x).max())


def test_edge_modes_differ_only_near_the_ends():
    x = np.random.default_rng(17).standard_normal(400) + np.linspace(0, 5, 400)
    a, b = detrend(x, sigma_points=8.0), detrend(x, sigma_points=8.0, edge="renormalise")
    # 5 sd in: the same smooth, but for reflect's cut at 4 sd (6e-5 of the kernel's mass)
    np.testing.assert_allclose(a[40:-40], b[40:-40], atol=1e-3)
    assert np.abs(a[:5] - b[:5]).max() > 5e-3  # at the ends they differ


def lowess_loop(x, k, robust_iters=0):
    """statsmodels' LOWESS written out point by point: the window of k points starting at
    i - k//2 (clamped), tricube weights reaching 0 at the farthest point, a weighted straight
    line; then robust passes reweighting by the bisquare of residual / (6 median |residual|)."""
    n = len(x)
    rw = np.ones(n)
    for it in range(robust_iters + 1):
        fit = np.empty(n)
        for i in range(n):
            lo = min(max(i - k // 2, 0), n - k)
            d = np.arange(lo, lo + k) - i
            w = (1 - (np.abs(d) / np.abs(d).max()) ** 3) ** 3 * rw[lo : lo + k]
            if (w > 1e-12).sum() < 2:
                fit[i] = x[i]
                continue
            A = np.column_stack([np.ones(k), d]) * np.sqrt(w)[:, None]
            fit[i] = np.linalg.lstsq(A, x[lo : lo + k] * np.sqrt(w), rcond=None)[0][0]
        if it < robust_iters:
            res = np.abs(x - fit)
            u = np.minimum(res / (6 * np.median(res)), 1)
            rw = (1 - u**2) ** 2
    return fit


@pytest.mark.parametrize("n,span,iters", [(60, 0.25, 0), (61, 10, 0), (40, 1.0, 0), (1200, 1.0, 0), (60, 16, 3),
                                          (300, 0.3, 1), (500, 3, 0)])  # fmt: skip
def test_lowess_matches_loop(n, span, iters):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((2, n)).cumsum(1) + rng.standard_t(2, (2, n))  # heavy tails: robustness bites
    k = span if isinstance(span, int) else int(span * n + 1e-9)
    resid = detrend(X, "lowess", span=span, robust_iters=iters)
    for i in range(2):
        np.testing.assert_allclose(resid[i], X[i] - lowess_loop(X[i], k, iters), atol=1e-9)
    line = 2.0 - 0.3 * np.arange(n)
    np.testing.assert_allclose(detrend(line, "lowess", span=span, robust_iters=iters), 0, atol=1e-9)


def test_robust_lowess_ignores_an_outlier():
    x = np.sin(np.linspace(0, 3, 200)) + 0.01 * np.random.default_rng(18).standard_normal(200)
    x[100] += 50.0
    plain = detrend(x, "lowess", span=0.2, return_trend=True)[1]
    robust = detrend(x, "lowess", span=0.2, robust_iters=3, return_trend=True)[1]
    assert np.abs(plain[95:106] - np.sin(np.linspace(0, 3, 200))[95:106]).max() > 1.0  # dragged up
    assert np.abs(robust - np.sin(np.linspace(0, 3, 200))).max() < 0.05


def test_diff_and_none():
    x = np.array([1.0, 4.0, 2.0, 7.0])
    r = detrend(x, "diff")
    assert np.isnan(r[0]) and r[1:].tolist() == [3.0, -2.0, 5.0]
    assert detrend(x, "none").tolist() == x.tolist()


# ------------------------------------------------------------------ Kendall

def test_kendall_monotone_and_constant():
    assert kendall_trend(np.arange(20.0) ** 2) == 1.0
    assert kendall_trend(-np.arange(20.0)) == -1.0
    assert kendall_trend([np.nan, np.nan, 1, 2, 3]) == 1.0
    assert np.isnan(kendall_trend(np.full(5, 2.0)))


def test_kendall_matches_scipy_with_ties():
    rng = np.random.default_rng(8)
    # 31-33: around the first merge block; 300,000: keys too wide for int32
    for n, levels in [(2, 10), (3, 2), (17, 4), (31, 3), (32, 3), (33, 10**9), (100, 5), (1000, 30), (777, 10**9),
                      (300_000, 1000)]:  # fmt: skip
        y = rng.integers(0, levels, n).astype(float)
        want = stats.kendalltau(np.arange(n), y).statistic
        assert kendall_trend(y) == pytest.approx(want, abs=1e-12)


def test_kendall_rows_match_per_row():
    rng = np.random.default_rng(9)
    A = np.round(rng.standard_normal((6, 300)).cumsum(1), 1)  # some ties
    A[:, :40] = np.nan  # common NaN prefix, as rolling indicators have
    A[5, 100] = np.nan  # a hole in one row: done on its own
    got = kendall_trend_rows(A)
    want = [kendall_trend(row) for row in A]
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got[0] == pytest.approx(stats.kendalltau(np.arange(260), A[0, 40:]).statistic, abs=1e-12)


def scipy_tau(y):
    """scipy's tau-b of y against time over its finite points (NaN when undefined)."""
    ok = ~np.isnan(y)
    if ok.sum() < 2:
        return np.nan
    return stats.kendalltau(np.flatnonzero(ok), y[ok]).statistic


# lengths: tiny, odd, around the sort-row size (64) and the merge levels, and past 2^15 (wider keys)
TAU_LENGTHS = (1, 2, 3, 4, 5, 7, 31, 63, 64, 65, 129, 255, 257, 1001, 4097, 16385, 32769)


@pytest.mark.parametrize("n", TAU_LENGTHS)
def test_kendall_rows_exact_vs_scipy(n):
    """Random, tied, constant, signed-zero and last-bit-apart rows, all at once and one by one."""
    rng = np.random.default_rng(n)
    rows = [rng.standard_normal(n),  # no ties
            rng.standard_normal(n).cumsum(),  # a trend
            rng.integers(0, 4, n) * 1.0,  # heavy ties
            np.round(rng.standard_normal(n), 1) * 1e-300,  # ties among tiny values
            np.where(np.arange(n) % 7 == 3, 1.0, np.where(rng.random(n) < 0.5, -0.0, 0.0)),  # -0.0 ties 0.0
            1.0 + rng.integers(0, 3, n) * np.finfo(float).eps,  # values a bit apart
            -np.exp(rng.standard_normal(n) * 30),  # negative, a wide range
            np.full(n, 2.5)]  # constant: tau undefined
    A = np.array(rows)
    want = np.array([scipy_tau(r) for r in A])
    for got in (kendall_trend_rows(A), np.array([kendall_trend(r) for r in A])):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_kendall_rows_nan_and_duplicate_rows():
    rng = np.random.default_rng(11)
    A = rng.standard_normal((7, 203)).cumsum(1)
    A[:, :17] = np.nan  # common NaN prefix: dropped
    A[1, 50:60] = np.nan  # holes in one row: done on its own, NaNs ignored
    A[2] = A[0] ** 3  # same order as row 0 (a monotone function): counted once
    A[3] = np.sqrt(A[0] - np.nanmin(A[0]))  # sqrt: may add ties; tau must still be its own
    A[4, -5:] = np.nan  # a NaN suffix in one row only
    A[5] = A[0]
    A[6] = np.nan  # nothing to rank: NaN
    got = kendall_trend_rows(A)
    want = np.array([scipy_tau(r) for r in A])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert np.isnan(kendall_trend([np.nan, 1.0])) and np.isnan(kendall_trend([]))


# ------------------------------------------------------------------ indicators and surrogates

def test_indicators_frame():
    x = np.random.default_rng(10).standard_normal(200) + 10
    steps = np.arange(200) * 5
    df = indicators(x, window=0.25, index=steps)
    assert list(df.columns) == list(INDICATORS) and (df.index == steps).all()
    assert df["var"].isna().sum() == 49
    resid = detrend(x)
    want = loop(resid, 50)
    np.testing.assert_allclose(df["ac1"], want["ac1"], atol=1e-10)
    # cv: sd of the residuals over the mean of the raw series
    raw_mean = pd.Series(x).rolling(50).mean().to_numpy()
    np.testing.assert_allclose(df["cv"], want["std"] / np.abs(raw_mean), atol=1e-10)
    d = indicators(x, window=20, which=["ac1"], detrend="diff")
    assert list(d.columns) == ["ac1"] and d["ac1"].isna().sum() == 20  # NaN at 0, then a window


def test_surrogates_null_series_not_significant():
    for x in (np.random.default_rng(11).standard_normal(600), ar1(0.6, 600, 12)):
        tests = surrogate_test(x, n=99, seed=1)
        assert list(tests.columns) == ["indicator", "tau", "null_mean", "null_std", "null_q95", "p_value",
                                       "n_surrogates"]  # fmt: skip
        assert (tests["p_value"] > 0.05).all() and (tests["n_surrogates"] == 99).all()


def test_surrogates_detect_slowing_down():
    x = ar1(np.linspace(0.1, 0.95, 1000), 1000, 13)
    for null in ("ar1", "arma"):
        tests = surrogate_test(x, n=99, null=null).set_index("indicator")
        assert tests.loc["ac1", "tau"] > 0.5 and tests.loc["ac1", "p_value"] < 0.05
        assert tests.loc["ac1", "p_value"] == pytest.approx(0.01)  # no surrogate came close
        assert tests.loc["ac1", "null_q95"] < tests.loc["ac1", "tau"]


def test_surrogates_seeded():
    x = ar1(0.5, 300, 14)
    a = surrogate_test(x, n=50, seed=3, detrend="lowess")
    pd.testing.assert_frame_equal(a, surrogate_test(x, n=50, seed=3, detrend="lowess"))
    assert not a["null_mean"].equals(surrogate_test(x, n=50, seed=4, detrend="lowess")["null_mean"])
    d = surrogate_test(x, n=20, detrend="diff", which="kurt")
    assert d["indicator"].tolist() == ["kurt"] and 0 < d["p_value"].iloc[0] <= 1


def test_early_warning_restricts_to_before_until():
    steps = np.arange(0, 3000, 3)
    values = ar1(np.linspace(0.1, 0.95, len(steps)), len(steps), 15)
    res = early_warning(steps, values, until=2400, n_surrogates=30)
    assert res["n_points"] == 800 and res["until"] == 2400
    ind = res["indicators"]
    assert list(ind.columns) == ["step", "var", "ac1"] and ind["step"].max() < 2400
    assert res["tests"]["indicator"].tolist() == ["var", "ac1"]
    assert early_warning(steps, values, n_surrogates=5)["n_points"] == len(steps)


# ------------------------------------------------------------------ bad input

SAW = np.arange(50.0) % 7  # 50 points that fluctuate
HOLES = np.r_[1.0, np.nan, 2.0, np.inf].repeat(5)


@pytest.mark.parametrize("call,match", [
    (lambda: rolling(np.arange(30.0), 20), r"series too short for EWS: 30 points with a window of 20 needs "
                                           r"at least 40; use a smaller window or a longer series"),
    (lambda: indicators(HOLES), r"x contains 10 NaN/inf value\(s\), the first at index 5"),
    (lambda: rolling([[1.0, 2, 3, 4, 5, 6], [1, 2, np.nan, 4, 5, 6]], 3), r"first at index \(1, 2\)"),
    (lambda: indicators(np.full(50, 3.0)), r"series is constant"),
    (lambda: indicators(np.arange(50.0), detrend="linear"), r"series is constant"),
    (lambda: rolling([np.ones(10), np.arange(10.0)], 3), r"constant \(row 0\)"),
    (lambda: indicators(SAW, detrend="spline"), r"unknown detrend method 'spline'; use one "
                                                r"of gaussian, lowess, linear, diff, none"),
    (lambda: detrend(SAW, "spline"), r"unknown detrend method"),
    (lambda: surrogate_test(SAW, null="ar2"), r"unknown null model 'ar2'; use one of ar1, arma"),
    (lambda: indicators(SAW, which=("var", "hurst")), r"unknown indicator.*'hurst'.*var, std"),
    (lambda: indicators(SAW, which=()), r"unknown indicator"),
    (lambda: indicators(SAW, window=0), r"window=0 samples is too small"),
    (lambda: indicators(SAW, window=-0.1), r"window must be a fraction"),
    (lambda: indicators(SAW, window=1.5), r"window must be a fraction"),
    (lambda: indicators(SAW, window=2), r"window=2 samples is too small"),
    (lambda: indicators(SAW, window="half"), r"window must be a fraction"),
    (lambda: indicators(SAW, window=0.02), r"only 1 sample"),
    (lambda: indicators(SAW, window=1.0), r"needs at least 100"),
    (lambda: indicators(SAW, window=10, lag=9), r"lag must be a whole number from 1 to"),
    (lambda: indicators(SAW, bandwidth=-0.5), r"bandwidth must be a fraction"),
    (lambda: indicators(SAW, edge="wrap"), r"unknown edge mode 'wrap'; use one of reflect, renormalise"),
    (lambda: detrend(SAW, edge="mirror"), r"unknown edge mode 'mirror'"),
    (lambda: surrogate_test(SAW, edge=None), r"unknown edge mode None"),
    (lambda: detrend(SAW, sigma_points=0), r"sigma_points must be a positive number of samples"),
    (lambda: indicators(SAW, sigma_points=-2.0), r"sigma_points must be a positive number"),
    (lambda: early_warning(np.arange(50), SAW, sigma_points=np.inf), r"sigma_points must be a positive"),
    (lambda: detrend(SAW, sigma_points="wide"), r"sigma_points must be a positive"),
    (lambda: detrend(SAW, "lowess", robust_iters=-1), r"robust_iters must be a whole number >= 0"),
    (lambda: indicators(SAW, detrend="lowess", robust_iters=1.5), r"robust_iters must be a whole number"),
    (lambda: rolling(SAW, 3, bias=False), r"sample kurtosis \(bias=False\) needs a window of at least 4"),
    (lambda: indicators(SAW, bias="no"), r"bias must be True or False"),
    (lambda: detrend([1.0, 2.0], sigma_points=1.0), r"series too short to detrend: 2 points"),
    (lambda: indicators(SAW, detrend="lowess", span=2), r"span=2 samples is too small"),
    (lambda: indicators(SAW, index=range(3)), r"index has 3 entries but x has 50"),
    (lambda: indicators(np.ones((2, 50))), r"x must be 1-D, got shape \(2, 50\)"),
    (lambda: kendall_trend(np.ones((2, 5))), r"series must be 1-D"),
    (lambda: kendall_trend_rows(np.ones(5)), r"A must be 2-D"),
    (lambda: indicators(["a", "b"]), r"x must be numeric"),
    (lambda: surrogate_test(SAW, n=0), r"n \(surrogates\) must be a whole number >= 1"),
    (lambda: early_warning([0, 1, 1, 2] * 10, np.arange(40.0) % 7), r"steps must be strictly increasing"),
    (lambda: early_warning(np.arange(40), np.arange(39.0)), r"different lengths \(40 vs 39\)"),
    (lambda: early_warning(np.arange(40), np.arange(40.0) % 7, until=5), r"series too short for EWS"),
])  # fmt: skip
def test_user_errors(call, match):
    with pytest.raises(UserError, match=match) as e:
        call()
    assert "\n" not in str(e.value)
