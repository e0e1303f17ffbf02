"""credit_assignment's pieces by hand: entropy and its gradient, EPO's phase weight, the lock's
dynamics (advance, waste, decoy, budget), visit counts, the smoothing band's sign, the
reasoning task's rewards, GRPO advantages and HICRA's amplification, and config validation."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.worlds import _credit_lock as L
from emergelab.worlds import _credit_reasoning as R


def test_entropy_and_its_gradient_by_hand():
    assert np.isclose(L.entropy(np.array([0.5, 0.5])), np.log(2))
    assert L.entropy(np.array([1.0, 0.0])) == 0.0
    theta = np.array([[0.3, -0.2, 1.1]])
    eps = 1e-6
    num = np.array([(L.entropy(L.softmax(theta + eps * np.eye(3)[i])) - L.entropy(L.softmax(theta - eps * np.eye(3)[i])))[0]
                    / (2 * eps) for i in range(3)])
    assert np.allclose(L.entropy_grad(L.softmax(theta))[0], num, atol=1e-6)
    assert np.allclose(L.entropy_grad(np.full((1, 4), 0.25)), 0)  # uniform is the maximum


def test_phase_weight_shape():
    w = [L.phase_weight(k, 100) for k in range(101)]
    assert w[0] == 1.0 and np.all(np.diff(w) <= 1e-12)  # monotone non-increasing
    assert 0.8 <= w[50] < 0.9 and np.isclose(w[100], 0.8 * np.exp(-3.0))
    assert L.phase_weight(5, 100, gamma=6.0) == L.phase_weight(5, 100)  # gamma acts in the 2nd half only
    assert L.phase_weight(90, 100, gamma=6.0) < L.phase_weight(90, 100)


def _always(action: int, H: int, K: int) -> np.ndarray:
    theta = np.full((H, K), -50.0)
    theta[:, action] = 50.0
    return theta


def test_lock_dynamics_by_hand():
    rng = np.random.default_rng(0)
    H, K = 5, 3
    correct = np.zeros(H, dtype=int)  # action 0 always advances
    # always right: opens the lock in exactly H turns
    ro = L.rollout(_always(0, H, K), correct, 2, budget=8, slip=0.0, decoy_reward=0.3, B=4, rng=rng)
    assert ro["success"].all() and (ro["S"] >= 0).sum(axis=1).tolist() == [H] * 4
    assert ro["S"][0, :H].tolist() == list(range(H)) and ro["S"][0, H] == -1
    # always the decoy: one turn, decoy reward
    ro = L.rollout(_always(2, H, K), correct, 2, budget=8, slip=0.0, decoy_reward=0.3, B=4, rng=rng)
    assert ro["decoy"].all() and np.allclose(ro["reward"], 0.3) and (ro["S"] >= 0).sum(axis=1).tolist() == [1] * 4
    # always wrong (not the decoy): stays at stage 0 for the whole budget, reward 0
    ro = L.rollout(_always(1, H, K), correct, 2, budget=8, slip=0.0, decoy_reward=0.3, B=4, rng=rng)
    assert not ro["success"].any() and (ro["S"] == 0).all() and (ro["reward"] == 0).all()
    # too short a budget never opens it
    ro = L.rollout(_always(0, H, K), correct, 2, budget=H - 1, slip=0.0, decoy_reward=0.3, B=4, rng=rng)
    assert not ro["success"].any()
    # slip: about a half of the right moves are lost
    ro = L.rollout(_always(0, 40, K), np.zeros(40, dtype=int), 2, budget=40, slip=0.5, decoy_reward=0.3, B=400, rng=rng)
    assert 0.4 < ro["S"].max(axis=1).mean() / 40 < 0.6


def test_layout_puts_the_decoy_off_the_right_action():
    for seed in range(20):
        correct, decoy = L.layout(30, 3, np.random.default_rng(seed))
        assert correct.shape == (30,) and decoy != correct[0] and 0 <= decoy < 3


def test_visit_counts_by_hand():
    S = np.array([[0, 0, 1, -1], [0, -1, -1, -1]])
    A = np.array([[1, 0, 2, -1], [2, -1, -1, -1]])
    sa, n = L.visit_counts(S, A, 2, 3, np.array([2.0, -1.0]))
    assert sa.tolist() == [[2.0, 2.0, -1.0], [0.0, 0.0, 2.0]]
    assert n.tolist() == [[2.0, 1.0], [1.0, 0.0]]


def test_policy_gradient_points_to_the_rewarded_action():
    rng = np.random.default_rng(1)
    H, K = 3, 3
    correct, decoy = np.array([0, 1, 2]), 2
    ro = L.rollout(np.zeros((H, K)), correct, decoy, 12, 0.0, 0.0, 4000, rng)
    g, info = L.gradient(np.zeros((H, K)), ro, "pg", 0.0, 0.0, (0.8, 2.0), None, 1.0)
    assert (g.argmax(axis=1) == correct).all()
    assert np.isclose(info["entropy"], np.log(3)) and info["outside_band"] == 0.0


def test_smoothing_pushes_entropy_back_into_the_band():
    rng = np.random.default_rng(2)
    theta = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    ro = L.rollout(theta, np.array([0, 1]), 2, 6, 0.0, 0.0, 200, rng)
    h = L.softmax(theta)
    ro["reward"][:] = 0.0  # no policy-gradient signal: only the regulariser acts
    kw = dict(method="epo", ent_coef=1.0, smooth_coef=1.0, band=(0.8, 2.0), weight=0.0)
    up, info = L.gradient(theta, ro, h_bar=5.0, **kw)  # entropy far below the band: raise it
    assert info["outside_band"] == 1.0 and (up * L.entropy_grad(h)).sum() > 0
    down, info = L.gradient(theta, ro, h_bar=0.1, **kw)  # far above: lower it
    assert info["outside_band"] == 1.0 and (down * L.entropy_grad(h)).sum() < 0
    inside, info = L.gradient(theta, ro, h_bar=float(L.entropy(h).mean()), **kw)
    assert info["outside_band"] == 0.0 and np.allclose(inside, 0)


def test_trajectory_level_entropy_counts_short_episodes_fully():
    """A 1-turn decoy episode and a 9-turn episode: turn-pooled entropy weighs stage 0 by its
    turn share, trajectory-level by episode (EPO's mechanism 1)."""
    theta = np.zeros((2, 3))
    theta[1] = [3.0, 0.0, 0.0]  # stage 1 sharper than stage 0
    S = np.array([[0, -1, -1, -1, -1, -1, -1, -1, -1], [0, 1, 1, 1, 1, 1, 1, 1, 1]])
    ro = {"S": S, "A": np.where(S >= 0, 0, -1), "reward": np.zeros(2)}
    _, info = L.gradient(theta, ro, "pg", 0.0, 0.0, (0.8, 2.0), None, 1.0)
    h0, h1 = L.entropy(L.softmax(theta))
    assert np.isclose(info["entropy"], (h0 + (h0 + 8 * h1) / 9) / 2)
    assert np.isclose(info["entropy_pooled"], (2 * h0 + 8 * h1) / 10)


def test_reasoning_reward_and_advantages_by_hand():
    rng = np.random.default_rng(0)
    prm = R.init_params(3, 2, 4, 5, 6, 0.9, rng)
    pe = R.softmax(prm["psi"])
    assert np.allclose(pe[np.arange(5), prm["exec_tok"]], 0.9)
    d = R.diagnostics(R.softmax(prm["phi"]), pe, prm["target"], prm["exec_tok"])
    assert np.isclose(d["semantic_entropy"], 2 * np.log(4)) and np.isclose(d["plan_acc"], 1 / 16)
    assert np.isclose(d["exec_acc"], 0.9 ** 5) and np.isclose(d["expected"], 0.9 ** 5 / 16)
    assert np.isclose(d["token_entropy"], (2 * np.log(4) + 5 * d["exec_token_entropy"]) / 7)


def test_hicra_amplifies_planning_credit_only():
    """Same samples (same rng): execution updates are identical; on planning tokens HICRA's
    update is the uniform one plus alpha |A| (e - pi), so it moves planning logits further."""
    out = {}
    for m in ("uniform", "hicra"):
        prm = R.init_params(4, 2, 3, 6, 5, 0.8, np.random.default_rng(3))
        phi0, psi0 = prm["phi"].copy(), prm["psi"].copy()
        R.step(prm, 16, m, 0.5, 10.0, np.random.default_rng(4))
        out[m] = (prm["phi"] - phi0, prm["psi"] - psi0)
    assert np.allclose(out["uniform"][1], out["hicra"][1])
    assert np.abs(out["hicra"][0]).sum() > np.abs(out["uniform"][0]).sum() > 0
    prm = R.init_params(4, 2, 3, 6, 5, 0.8, np.random.default_rng(3))
    phi0 = prm["phi"].copy()
    R.step(prm, 16, "hicra", 0.0, 10.0, np.random.default_rng(4))
    assert np.allclose(prm["phi"] - phi0, out["uniform"][0])  # alpha = 0 is GRPO


@pytest.mark.parametrize("bad", [{"horizon": 0}, {"budget": 0}, {"slip": 1.5}, {"slip": -0.1}, {"slip": 1.0},
                                 {"decoy_reward": 2.0}, {"exec_init": 1.0}, {"exec_init": 0.0}, {"threshold": 1.2},
                                 {"method": "ppo"}, {"task": "maze"}, {"method": "hicra"},
                                 {"task": "reasoning", "method": "epo"}, {"n_actions": 1}, {"lr": 0},
                                 {"ent_coef": -1}, {"band_lo": 1.5}, {"band_hi": 0.5}, {"window": -1},
                                 {"iters": 0}, {"group": 0}, {"horizont": 30}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("credit_assignment").make_config("tiny", bad)
