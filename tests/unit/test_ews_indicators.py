"""Tests for the spectral, entropy, multivariate and uncertainty EWS (measures/ews_spectral.py,
ews_entropy.py, ews_multi.py, ews_uncertainty.py, report/ews_sensitivity.py): each indicator
against a plain per-window loop, scipy or ewstools; fits on spectra of known form; bootstrap
coverage; the CLI's multivariate path."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emergelab.errors import UserError
from emergelab.measures import ews
from emergelab.measures import ews_entropy as E
from emergelab.measures import ews_multi as M
from emergelab.measures import ews_spectral as S
from emergelab.measures import ews_uncertainty as U


def series(n=90, seed=0):
    rng = np.random.default_rng(seed)
    return 0.1 * rng.standard_normal(n).cumsum() + rng.standard_normal(n)


def ar2(a1, a2, n, seed, burn=200):
    e = np.random.default_rng(seed).standard_normal(n + burn)
    x = np.zeros(n + burn)
    for t in range(2, n + burn):
        x[t] = a1 * x[t - 1] + a2 * x[t - 2] + e[t]
    return x[burn:]


# ------------------------------------------------------------------ plain-loop references

def cheb(s, i, j, L):
    return max(abs(s[i + l] - s[j + l]) for l in range(L))


def sampen_loop(s, m, r):
    rr, T, A, B = r * s.std(), len(s) - m, 0, 0
    for i in range(T):
        for j in range(i + 1, T):
            if cheb(s, i, j, m) <= rr:
                B += 1
                A += abs(s[i + m] - s[j + m]) <= rr
    return -math.log(A / B) if A and B else np.nan


def apen_loop(s, m, r):
    rr, phi = r * s.std(), []
    for L in (m, m + 1):
        N = len(s) - L + 1
        phi.append(sum(math.log(sum(cheb(s, i, j, L) <= rr for j in range(N)) / N) for i in range(N)) / N)
    return phi[0] - phi[1]


def permen_loop(s, order, delay):
    counts = {}
    for i in range(len(s) - (order - 1) * delay):
        key = tuple(np.argsort(s[i : i + (order - 1) * delay + 1 : delay], kind="stable"))
        counts[key] = counts.get(key, 0) + 1
    p = np.array(list(counts.values()), float) / sum(counts.values())
    return -(p * np.log(p)).sum() / math.log(math.factorial(order))


def dfa_loop(s, order=1):
    y = np.cumsum(s - s.mean())
    logs, logf = [], []
    for sc in E.dfa_scales(len(s)):
        t = np.arange(sc)
        segs = y[: (len(s) // sc) * sc].reshape(-1, sc)
        f2 = np.mean([np.mean((g - np.polyval(np.polyfit(t, g, order), t)) ** 2) for g in segs])
        logs.append(np.log10(sc))
        logf.append(np.log10(np.sqrt(f2)))
    return np.polyfit(logs, logf, 1)[0]


def rolled(f, x, w, step=1):
    """f of each window x[e-w+1 .. e], at every step-th end e (NaN elsewhere)."""
    out = np.full(len(x), np.nan)
    for e in range(w - 1, len(x), step):
        out[e] = f(x[e - w + 1 : e + 1])
    return out


def at_refs(got, want):
    """got where want was computed (the slow references skip windows)."""
    return np.where(np.isnan(want), np.nan, got)


# ------------------------------------------------------------------ entropy and DFA

@pytest.mark.parametrize("m,r,seed", [(2, 0.2, 0), (1, 0.3, 1), (3, 0.5, 2)])
def test_sample_and_approximate_entropy_match_loop(m, r, seed):
    x = series(70, seed) + 1e3  # an offset must not matter (the window sd comes from prefix sums)
    for fast, slow in ((E.sample_entropy, sampen_loop), (E.approximate_entropy, apen_loop)):
        got, want = fast(x, window=30, m=m, r=r), rolled(lambda s: slow(s, m, r), x, 30)
        assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(got[:29]).all()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("order,delay", [(3, 1), (4, 2)])
def test_permutation_entropy_matches_loop_with_ties(order, delay):
    x = np.round(series(80, 3), 0)  # rounded: many ties, ranked by time in both
    want = rolled(lambda s: permen_loop(s, order, delay), x, 25)
    got = E.permutation_entropy(x, window=25, order=order, delay=delay)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    mono = np.arange(40.0)  # one pattern only: entropy 0
    assert np.nanmax(np.abs(E.permutation_entropy(mono, window=10, order=order, delay=delay))) < 1e-15


def test_dfa_matches_loop_and_ewstools():
    x = series(140, 4) + 5e3  # an offset must not matter
    got, want = E.dfa(x, window=64), rolled(dfa_loop, x, 64, step=3)
    np.testing.assert_allclose(at_refs(got, want), want, rtol=0, atol=1e-10)
    want = rolled(lambda s: dfa_loop(s, 2), x, 64, step=5)
    np.testing.assert_allclose(at_refs(E.dfa(x, window=64, order=2), want), want, rtol=0, atol=1e-10)
    h = pytest.importorskip("ewstools.helpers")
    want = rolled(h.dfa, x, 64, step=5)
    np.testing.assert_allclose(at_refs(got, want), want, rtol=0, atol=1e-10)


def test_dfa_separates_white_from_brownian():
    rng = np.random.default_rng(5)
    white, brown = rng.standard_normal(2000), rng.standard_normal(2000).cumsum()
    assert abs(np.nanmean(E.dfa(white, window=500)) - 0.5) < 0.1
    assert abs(np.nanmean(E.dfa(brown, window=500)) - 1.5) < 0.15


@pytest.mark.parametrize("f", [E.sample_entropy, E.approximate_entropy, E.permutation_entropy, E.dfa])
@pytest.mark.parametrize("x,msg", [(np.r_[np.ones(30), np.nan, np.ones(30)] + np.arange(61), "NaN"),
                                   (np.full(60, 2.0), "constant"),
                                   (np.arange(5.0), "too short")])  # fmt: skip
def test_bad_input_is_one_line(f, x, msg):
    with pytest.raises(UserError, match=msg) as e:
        f(x, window=20)
    assert "\n" not in str(e.value)


# ------------------------------------------------------------------ spectral

@pytest.mark.filterwarnings("ignore::Warning")  # ewstools' own pandas deprecations
def test_welch_matches_ewstools_and_rolls():
    h = pytest.importorskip("ewstools.helpers")
    x = series(300, 6)
    ends, freq, power = S.rolling_spectrum(x, window=100, step=20)
    assert list(ends) == list(range(99, 300, 20))
    for k, e in enumerate(ends):
        ref = h.pspec_welch(x[e - 99 : e + 1], 1, ham_length=40, ham_offset=0.5)
        np.testing.assert_allclose(freq, ref.index.to_numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(power[k], ref.to_numpy(), rtol=1e-12, atol=0)
    np.testing.assert_array_equal(S.smax(power), power.max(axis=1))
    f2, p2 = S.welch_spectra(x[None, :99], ham_length=33, w_cutoff=0.5)  # odd segment: no appended bin
    ref = h.pspec_welch(x[:99], 1, ham_length=33, w_cutoff=0.5)
    np.testing.assert_allclose(p2[0], ref.to_numpy(), rtol=1e-12)


def test_fit_recovers_exact_forms():
    om = np.linspace(-np.pi, np.pi, 41)
    fold = 0.7**2 / (2 * np.pi) / (om**2 + 0.3**2)
    hopf = 0.5**2 / (4 * np.pi) * (1 / ((om + 1.2) ** 2 + 0.2**2) + 1 / ((om - 1.2) ** 2 + 0.2**2))
    f = S.fit_spectrum(om, np.stack([fold, hopf, np.full(41, 0.05)]), dc=True)
    assert list(f[["w_fold", "w_hopf", "w_null"]].to_numpy().argmax(1)) == [0, 1, 2]
    assert f.fold_lam[0] == pytest.approx(-0.3, rel=1e-6) and f.fold_sigma[0] == pytest.approx(0.7, rel=1e-6)
    assert f.hopf_mu[1] == pytest.approx(-0.2, rel=1e-5) and f.hopf_w0[1] == pytest.approx(1.2, rel=1e-6)
    assert f.hopf_sigma[1] == pytest.approx(0.5, rel=1e-5)
    assert f.null_sigma[2] == pytest.approx(np.sqrt(2 * np.pi * 0.05), rel=1e-12)


def test_fit_distinguishes_fold_hopf_null_on_simulations():
    forms = {"fold": (0.8, 0.0), "hopf": (2 * 0.9 * np.cos(1.0), -0.81), "null": (0.0, 0.0)}
    for j, (name, (a1, a2)) in enumerate(forms.items()):
        X = np.stack([ar2(a1, a2, 400, seed) for seed in range(10)])
        freq, power = S.welch_spectra(X)
        best = S.fit_spectrum(freq, power)[["w_fold", "w_hopf", "w_null"]].to_numpy().argmax(1)
        assert np.sum(best == j) >= 8, (name, best)  # measured: 38/40, 40/40, 37/40 over 40 seeds


@pytest.mark.filterwarnings("ignore::Warning")
def test_fits_no_worse_than_lmfit():
    h = pytest.importorskip("ewstools.helpers")
    for seed in range(3):
        for a1, a2 in ((0.8, 0.0), (2 * 0.9 * np.cos(1.0), -0.81)):
            ps = h.pspec_welch(ar2(a1, a2, 400, seed), 1, ham_length=40)
            f = S.fit_spectrum(ps.index.to_numpy(), ps.to_numpy(), dc=True).iloc[0]
            sm, st, wd = ps.max(), ps.sum() * (ps.index[1] - ps.index[0]), abs(ps.idxmax())
            fold = h.fit_fold(ps, h.sfold_init(sm, st))[1]
            null = h.fit_null(ps, h.snull_init(st))[1]
            hopf = h.fit_hopf(ps, h.shopf_init(sm, st, wd))[1]
            assert f.chisqr_fold <= fold.chisqr * (1 + 1e-7)
            assert f.chisqr_null == pytest.approx(null.chisqr, rel=1e-6)
            v = hopf.values
            if v["w0"] >= S._C_HOPF * abs(v["mu"]) - 1e-9:  # lmfit's clip at 2.5 can leave the range
                assert f.chisqr_hopf <= hopf.chisqr * (1 + 1e-7)


def test_spectral_ews_frame_and_bad_input():
    x = series(200, 7)
    out = S.spectral_ews(x, window=80, step=10)
    assert list(out.columns) == ["smax", "w_fold", "w_hopf", "w_null"] and len(out) == 13
    np.testing.assert_allclose(out[["w_fold", "w_hopf", "w_null"]].sum(axis=1), 1.0)
    for bad, msg in ((np.r_[x[:50], np.nan], "NaN"), (np.ones(100), "constant"), (x[:50], "too short")):
        with pytest.raises(UserError, match=msg):
            S.spectral_ews(bad, window=80)


# ------------------------------------------------------------------ multivariate

def test_rolling_covariance_and_eigen_match_loop():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((120, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 1.0]]) + 1e4
    C = M.rolling_covariance(X, 40)
    assert np.isnan(C[:39]).all()
    ref = np.array([np.cov(X[i - 39 : i + 1].T) for i in range(39, 120)])
    np.testing.assert_allclose(C[39:], ref, rtol=1e-8, atol=1e-10)  # offset 1e4: prefix sums centred
    eig1, expl = M.covariance_spectrum(C)
    lam = np.linalg.eigvalsh(ref)
    np.testing.assert_allclose(eig1[39:], lam[:, -1], rtol=1e-8)
    np.testing.assert_allclose(expl[39:], lam[:, -1] / lam.sum(1), rtol=1e-8)


def test_multivariate_trend_rises_only_with_a_growing_common_mode():
    rng = np.random.default_rng(9)
    n = 400
    common = np.linspace(0.2, 2.0, n) * rng.standard_normal(n)
    rising = M.multivariate_trend(rng.standard_normal((n, 4)) + common[:, None], window=0.3)
    flat = M.multivariate_trend(rng.standard_normal((n, 4)), window=0.3)
    assert rising["eig1"] > 0.7 and rising["explained"] > 0.5
    assert abs(flat["eig1"]) < 0.6
    with pytest.raises(UserError, match="column 'b' is constant"):
        M.multivariate_indicators(np.c_[rng.standard_normal(50), np.ones(50)], columns=["a", "b"])


# ------------------------------------------------------------------ bootstrap and sensitivity

def test_bootstrap_tau_is_tau_b_of_the_resample():
    y = np.round(np.random.default_rng(10).standard_normal(60), 1)  # ties in value too
    taus = U.bootstrap_taus(y, n_boot=12, block=5, seed=3)
    idx = np.sort(U.block_bootstrap_indices(60, 12, 5.0, "stationary", 3), axis=1)
    want = [stats.kendalltau(i, y[i])[0] for i in idx]  # ties in time (repeats) and in value
    np.testing.assert_allclose(taus, want, rtol=0, atol=1e-12)


def test_block_indices_are_blocks():
    c = U.block_bootstrap_indices(50, 200, 7.0, "circular", 0)
    steps = np.diff(c, axis=1) % 50  # within a block of 7 the positions run on by 1 (mod 50)
    assert np.all(steps[:, [k for k in range(49) if k % 7 != 6]] == 1)
    s = U.block_bootstrap_indices(5000, 4, 10.0, "stationary", 0)
    breaks = np.mean(np.diff(s, axis=1) % 5000 != 1)
    assert 0.08 < breaks < 0.12  # a new block with probability 1 / 10


def test_bootstrap_interval_covers_true_tau():
    n, phi = 150, 0.6
    rng = np.random.default_rng(11)
    noise = np.zeros((2001, n))
    e = rng.standard_normal((2001, n))
    for t in range(1, n):
        noise[:, t] = phi * noise[:, t - 1] + e[:, t]
    Y = 0.01 * np.arange(n) + noise
    true = ews.kendall_trend_rows(Y[1:]).mean()  # the mean tau over 2000 realisations
    covered = [U.kendall_ci(Y[s], n_boot=400, block=10, method=m, seed=s)
               for s in range(30) for m in ("stationary", "circular")]  # fmt: skip
    rate = np.mean([c["lo"] <= true <= c["hi"] for c in covered])
    assert rate >= 0.75, rate  # 90% intervals; measured 0.85-0.93 over 40 seeds


def test_sensitivity_frame_and_figure():
    from matplotlib.figure import Figure

    from emergelab.report.ews_sensitivity import sensitivity_figure

    x = ar2(0.5, 0.0, 200, 12) + np.linspace(0, 3, 200)
    fr = U.sensitivity(x, windows=(0.3, 0.5), bandwidths=(0.1, 0.3), indicator="var")
    assert list(fr.columns) == ["window", "bandwidth", "tau"] and len(fr) == 4
    one = ews.indicators(x, window=0.5, which=("var",), bandwidth=0.3)["var"].to_numpy()
    assert fr.query("window == 0.5 and bandwidth == 0.3").tau.item() == ews.kendall_trend(one)
    fp = U.sensitivity(x, windows=(0.5,), bandwidths=(0.2,), n_surrogates=19)
    assert 0 < fp.p_value.item() <= 1
    fig = sensitivity_figure(fr)
    assert isinstance(fig, Figure) and fig.axes[0].images[0].get_array().shape == (2, 2)
    with pytest.raises(UserError, match="p_value"):
        sensitivity_figure(fr, value="p_value")


# ------------------------------------------------------------------ CLI

def test_cli_multivariate(run_cli, tmp_path):
    rng = np.random.default_rng(13)
    n = 300
    common = np.linspace(0.2, 2.0, n) * rng.standard_normal(n)
    df = pd.DataFrame(rng.standard_normal((n, 3)) + common[:, None], columns=["a", "b", "c"])
    df["bad"] = df["a"].astype(object)
    df.loc[5, "bad"] = "x"
    path = str(tmp_path / "m.csv")
    df.to_csv(path, index=False)
    rc, out, err = run_cli("analyze", "--csv", path, "--column", "a,b,c", "-o", str(tmp_path / "t.csv"))
    assert rc == 0, err
    assert "eig1" in out and "explained" in out and "90% interval" in out
    t = pd.read_csv(tmp_path / "t.csv")
    assert list(t.indicator) == ["eig1", "explained"] and t.tau[0] > 0.7 and (t.ci_lo <= t.tau).all()
    rc, out, err = run_cli("analyze", "--csv", path, "--column", "a,bad,c")
    assert rc == 2 and "column 'bad'" in err and len(err.strip().splitlines()) == 1
    rc, out, err = run_cli("analyze", "--csv", path, "--column", "a,", "--no-save")
    assert rc == 2 and "two or more" in err
    rc, out, err = run_cli("analyze", "--csv", path, "--column", "a", "--surrogates", "10")
    assert rc == 0 and "var" in out and "eig1" not in out  # the single-column path, unchanged
