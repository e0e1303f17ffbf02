"""The world_model pieces against hand-computed values and against each other: the simulator and
the true laws describe the same dynamics; the product of experts, its gradient, the frequency
table and the ranking metrics compute what their docstrings say."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.worlds import _wm_grid as G
from emergelab.worlds import _wm_poe as M
from emergelab.worlds._wm_laws import context, distribution, library, true_laws, wrong_laws


@pytest.fixture(scope="module")
def grid():
    return G.make_grid(np.random.default_rng(3), 8, 8, 0.15, 0.2, 0.15, 9, 9, 4)


def _scen(grid, n, seed):
    return G.scenarios(grid, n, np.random.default_rng(seed))


def test_true_laws_are_exclusive_and_exhaustive_per_observable(grid):
    S, A, _ = _scen(grid, 5000, 1)
    c = context(S, A, grid)
    for o in range(len(G.OBS)):
        n_active = sum(law.pre(c).astype(int) for law in true_laws(grid) if law.obs == o)
        assert np.all(n_active == 1), G.OBS[o]


def test_simulator_samples_the_true_laws_distribution(grid):
    # 150 (state, action) pairs, each stepped 3000 times: empirical next-value frequencies match
    # the active true law's distribution (binomial sd <= 0.009, so 0.05 is > 5 sd)
    S, A, _ = _scen(grid, 150, 2)
    reps = 3000
    Sr, Ar = np.repeat(S, reps, 0), np.repeat(A, reps)
    S2 = G.step(Sr, Ar, grid, np.random.default_rng(5).random((len(Sr), len(G.OBS))))
    c = context(S, A, grid)
    for o, D in enumerate(grid.dims):
        freq = np.zeros((len(S), D))
        np.add.at(freq, (np.repeat(np.arange(len(S)), reps), S2[:, o]), 1.0 / reps)
        expected = sum(law.pre(c)[:, None] * distribution(law, c, D, 0.0) for law in true_laws(grid) if law.obs == o)
        assert np.abs(freq - expected).max() < 0.05, G.OBS[o]


def test_every_wrong_law_is_wrong_somewhere_it_is_active(grid):
    S, A, _ = _scen(grid, 5000, 3)
    c = context(S, A, grid)
    for w in wrong_laws(grid):
        truth = sum(t.pre(c)[:, None] * distribution(t, c, grid.dims[w.obs], 0.0)
                    for t in true_laws(grid) if t.obs == w.obs)  # fmt: skip
        gap = np.abs(distribution(w, c, grid.dims[w.obs], 0.0) - truth).max(1)
        assert (gap[w.pre(c)] > 0.05).any(), w.name


def test_distribution_clips_and_smooths(grid):
    S = np.array([[1, 1, 9, 0, 0, 0]])
    c = context(S, np.array([G.EAT]), grid)
    eat = [law for law in library(grid, 0, np.random.default_rng(0)) if law.name.startswith("energy: eating feeds")][0]
    p = distribution(eat, c, 10, 0.0)  # nothing carried, but this wrong law feeds anyway: +2/+1 clip at 9
    assert p[0, 9] == pytest.approx(1.0) and p.sum() == pytest.approx(1.0)
    q = distribution(eat, c, 10, 0.1)
    assert q[0, 0] == pytest.approx(0.01) and q[0, 9] == pytest.approx(0.91)


def test_oracle_weights_reproduce_the_true_distribution(grid):
    S, A, S2 = _scen(grid, 400, 4)
    laws = library(grid, 5, np.random.default_rng(1))
    true = np.array([law.kind == "true" for law in laws], float)
    ts = M.tensors(laws, context(S, A, grid), S2, grid.dims, 1e-3)
    c = context(S, A, grid)
    for o, lp in enumerate(M.poe_logp(ts, true)):
        expected = sum(t.pre(c)[:, None] * distribution(t, c, grid.dims[o], 1e-3) for t in true_laws(grid) if t.obs == o)
        assert np.allclose(np.exp(lp), expected)


def test_gradient_matches_finite_differences_and_fit_prefers_true_laws(grid):
    S, A, S2 = G.explore(grid, 1500, np.random.default_rng(6))
    laws = library(grid, 6, np.random.default_rng(2))
    ts = M.tensors(laws, context(S, A, grid), S2, grid.dims, 1e-3)
    t = ts[G.E]
    rng = np.random.default_rng(0)
    w = rng.uniform(0.2, 1.5, len(t["idx"]))

    def nll(wk):  # the objective written out the slow way
        lq = M._normalise(np.einsum("nk,nkd->nd", t["active"] * wk, t["logp"]))
        return -lq[np.arange(len(S2)), t["value"]].sum()

    h = 1e-6
    num = np.array([(nll(w + h * e) - nll(w - h * e)) / (2 * h) for e in np.eye(len(w))])
    act, L, v = t["active"], t["logp"], t["value"]
    lq = M._normalise(np.einsum("nk,nkd->nd", act * w, L))
    ana = -(act * (L[np.arange(len(v)), :, v] - np.einsum("nd,nkd->nk", np.exp(lq), L))).sum(0)
    assert np.allclose(num, ana, rtol=1e-4, atol=1e-3)

    wf = M.fit(ts, len(S2), 0.1, np.ones(len(laws)))
    true = np.array([law.kind == "true" for law in laws])
    assert M.auc(wf, true) > 0.75 and wf[true].mean() > 2 * wf[~true].mean()
    assert np.all(wf >= 0)


def test_frequency_table_by_hand():
    # one observable with 3 values; action 0 seen twice with change +1, once with 0
    S = np.array([[0], [1], [1]])
    S2 = np.array([[1], [2], [1]])
    A = np.zeros(3, int)
    lp = M.freq_logp(S, A, S2, np.array([[2]]), np.array([0]), (3,), 1, 0.5)[0]
    # changes -2..2, counts (0, 0, 1, 2, 0) + 0.5 -> (.5, .5, 1.5, 2.5, .5) / 5.5; from 2, +1 and +2 clip to 2
    assert np.allclose(np.exp(lp[0]), np.array([0.5, 0.5, 1.5 + 2.5 + 0.5]) / 5.5)


def test_ranking_metrics_by_hand():
    S = np.array([[1], [1]])
    S2 = np.array([[2], [1]])
    C, valid = M.candidates(S, S2, (4,))
    # transition 0: true 2, distractors 1 (-1), 3 (+1), 1 (current: a repeat of -1, invalid)
    assert C[0, :, 0].tolist() == [2, 1, 3, 1] and valid[0].tolist() == [True, True, True, False]
    assert C[1, :, 0].tolist() == [1, 0, 2, 1] and valid[1].tolist() == [True, True, True, False]
    logp = np.log(np.array([[0.1, 0.2, 0.5, 0.2], [0.1, 0.2, 0.5, 0.2]]))
    r = M.evaluate([logp], C, valid, S2)
    # 0: true 2 (p .5) beats 1 and 3 -> rank 1; 1: true 1 (p .2) below 2 (.5), above 0 (.1) -> rank 2
    assert r["acc"] == pytest.approx(0.5) and r["mrr"] == pytest.approx(0.75)
    assert r["edit"] == pytest.approx(0.5) and r["abs_err"] == pytest.approx(0.5)
    assert r["nll"] == pytest.approx(-(np.log(0.5) + np.log(0.2)) / 2)
    tie = M.evaluate([np.log(np.full((2, 4), 0.25))], C, valid, S2)  # uniform: a 3-way tie
    assert tie["acc"] == pytest.approx(1 / 3) and tie["mrr"] == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [{"width": 2}, {"explore_steps": 0}, {"wall_density": 0.95},
                                 {"bush_density": 0.6, "thorn_density": 0.5}, {"law_eps": 0.0},
                                 {"weight_prior": 0.0}, {"n_noise_laws": -1}, {"eval": "dreams"}])  # fmt: skip
def test_bad_configs_say_what_is_wrong(bad):
    with pytest.raises(UserError, match=next(iter(bad))):
        get_world("world_model").make_config(None, bad)
