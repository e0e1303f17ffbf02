"""Tests for emergelab.measures.cod and emergelab.measures.forecast: clustering on difficulty on a
mixture of item clusters with known laws, and leave-largest-out forecasts against the whole-set
power law (SCIENCE A8)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from emergelab.errors import UserError
from emergelab.measures.cod import (
    cluster_items,
    cod_predict,
    difficulty_features,
    fit_cluster_law,
    fit_mapping,
)
from emergelab.measures.forecast import backtest, forecast

SIZES = np.logspace(7, 10, 8)
# per cluster (a, b, c) of p = exp(-a (C/1e8)^-b - c): easy and saturating, mid, late, never
LAWS = [(0.3, 0.5, 0.05), (3.0, 1.0, 0.0), (40.0, 1.2, 0.0), None]


def mixture(seed=0, n_per=(400, 300, 300, 200), n_samples=100):
    """(family frame, true labels, true pass rates (n_items, 8)); `correct` is one sample."""
    rng = np.random.default_rng(seed)
    u = SIZES / 1e8
    ps = []
    for law, n in zip(LAWS, n_per):
        if law is None:
            ps.append(np.zeros((n, len(SIZES))))
            continue
        a, b, c = law
        a_i = a * np.exp(rng.normal(0, 0.1, n))[:, None]  # items in a cluster differ a little
        ps.append(np.exp(-a_i * u[None] ** -b - c))
    p = np.vstack(ps)
    n = len(p)
    frames = [pd.DataFrame({"model": f"m{j}", "params": SIZES[j], "item": np.arange(n),
                            "correct": (rng.random(n) < p[:, j]).astype(float), "n_samples": n_samples,
                            "n_pass": rng.binomial(n_samples, p[:, j])}) for j in range(len(SIZES))]
    return pd.concat(frames, ignore_index=True), np.repeat(np.arange(len(n_per)), n_per), p


@pytest.fixture(scope="module")
def fam():
    return mixture()


# ------------------------------------------------------------------ COD pieces

def test_clusters_recovered_with_outliers(fam):
    df, lab, p = fam
    rates = (df["n_pass"] / df["n_samples"]).to_numpy().reshape(len(SIZES), -1).T[:, :7]
    rng = np.random.default_rng(5)
    odd = rng.random((6, 7))  # 6 scattered items: no cluster of their own
    got = cluster_items(np.vstack([rates, odd]), radius=0.1 * np.sqrt(7), min_size=12, seed=0)
    assert adjusted_rand_score(lab, got[: len(lab)]) > 0.98
    assert got.max() == 3 and (got[len(lab):] == -1).all()
    assert np.bincount(got[got >= 0]).tolist() == [400, 300, 300, 200]  # largest first


def test_cluster_law_recovers_parameters_and_judges():
    y = 0.25 + 0.75 * np.exp(-3.0 * (SIZES / 1e8) ** -0.8 - 0.1)
    law = fit_cluster_law(SIZES, y, guess=0.25)
    C0 = law.params["C0"]
    assert law.status == "ok" and law.rmse < 1e-6
    assert law.params["b"] == pytest.approx(0.8, rel=1e-3) and law.params["c"] == pytest.approx(0.1, abs=1e-3)
    assert law.params["a"] * (C0 / 1e8) ** 0.8 == pytest.approx(3.0, rel=1e-3)  # same law, other C0
    assert fit_cluster_law(SIZES, np.full(8, 0.3)).status == "flat"
    zigzag = np.tile([0.1, 0.8], 4)
    assert fit_cluster_law(SIZES, zigzag).status == "poor fit"
    assert not fit_cluster_law(SIZES, zigzag).extrapolatable


def test_mapping_is_monotone_and_exact_for_flat_rest():
    s = np.linspace(0.1, 0.8, 7)
    f, mp = fit_mapping(s, 0.6 * s + 0.1)
    assert mp["v"] == pytest.approx(0.6) and f(0.9) == pytest.approx(0.64)
    f2, mp2 = fit_mapping(s, 0.5 - 0.2 * s)  # a falling relation: slope held at 0, still monotone
    assert mp2["v"] == pytest.approx(0, abs=1e-8) and np.all(np.diff(f2(np.linspace(0, 1, 5))) >= 0)


def test_cod_predict_on_true_rates(fam):
    _, lab, p = fam
    out = cod_predict(p[:, :7], SIZES[:7], SIZES[7])
    assert out["kept"] == [0, 1, 2] and out["subset_share"] == pytest.approx(0.8333, abs=1e-3)
    assert out["predicted"] == pytest.approx(p[:, 7].mean(), abs=0.01)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: difficulty_features(np.ones(5)), "items x small models"),
        (lambda: difficulty_features(np.full((4, 3), 1.5)), "[0, 1]"),
        (lambda: cluster_items(np.zeros((5, 3)), radius=0, min_size=1), "radius"),
        (lambda: cluster_items(np.zeros((5, 3)), radius=0.1, min_size=0), "min_size"),
        (lambda: fit_cluster_law(SIZES[:2], [0.1, 0.2]), "3+ distinct sizes"),
        (lambda: fit_cluster_law(SIZES, np.full(8, 0.5), guess=1.0), "guess"),
        (lambda: cod_predict(np.zeros((20, 4)), SIZES[:4], 1e11), "extrapolatable"),
        (lambda: cod_predict(np.zeros((20, 4)), SIZES[:4][::-1], 1e11), "increasing"),
    ],
)
def test_cod_bad_input_one_line(call, words):
    with pytest.raises(UserError) as e:
        call()
    assert words in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------ forecast and back-test

def test_backtest_cod_beats_whole_set_power_law(fam):
    df, _, p = fam
    bt = backtest(df, n_boot=50).set_index("method")
    err = bt["abs_error"]
    assert err["cod"] < 0.02 and err["passuntil"] < 0.02
    assert err["powerlaw"] > 3 * err["cod"]                  # the baseline misses the late cluster
    assert bt.loc["powerlaw", "lo"] < bt.loc["powerlaw", "predicted"] < bt.loc["powerlaw", "hi"]
    assert bt["actual"].iloc[0] == pytest.approx(df[df["params"] == SIZES[-1]]["correct"].mean())


def test_forecast_dict_and_method_needs(fam):
    df, _, p = fam
    out = forecast(df[df["params"] < SIZES[-1]], SIZES[-1], method="passuntil", n_boot=50)
    assert set(out) == {"method", "target", "size", "metric", "predicted", "interval", "details"}
    lo, hi = out["interval"]
    assert lo < out["predicted"] < hi and out["metric"] == "pass_rate"  # PassUntil forecasts sampling pass rates
    no_counts = df.drop(columns=["n_pass", "n_samples"])
    with pytest.raises(UserError, match="needs n_pass"):
        forecast(no_counts, 1e11, method="passuntil")
    bt = backtest(no_counts, methods=("passuntil", "powerlaw"), n_boot=20)
    assert np.isnan(bt["predicted"].iloc[0]) and "n_pass" in bt["note"].iloc[0]


def test_forecast_by_compute_and_only_largest_solves(fam):
    df = fam[0].assign(compute=lambda d: 6e3 * d["params"])
    out = forecast(df, 6e3 * 1e11, method="powerlaw", size="compute", n_boot=10)
    assert 0.8 < out["predicted"] <= 1 and out["size"] == "compute"
    late = df.assign(correct=(df["params"] == SIZES[-1]).astype(float))
    with pytest.raises(UserError, match="without the largest model: column 'correct' is 0"):
        backtest(late)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda d: forecast(d, 1e11, method="magic"), "method must be"),
        (lambda d: forecast(d, -5), "> 0"),
        (lambda d: forecast(d[d["params"] <= SIZES[1]], 1e11), "at least 3"),
        (lambda d: backtest(d[d["params"] <= SIZES[2]]), "at least 4"),
        (lambda d: forecast(d.drop(index=[3]), 1e11), "every item must be graded"),
        (lambda d: forecast(d.drop(columns="model"), 1e11), "missing column"),
        (lambda d: backtest(d, methods=("cod", "oracle")), "unknown method"),
    ],
)
def test_forecast_bad_input_one_line(fam, call, words):
    with pytest.raises(UserError) as e:
        call(fam[0])
    assert words in str(e.value) and "\n" not in str(e.value)
