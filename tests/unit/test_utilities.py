"""Thurstonian utilities and coherence measures (measures/utilities.py) against hand-computed values,
finite differences and brute force."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy import optimize, stats

from emergelab.errors import UserError
from emergelab.measures import utilities as U


def test_predict_proba_is_the_thurstonian_formula():
    # P(0 > 1) = Phi((1 - 0) / sqrt(1 + 1)) = Phi(0.7071) = 0.76025
    p = U.predict_proba([1.0, 0.0, 0.5], [1.0, 1.0, 0.0], [0, 1, 2], [1, 0, 1])
    assert p[0] == pytest.approx(0.760250, abs=1e-6)
    assert p[1] == pytest.approx(1 - 0.760250, abs=1e-6)
    assert p[2] == pytest.approx(stats.norm.cdf(0.5), abs=1e-12)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    n = 7
    a, b = np.triu_indices(n, 1)
    t = np.full(len(a), 5.0)
    w = rng.integers(0, 6, len(a)).astype(float)
    x = rng.normal(size=2 * n)
    f = lambda x: U._nll(x, a, b, w, t - w, n, 0.1)[0]  # noqa: E731
    g = lambda x: U._nll(x, a, b, w, t - w, n, 0.1)[1]  # noqa: E731
    assert optimize.check_grad(f, g, x) < 1e-4 * np.linalg.norm(g(x))


def test_fit_recovers_hidden_utilities_and_is_normalised():
    rng = np.random.default_rng(0)
    n = 30
    mu = rng.standard_normal(n)
    sigma = 0.3 * np.exp(0.3 * rng.standard_normal(n))
    a, b = np.triu_indices(n, 1)
    t = np.full(len(a), 6.0)
    w = rng.binomial(6, U.predict_proba(mu, sigma, a, b)).astype(float)
    fit = U.fit_thurstonian(n, a, b, w, t)
    assert fit.converged
    assert fit.mu.mean() == pytest.approx(0, abs=1e-12) and fit.mu.std() == pytest.approx(1, abs=1e-12)
    assert np.corrcoef(fit.mu, mu)[0, 1] > 0.98
    # the fitted probabilities agree with the true ones (calibration, not only the order)
    assert np.mean(np.abs(U.predict_proba(fit.mu, fit.sigma, a, b) - U.predict_proba(mu, sigma, a, b))) < 0.06
    # swapping the roles of i and j (wins <-> losses) is the same data: the same fit
    fit2 = U.fit_thurstonian(n, b, a, t - w, t)
    assert np.allclose(fit2.mu, fit.mu, atol=1e-4)


def test_fit_with_one_dominant_outcome_stays_finite():
    # outcome 0 always wins: the likelihood alone would send mu_0 to infinity; the ridge keeps it finite
    i, j = np.array([0, 0, 1]), np.array([1, 2, 2])
    fit = U.fit_thurstonian(3, i, j, [4, 4, 2], [4, 4, 4])
    assert np.all(np.isfinite(fit.mu)) and np.all(fit.sigma > 0)
    assert fit.mu[0] == fit.mu.max() and fit.mu[1] == pytest.approx(fit.mu[2], abs=1e-6)


def test_heldout_accuracy_counts_majorities_and_skips_ties():
    mu, sigma = np.array([2.0, 1.0, 0.0]), np.ones(3)
    # pairs (0,1): 3/4 for 0, predicted 0: agree; (1,2): 1/4 for 1, predicted 1: disagree; (0,2): tie, skipped
    acc = U.heldout_accuracy(mu, sigma, [0, 1, 0], [1, 2, 2], [3, 1, 2], [4, 4, 4])
    assert acc == 0.5
    assert np.isnan(U.heldout_accuracy(mu, sigma, [0], [1], [2], [4]))


def test_preference_matrix_pools_both_orders():
    P = U.preference_matrix(3, [0, 1], [1, 0], [3, 1], [4, 4])  # 0 over 1: 3 of 4, then 1 over 0: 1 of 4
    assert P[0, 1] == pytest.approx(6 / 8) and P[1, 0] == pytest.approx(2 / 8)
    assert np.isnan(P[0, 2]) and np.isnan(P[2, 1])


def _brute_cyclic(P):
    n, cyc, tot = len(P), 0, 0
    for i, j, k in combinations(range(n), 3):
        e = [P[i, j], P[j, k], P[i, k]]
        if any(np.isnan(x) or x == 0.5 for x in e):
            continue
        tot += 1
        wins = [(P[i, j] > .5) + (P[i, k] > .5), (P[j, i] > .5) + (P[j, k] > .5), (P[k, i] > .5) + (P[k, j] > .5)]
        cyc += sorted(wins) == [1, 1, 1]
    return cyc / tot if tot else float("nan")


def test_cyclic_triads_hand_examples():
    # 0 > 1 > 2 > 0 a cycle; 3 beats everyone: 1 cyclic triad of 4
    P = np.full((4, 4), np.nan)
    for w, l in [(0, 1), (1, 2), (2, 0), (3, 0), (3, 1), (3, 2)]:
        P[w, l], P[l, w] = 1.0, 0.0
    assert U.cyclic_triad_share(P) == 0.25
    assert U.cyclic_triad_share(P[:3, :3]) == 1.0
    T = np.where(np.arange(4)[:, None] < np.arange(4)[None, :], 0.9, 0.1)  # transitive
    assert U.cyclic_triad_share(T) == 0.0
    P[0, 1] = P[1, 0] = 0.5  # a tie: triads through (0, 1) are incomplete
    assert U.cyclic_triad_share(P) == 0.0
    assert np.isnan(U.cyclic_triad_share(np.full((3, 3), np.nan)))


def test_cyclic_triads_match_brute_force_on_random_partial_matrices():
    rng = np.random.default_rng(1)
    for _ in range(5):
        n = 9
        M = rng.integers(0, 5, (n, n)) / 4  # shares in quarters: ties (0.5) happen
        P = np.triu(M, 1) + np.tril(1 - M.T, -1)
        P[rng.random((n, n)) < 0.2] = np.nan
        P = np.where(np.isnan(P) | np.isnan(P.T), np.nan, P)
        assert U.cyclic_triad_share(P) == pytest.approx(_brute_cyclic(P))
    coin = rng.integers(0, 2, (40, 40)).astype(float)
    assert U.cyclic_triad_share(np.triu(coin, 1) + np.tril(1 - coin.T, -1)) == pytest.approx(0.25, abs=0.03)


def test_select_pairs_prefers_close_low_degree_and_skips_asked():
    rng = np.random.default_rng(0)
    mu = np.array([0.0, 0.01, 5.0, 5.02, 10.0, 20.0])
    sigma = np.ones(6)
    asked = U.pair_index(6, [2], [3])
    i, j = U.select_pairs(mu, sigma, np.zeros(6), asked, 1, rng)
    assert sorted((i[0], j[0])) == [0, 1]  # (2, 3) is as close but already asked
    # with degree weight, a close pair of busy outcomes loses to a farther pair of fresh ones
    i, j = U.select_pairs(mu, sigma, np.array([50, 50, 0, 0, 0, 0]), [], 1, rng, degree_weight=1.0)
    assert sorted((i[0], j[0])) == [2, 3]
    i, j = U.select_pairs(mu, sigma, np.zeros(6), asked, 14, rng)
    ids = U.pair_index(6, i, j)
    assert len(np.unique(ids)) == 14 and asked[0] not in ids and np.all(i != j)
    i, j = U.select_pairs(mu, sigma, np.zeros(6), asked, 100, rng)  # more than remain: all the rest
    assert len(i) == 14


def test_select_pairs_spreads_a_round_over_outcomes():
    rng = np.random.default_rng(0)
    n = 20
    mu = np.linspace(0, 1, n)
    mu[0] = mu[1] = mu[2] = 0.5  # three ties would take every close pair without the per-round cap
    i, j = U.select_pairs(mu, np.ones(n), np.zeros(n), [], 20, rng)
    assert np.bincount(np.r_[i, j], minlength=n).max() <= int(np.ceil(2 * 20 / n)) + 1


def test_eu_consistency():
    u = np.array([0.0, 1.0, 3.0])
    probs = np.array([[0.5, 0.5, 0], [0, 0.25, 0.75], [0.1, 0, 0.9]])
    r = U.eu_consistency(probs @ u, probs, u)
    assert r["corr"] == pytest.approx(1.0) and r["mae"] == pytest.approx(0.0)
    r = U.eu_consistency(probs @ u + np.array([0.3, -0.3, 0.0]), probs, u)
    assert r["mae"] == pytest.approx(0.2 / u.std())
    with pytest.raises(UserError, match="sum to 1"):
        U.eu_consistency([0, 1], [[0.5, 0.6, 0], [1, 0, 0]], u)
    with pytest.raises(UserError, match="lotteries, outcomes"):
        U.eu_consistency([0, 1], [[1.0, 0.0], [0.0, 1.0]], u)


@pytest.mark.parametrize("args, msg", [
    ((3, [0], [0], [1], [2]), "with itself"),
    ((3, [0], [5], [1], [2]), "in 0..2"),
    ((3, [0], [1], [3], [2]), "exceed totals"),
    ((3, [0, 1], [1], [1], [2]), "same length"),
    ((3, [0], [1], [-1], [2]), "non-negative"),
    ((3, [], [], [], []), "no forced choices"),
    ((1, [], [], [], []), "at least 2 outcomes"),
])  # fmt: skip
def test_bad_input_is_one_clear_line(args, msg):
    with pytest.raises(UserError, match=msg) as e:
        U.fit_thurstonian(*args)
    assert "\n" not in str(e.value)


def test_choices_table_counts_and_fits(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"a": ["tea", "coffee", "tea", "water", "tea"],
                       "b": ["coffee", "tea", "coffee", "tea", "water"],
                       "choice": ["tea", "tea", "coffee", "tea", None]})  # fmt: skip
    names, i, j, w, t = U.choices_from_table(df)
    assert names == ["coffee", "tea", "water"]
    got = {(names[x], names[y]): (wx, tx) for x, y, wx, tx in zip(i, j, w, t)}
    assert got == {("coffee", "tea"): (0, 1), ("tea", "coffee"): (1, 2), ("tea", "water"): (0, 0),
                   ("water", "tea"): (0, 1)}  # fmt: skip
    df.to_csv(tmp_path / "c.csv", index=False)
    again = U.read_choices(tmp_path / "c.csv", outcomes=["tea", "coffee", "water"])
    assert again[0] == ["tea", "coffee", "water"] and again[3].sum() == 1 and again[4].sum() == 4  # a won once
    fit = U.fit_thurstonian(3, *again[1:])
    assert fit.mu[0] == fit.mu.max()  # tea wins 3 of the 4 answered choices
    counts = pd.DataFrame({"a": ["x", "y"], "b": ["y", "z"], "wins": [3, 1], "totals": [4, 4]})
    assert U.choices_from_table(counts)[3].tolist() == [3, 1]


def test_choices_table_bad_input_is_one_clear_line(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"a": ["tea"], "b": ["cofee"], "choice": ["tea"]})
    with pytest.raises(UserError, match="unknown outcome 'cofee'") as e:
        U.choices_from_table(df, outcomes=["tea", "coffee"])
    assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="neither a"):
        U.choices_from_table(pd.DataFrame({"a": ["tea"], "b": ["coffee"], "choice": ["milk"]}))
    with pytest.raises(UserError, match="needs columns"):
        U.choices_from_table(pd.DataFrame({"a": ["tea"], "b": ["coffee"]}))
    with pytest.raises(UserError, match="csv, .parquet or .jsonl"):
        U.read_choices(tmp_path / "c.txt")
    with pytest.raises(UserError, match="cannot read"):
        U.read_choices(tmp_path / "missing.csv")
