"""Tests for emergelab.measures.passuntil: exact intervals and their coverage, the vectorised
sampler, the task scaling law, concavity and the two-circuit fit (SCIENCE A7)."""

import numpy as np
import pytest
from scipy import stats

from emergelab.errors import UserError
from emergelab.measures.passuntil import (
    concavity,
    passuntil_estimate,
    sample_until,
    task_scaling_fit,
    two_circuit_fit,
)

SIZES = np.logspace(7, 9, 8)


def law(n, c, alpha):
    return np.exp(-c * np.asarray(n, dtype=float) ** -alpha)


# ------------------------------------------------------------------ estimates and intervals

def test_recovers_1e4_where_greedy_and_small_k_read_zero():
    p, budget = 1e-4, 10**6
    rng = np.random.default_rng(0)
    s, k = sample_until(np.array([p]), 20, budget, rng)
    e = passuntil_estimate(s, k, r=20, cap=budget).iloc[0]
    assert not e["censored"] and e["lo"] < p < e["hi"] and abs(e["pu"] / p - 1) < 0.5
    # greedy decoding picks the likelier outcome: a fail; 100 samples per item mostly read 0
    assert float(p > 0.5) == 0.0
    assert (rng.binomial(100, p, size=1000) == 0).mean() > 0.98


@pytest.mark.parametrize("r", [1, 2])
def test_coverage_near_nominal_over_seeds(r):
    p = np.full(20000, 1e-4)
    s, k = sample_until(p, r, 10**7, np.random.default_rng(r))
    e = passuntil_estimate(s, k, r=r, cap=10**7, level=0.9)
    cover = ((e["lo"] <= 1e-4) & (e["hi"] >= 1e-4)).mean()
    assert 0.88 < cover < 0.93  # exact intervals: at or a little above 90%


def test_censored_items_get_upper_bounds():
    p = np.full(20000, 1e-4)
    s, k = sample_until(p, 2, 20000, np.random.default_rng(3))
    e = passuntil_estimate(s, k, r=2, cap=20000, level=0.9)
    assert e["censored"].mean() == pytest.approx(np.exp(-2) * 3, abs=0.02)  # P(<2 passes)
    cens = e[e["censored"]]
    assert (cens["lo"] == 0).all() and (cens["hi"] > 0).all()
    assert ((e["lo"] <= 1e-4) & (e["hi"] >= 1e-4)).mean() >= 0.9


def test_interval_matches_negative_binomial_cdf():
    # hi solves P(K >= k; p) = a/2 and lo solves P(K <= k; p) = a/2 for K = draw of the r-th pass
    e = passuntil_estimate([2], [500], r=2, level=0.9).iloc[0]
    cdf = lambda p, k: stats.nbinom.cdf(k - 2, 2, p)  # noqa: E731 - failures before 2 passes
    assert cdf(e["lo"], 500) == pytest.approx(0.05, rel=1e-6)
    assert 1 - cdf(e["hi"], 499) == pytest.approx(0.05, rel=1e-6)
    assert e["pu"] == pytest.approx(2 / 500)


def test_fixed_k_clopper_pearson():
    e = passuntil_estimate([0, 3, 10], [10, 10, 10], r=None)
    assert e["lo"][0] == 0 and e["hi"][2] == 1 and e["lo"][1] < 0.3 < e["hi"][1]


def test_sampler_shapes_and_edges():
    p = np.array([[0.0, 1.0], [0.5, 1e-9]])
    s, k = sample_until(p, 2, 1000, np.random.default_rng(0))
    assert s.shape == k.shape == (2, 2)
    assert (s[0, 0], k[0, 0]) == (0, 1000) and (s[0, 1], k[0, 1]) == (2, 2)
    assert s[1, 1] <= 1 and k[1, 1] == 1000


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: passuntil_estimate([3], [2]), "n_pass <= n_samples"),
        (lambda: passuntil_estimate([3], [10], r=2), "more than r=2"),
        (lambda: passuntil_estimate([0], [10], r=1, cap=100), "fewer than cap"),
        (lambda: passuntil_estimate([1], [10], level=1.5), "level"),
        (lambda: sample_until([0.5], 3, 2, np.random.default_rng(0)), "cap >= r"),
        (lambda: sample_until([1.5], 1, 10, np.random.default_rng(0)), "[0, 1]"),
        (lambda: task_scaling_fit(SIZES[:2], [0.1, 0.2]), "3 distinct sizes"),
        (lambda: task_scaling_fit(SIZES, np.zeros((3, 8))), "no item"),
        (lambda: task_scaling_fit(-SIZES, np.full(8, 0.5)), "> 0"),
    ],
)
def test_bad_input_one_line(call, words):
    with pytest.raises(UserError) as e:
        call()
    assert words in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------ scaling law, concavity, circuits

def test_task_scaling_fit_per_item_and_mean():
    alphas, cs = np.array([0.5, 0.8, 1.2]), np.array([3e4, 8e6, 2e10])
    pu = law(SIZES[None], cs[:, None], alphas[:, None])  # (3, 8)
    pu = np.vstack([pu, np.zeros(8), np.ones(8)])          # never / always: kept as they are
    fit = task_scaling_fit(SIZES, pu)
    np.testing.assert_allclose(fit.alpha[:3], alphas, rtol=1e-8)
    assert fit.fitted.tolist() == [True, True, True, False, False]
    target = 1e10
    want = np.r_[law(target, cs, alphas), 0.0, 1.0].mean()
    assert fit.predict([target])[0] == pytest.approx(want, rel=1e-8)


def test_task_scaling_fit_from_sampled_counts():
    true = law(SIZES, 2e5, 0.7)  # from ~1e-5 to ~0.6
    s, k = sample_until(np.broadcast_to(true, (200, 8)), 2, 10**7, np.random.default_rng(1))
    pu = (s / k).mean(0)  # mean over 200 repeats of the same item
    fit = task_scaling_fit(SIZES, pu)
    assert fit.alpha[0] == pytest.approx(0.7, abs=0.05)


def test_concavity_signs():
    two = 0.5 * (law(SIZES, 170.0, 0.2) + law(SIZES, 1e13, 1.5))  # a steep late circuit: accelerated
    out = concavity(SIZES, two)
    assert out["verdict"] == "accelerated" and out["q"] < 0
    sub = law(SIZES, 1e3, 0.4 * (1 - 0.04 * np.log(SIZES / 1e7)))  # exponent shrinking: convex
    assert concavity(SIZES, sub)["verdict"] == "sub-scaling"
    rng = np.random.default_rng(0)
    items = law(SIZES, 2e5, 0.7) * np.exp(rng.normal(0, 0.05, (50, 8)))  # a straight law
    assert concavity(SIZES, np.clip(items, 0, 0.99), seed=1)["verdict"] == "linear"


def test_two_circuit_fit_recovers_curve():
    true = 0.5 * (law(SIZES, 170.0, 0.2) + law(SIZES, 1e13, 1.5))
    fit = two_circuit_fit(SIZES, true)
    assert fit["rmse_log"] < 1e-3 and fit["a1"] == pytest.approx(0.2, rel=0.01)
    assert fit["a2"] == pytest.approx(1.5, rel=0.01) and fit["c2"] == pytest.approx(1e13, rel=0.1)
    np.testing.assert_allclose(fit["predict"](SIZES), true, rtol=1e-2)
