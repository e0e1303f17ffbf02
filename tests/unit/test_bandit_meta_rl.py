"""bandit_meta_rl's pieces by hand: the exploration measure, regret, the baselines, the bandits
(structure / reshuffle), the memory reset, discounted returns and config validation."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.worlds import _bandit_baselines as bb
from emergelab.worlds import bandit_meta_rl as bm


def test_exploratory_by_hand():
    # arms pulled 0, 0, 1, 0, 2 with rewards 0, 1, 1, 0, 1 (k = 3)
    a = np.array([[0, 0, 1, 0, 2]])
    r = np.array([[0, 1, 1, 0, 1]], dtype=float)
    ex = bb.exploratory(a, r, 3)
    # t=0: undefined; t=1: arm 0 is the only estimate (0) -> greedy; t=2: arm 1 untried while
    # arm 0 has 0.5 -> explores; t=3: means (0.5, 1) -> arm 0 explores; t=4: arm 2 untried -> explores
    assert np.isnan(ex[0, 0]) and ex[0, 1:].tolist() == [0.0, 1.0, 1.0, 1.0]
    # exact ties are all greedy: arms 0 and 1 both at 1.0
    ex2 = bb.exploratory(np.array([[0, 1, 1]]), np.array([[1.0, 1.0, 0.0]]), 2)
    assert ex2[0, 1:].tolist() == [1.0, 0.0]  # t=1 tries an untried arm; t=2 arm 1 ties arm 0
    assert bb.window_share(ex, 1, 3) == 0.5 and bb.window_share(ex, 3, 5) == 1.0
    assert np.isnan(bb.window_share(ex, 0, 1))


def test_a_fixed_arm_never_explores():
    rng = np.random.default_rng(0)
    a = np.full((50, 20), 2)
    r = (rng.random((50, 20)) < 0.5).astype(float)
    assert np.nansum(bb.exploratory(a, r, 4)) == 0


def test_pseudo_regret_by_hand():
    p = np.array([[0.2, 0.9, 0.5]])
    pulled = np.array([[0.2, 0.5, 0.9]])
    assert np.isclose(bb.pseudo_regret(pulled, p)[0], 0.7 + 0.4 + 0.0)


def _bandits(N=2000, T=30, k=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((N, k)), rng.random((N, T, k))


def test_baselines_beat_a_fixed_arm_and_ucb_tries_every_arm_first():
    p, U = _bandits()
    fixed = bb.pseudo_regret(np.repeat(p[:, :1], U.shape[1], axis=1), p).mean()
    regrets = {}
    for name in bb.BASELINES:
        arms = bb.run_baseline(name, p, U, np.random.default_rng(1))
        assert arms.shape == (2000, 30) and arms.min() >= 0 and arms.max() < 5
        regrets[name] = bb.pseudo_regret(np.take_along_axis(p, arms, 1), p).mean()
    assert max(regrets.values()) < 0.8 * fixed, (regrets, fixed)
    ucb = bb.run_baseline("ucb", p, U, np.random.default_rng(1))
    assert all(sorted(row) == list(range(5)) for row in ucb[:, :5])  # each arm once, first
    # a sure arm is found and kept by the greedy rule
    p2 = np.array([[0.0, 1.0]])
    U2 = np.full((1, 10, 2), 0.5)
    g = bb.run_baseline("greedy", p2, U2, np.random.default_rng(0))
    assert g[0, -5:].tolist() == [1] * 5
    with pytest.raises(ValueError):
        bb.run_baseline("epsilon", p2, U2, np.random.default_rng(0))


def test_structure_keeps_arms_and_no_structure_reshuffles_them():
    import torch

    cfg = bm.BanditMetaRLConfig(n_arms=4, n_episodes=6)
    p, arm, U = bm._bandits(cfg, 8, torch.Generator().manual_seed(0))
    assert p.shape == (8, 4) and arm.shape == (8, 6, 4) and U.shape == (8, 6, 4)
    assert torch.equal(arm, torch.arange(4).expand(8, 6, 4))
    cfg2 = bm.BanditMetaRLConfig(n_arms=4, n_episodes=6, structure=False)
    _, arm2, _ = bm._bandits(cfg2, 8, torch.Generator().manual_seed(0))
    assert torch.equal(arm2.sort(-1).values, torch.arange(4).expand(8, 6, 4))  # permutations
    assert not torch.equal(arm2[:, 0], arm2[:, 1])  # reshuffled between episodes


@pytest.mark.parametrize("episode_len", [1, 3])
def test_memory_reset_forgets_the_past(episode_len):
    """Without memory the first pull of every episode starts from the same blank state, so the
    agent's value (and policy) there is the same in every trial and episode; with memory it
    depends on what happened before."""
    import torch

    kw = dict(n_arms=4, n_episodes=8, episode_len=episode_len, hidden=16)
    spread = {}
    for memory in (False, True):
        cfg = bm.BanditMetaRLConfig(memory=memory, **kw)
        gen = torch.Generator().manual_seed(3)
        net = bm._agent(cfg, gen)
        with torch.no_grad():
            p, arm, U = bm._bandits(cfg, 64, gen)
            o = bm._rollout(net, cfg, p, arm, U, gen, "sample")
        assert all(v.shape == (64, 8 * episode_len) for v in o.values())
        first = torch.stack([o["v"][:, ::episode_len], o["ent"][:, ::episode_len]], -1)  # (B, E, 2)
        spread[memory] = float((first - first[0, 0]).abs().max())
    assert spread[False] < 1e-6 and spread[True] > 1e-3, spread


def test_discounted_returns_by_hand():
    import torch

    r = torch.tensor([[1.0, 0.0, 1.0]])
    assert torch.equal(bm._returns(r, 0.0), r)
    assert torch.allclose(bm._returns(r, 0.5), torch.tensor([[1.25, 0.5, 1.0]]))


@pytest.mark.parametrize("bad", [{"n_arms": 1}, {"threads": -1}, {"n_episodes": 0}, {"episode_len": 0}, {"n_episodes": 2},
                                 {"gamma": 1.5}, {"gamma": -0.1}, {"window": 0}, {"window": 0.6}, {"lr": 0},
                                 {"max_grad_norm": 0}, {"ent_coef": -1}, {"n_eval": 0}, {"eval_policy": "soft"},
                                 {"structure": "maybe"}, {"arms": 3}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("bandit_meta_rl").make_config("tiny", bad)
