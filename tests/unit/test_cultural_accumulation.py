"""The memory-sequence learner of cultural_accumulation, by hand: guesses avoid excluded digits
and are uniform over the rest, a demonstration is copied only when visible and not known to be
wrong, memory only grows without forgetting, and bad configs are clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.worlds import cultural_accumulation as ca


def _cfg(**kw):
    base = {"digits": 3, "length": 6, "episodes": 4, "generations": 2, "lineages": 50}
    return ca.CulturalAccumulationConfig(**{**base, **kw})


def _seq(cfg, seed=0):
    return np.random.default_rng(seed).integers(0, cfg.digits, (cfg.lineages, cfg.length))


def test_guess_avoids_excluded_digits_and_is_uniform_over_the_rest():
    n = 30000
    wrong = np.zeros((n, 4), bool)
    wrong[:, 1] = True  # digit 1 excluded everywhere
    wrong[: n // 2, 3] = True  # digit 3 excluded in the first half
    g = ca.guess(wrong, np.random.default_rng(0).random(n))
    assert not np.any(g == 1) and not np.any(g[: n // 2] == 3)
    first = np.bincount(g[: n // 2], minlength=4) / (n // 2)  # uniform over {0, 2}
    second = np.bincount(g[n // 2:], minlength=4) / (n - n // 2)  # uniform over {0, 2, 3}
    assert np.allclose(first, [0.5, 0, 0.5, 0], atol=0.02), first
    assert np.allclose(second, [1 / 3, 0, 1 / 3, 1 / 3], atol=0.02), second
    only = np.ones((5, 3), bool)
    only[:, 2] = False
    assert ca.guess(only, np.linspace(0, 0.99, 5)).tolist() == [2] * 5  # one digit left: that one


def test_policy_plays_known_digits_and_prefix_counts_from_the_start():
    cfg = _cfg(lineages=3, length=4)
    known, wrong = ca.empty(3, cfg)
    known[0] = [2, 0, -1, 1]
    known[1] = [2, 0, 1, 1]
    wrong[2, 0, [0, 1]] = True  # lineage 2 has excluded 0 and 1 at t = 0
    assert ca.policy(known, wrong, 0, np.full(3, 0.5))[:2].tolist() == [2, 2]
    assert ca.policy(known, wrong, 0, np.full(3, 0.5))[2] == 2
    seq = np.array([[2, 0, 1, 1], [2, 0, 1, 1], [0, 0, 0, 0]])
    assert ca.prefix(known, seq).tolist() == [2, 4, 0]


def test_visibility_schedules():
    assert ca.visibility(_cfg(vis_prob=0.3)).tolist() == [0.3] * 4
    assert np.allclose(ca.visibility(_cfg(vis_prob=0.9, vis_decay=True)), [0.9, 0.6, 0.3, 0.0])


def test_without_forgetting_a_learner_never_loses_ground():
    cfg = _cfg(forget=0.0, episodes=8)
    seq = _seq(cfg)
    out = ca.live(seq, ca.empty(cfg.lineages, cfg), 8, np.zeros(8), cfg, np.random.default_rng(1))
    r, k = out["returns"], out["known"]
    assert np.all(np.diff(r, axis=0) >= 0)  # it replays every digit it got right before
    assert np.all(k >= r) and np.all(np.diff(k, axis=0) >= 0)
    assert out["followed"] == 0.0
    known, wrong = out["table"]
    assert np.all((known < 0) | (known == seq))  # remembers only right digits ...
    assert not np.any(wrong[np.arange(cfg.lineages)[:, None], np.arange(cfg.length), seq])  # ... excludes only wrong ones
    assert r[-1].mean() > r[0].mean() + 1  # and it learns


def test_a_perfect_visible_demonstrator_is_copied_to_the_end():
    cfg = _cfg()
    seq = _seq(cfg)
    perfect = (seq.copy(), np.zeros((cfg.lineages, cfg.length, cfg.digits), bool))
    out = ca.live(seq, perfect, 4, np.ones(4), cfg, np.random.default_rng(2))
    assert np.all(out["returns"] == cfg.length)
    # episode 1 is all copying; afterwards the learner plays from memory unless it forgot
    assert 0.25 <= out["followed"] < 0.25 + 0.75 * 0.3


def test_an_invisible_demonstrator_changes_nothing():
    cfg = _cfg()
    seq = _seq(cfg)
    perfect = (seq.copy(), np.zeros((cfg.lineages, cfg.length, cfg.digits), bool))
    a = ca.live(seq, perfect, 4, np.zeros(4), cfg, np.random.default_rng(3))
    b = ca.live(seq, ca.empty(cfg.lineages, cfg), 4, np.zeros(4), cfg, np.random.default_rng(3))
    assert np.array_equal(a["returns"], b["returns"]) and a["followed"] == b["followed"] == 0.0
    c = ca.live(seq, perfect, 4, np.ones(4), _cfg(trust=0.0), np.random.default_rng(3))
    assert np.array_equal(c["returns"], b["returns"])  # trust 0: seen but never copied


def test_a_wrong_demonstration_is_tried_once_then_avoided():
    cfg = _cfg(forget=0.0, digits=2)  # two digits: once the shown one fails, the other is right
    seq = _seq(cfg)
    liar = ((seq + 1) % 2, np.zeros((cfg.lineages, cfg.length, 2), bool))
    out = ca.live(seq, liar, 4, np.ones(4), cfg, np.random.default_rng(4))
    r = out["returns"]
    assert np.all(r[0] == 0)  # copies the wrong digit at t = 0 and fails
    assert np.all(r[1:] == np.arange(1, 4)[:, None])  # then one more position per episode


def test_forgetting_costs_return():
    seq = _seq(_cfg(lineages=200))
    res = {}
    for f in (0.0, 0.5):
        cfg = _cfg(forget=f, lineages=200, episodes=8)
        res[f] = ca.live(seq, ca.empty(200, cfg), 8, np.zeros(8), cfg, np.random.default_rng(5))["returns"][4:].mean()
    assert res[0.5] < res[0.0] - 0.5, res


@pytest.mark.parametrize("bad", [{"vis_prob": 1.5}, {"vis_prob": -0.1}, {"trust": 2}, {"forget": 1.0},
                                 {"forget": -0.1}, {"digits": 1}, {"length": 0}, {"episodes": 0},
                                 {"generations": 0}, {"lineages": 0}, {"vis_decay": True, "episodes": 1},
                                 {"vis_prob": "often"}, {"memory": 3}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("cultural_accumulation").make_config("tiny", bad)


def test_post_init_names_the_field():
    with pytest.raises(ValueError, match="vis_prob must be in \\[0, 1\\]"):
        ca.CulturalAccumulationConfig(vis_prob=1.2)


# -- agent=rl: the trained policy networks of _cultural_agents.py ------------------------------
@pytest.mark.parametrize("bad", [{"agent": "dqn"}, {"updates": 0},
                                 {"batch": 0}, {"hidden": 0}, {"lr": 0.0}, {"ent_coef": -1}])
def test_bad_rl_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("cultural_accumulation").make_config("tiny", bad)


def test_play_counts_right_digits_up_to_the_first_mistake():
    import torch

    from emergelab.worlds._cultural_agents import play

    seq = torch.tensor([[0, 1, 2, 0]])
    acts = torch.tensor([[[0, 1, 2, 0], [0, 2, 2, 0], [1, 1, 2, 0]]])  # (1 lineage, 3 episodes, L)
    alive, right, ret = play(seq, acts)
    assert ret.tolist() == [[4, 1, 0]]
    assert alive[0].long().tolist() == [[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]]  # played steps


class _Shows:
    """A stand-in demonstrator that always shows the given digits (n, L)."""

    def __init__(self, digits):
        self.digits = digits

    def act_alone(self, B, gen):
        return self.digits[:, None].expand(-1, B, -1).clone()


def _rl_cfg(**kw):
    return ca.CulturalAccumulationConfig(**{"digits": 3, "length": 6, "lineages": 8, "agent": "rl", "batch": 16,
                                            "hidden": 16, "lr": 0.03, **kw})


def test_rl_agent_learns_to_copy_a_perfect_demonstrator_and_ignores_an_invisible_one():
    import torch

    from emergelab.worlds._cultural_agents import live

    cfg = _rl_cfg()
    gen = torch.Generator().manual_seed(0)
    seq = torch.randint(3, (8, 6), generator=gen)
    seen = live(seq, _Shows(seq), 1.0, 20, cfg, torch.Generator().manual_seed(1))
    assert seen["followed"] > 0.6 and seen["returns"][-5:].mean() > 4.5, seen["returns"][-5:]
    alone = live(seq, _Shows(seq), 0.0, 20, cfg, torch.Generator().manual_seed(1))
    blind = live(seq, None, 0.0, 20, cfg, torch.Generator().manual_seed(1))
    assert alone["followed"] == 0.0 and torch.equal(alone["returns"], blind["returns"])  # never shown: nothing
    assert seen["returns"].mean() > alone["returns"].mean() + 0.5, (seen["returns"].mean(), alone["returns"].mean())


# -- agent=icl: the meta-trained in-context GRU of _cultural_icl.py ----------------------------
@pytest.mark.parametrize("bad", [{"agent": "icl", "meta_updates": 0}, {"agent": "icl", "meta_batch": 0},
                                 {"gamma": 1.5}, {"gae_lambda": -0.1}, {"agent": "rl2"}, {"meta_long": -1},
                                 {"vis_decay": True}])
def test_bad_icl_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("cultural_accumulation").make_config("icl_tiny", bad)


def _icl(L=5, D=3, H=8, seed=0):
    import torch

    from emergelab.worlds._cultural_icl import ICLAgent

    return ICLAgent(L, D, H, torch.Generator().manual_seed(seed))


def test_icl_lifetime_shapes_and_bookkeeping():
    import torch

    from emergelab.worlds._cultural_icl import lifetime

    B, L, D, E = 6, 5, 3, 3
    net = _icl(L, D)
    seq = torch.randint(D, (B, L), generator=torch.Generator().manual_seed(1))
    demo = torch.full((B, L), -1)
    out = lifetime(net, seq, demo, torch.zeros(B, E, L, dtype=torch.bool), E, torch.Generator().manual_seed(2),
                   grad=True)
    assert out["actions"].shape == out["alive"].shape == out["right"].shape == (B, E, L)
    assert out["returns"].shape == (B, E)
    for k in ("logp", "ent", "v"):
        assert out[k].shape == (B, E * L), k
    alive, right, acts = out["alive"], out["right"], out["actions"]
    assert torch.all(alive[:, :, 0])  # every episode plays its first position
    assert torch.equal(alive[:, :, 1:], right[:, :, :-1])  # ... and goes on only after a right digit
    assert torch.all((acts >= 0) == alive) and torch.equal(right, alive & (acts == seq[:, None]))
    assert torch.equal(out["returns"], right.sum(-1)) and out["followed"] == 0.0
    assert torch.all(out["logp"] <= 0) and out["logp"].requires_grad


def test_icl_demonstrator_input_is_masked_when_not_visible():
    import torch

    from emergelab.worlds._cultural_icl import lifetime

    net, B, L, D, E = _icl(), 4, 5, 3, 2
    demo = torch.tensor([0, 1, 2, 0 + D, -1]).expand(B, L)  # digits, a marked mistake, nothing
    show = torch.tensor([True, False, True, True])
    idx = torch.stack([net.index(torch.zeros(B, dtype=torch.long), t, demo[:, t], show) for t in range(L)], 1)
    slot = idx[..., 2] - net.off_demo  # (B, L)
    assert slot[0].tolist() == [0, 1, 2, D, 2 * D]  # shown digits; the mistake's own slot; nothing shown
    assert slot[1].tolist() == [2 * D] * L  # not visible: the 'not shown' slot, whatever the demo
    assert idx[0, :, 1].tolist() == [net.off_pos + t for t in range(L)]
    seq = torch.randint(D, (B, L), generator=torch.Generator().manual_seed(3))

    def play(demo, visible):
        return lifetime(net, seq, demo, visible, E, torch.Generator().manual_seed(4), grad=True)

    ones, zeros = torch.ones(B, E, L, dtype=torch.bool), torch.zeros(B, E, L, dtype=torch.bool)
    hidden, nobody = play(seq.clone(), zeros), play(torch.full((B, L), -1), ones)
    assert torch.equal(hidden["actions"], nobody["actions"]) and torch.equal(hidden["v"], nobody["v"])  # invisible = absent
    seen = play((seq + 1) % D, ones)
    assert not torch.equal(seen["v"][:, 0], hidden["v"][:, 0])  # a visible demonstration is an input


def test_icl_final_demo_and_training_demos():
    import torch

    from emergelab.worlds._cultural_icl import final_demo, lifetime, training_demos

    D = 3
    acts = torch.tensor([[[0, -1, -1], [1, 2, 1]], [[2, 2, 2], [2, 0, -1]]])  # (2 lineages, 2 episodes, 3)
    right = torch.tensor([[[True, False, False], [True, True, True]], [[True, True, True], [True, False, False]]])
    assert final_demo(acts, right, D).tolist() == [[1, 2, 1], [2, 0 + D, -1]]  # completed; ended by a mistake
    seq = torch.randint(D, (4000, 7), generator=torch.Generator().manual_seed(5))
    demo = training_demos(seq, D, torch.Generator().manual_seed(6))
    none = (demo == -1).all(1)
    assert 0.15 < none.float().mean() < 0.25  # 20% without a demonstrator
    shown = demo[~none]
    marked = shown >= D
    assert torch.all(marked.sum(1) <= 1)  # at most one marked mistake per demonstration ...
    k = torch.where(marked.any(1), marked.float().argmax(1), seq.shape[1])
    pos = torch.arange(seq.shape[1])
    assert torch.all((shown >= 0) == (pos <= k[:, None]) & (pos < seq.shape[1]))  # ... and nothing after it
    assert torch.all(shown[marked] - D != seq[~none][marked])  # the marked digit is wrong
    inside = (pos < k[:, None])
    clean = (shown == seq[~none])[inside].float().mean()
    assert 0.85 < clean < 0.98  # noisy demonstrators (30%, up to 50% wrong) among clean ones
    # an agent that follows a perfect visible demonstration is played by the book
    net = _icl(7, D)
    out = lifetime(net, seq[:8], seq[:8], torch.ones(8, 2, 7, dtype=torch.bool), 2, torch.Generator().manual_seed(7))
    assert 0.0 <= out["followed"] <= 1.0


def test_icl_advantages_skip_dead_steps():
    import torch

    from emergelab.worlds._cultural_icl import advantages

    r = torch.tensor([[1.0, 0.0, 9.0, 1.0]])
    v = torch.tensor([[0.5, 0.2, 7.0, 0.1]])
    alive = torch.tensor([[True, True, False, True]])  # step 2 not played: passed over
    adv, ret = advantages(r, v, alive, gamma=0.5, lam=1.0)
    # played steps 0, 1, 3: Monte Carlo returns with gamma 0.5 (lam 1): 1 + 0.5 (0 + 0.5 * 1) = 1.25, 0.5, 1
    assert torch.allclose(ret, torch.tensor([[1.25, 0.5, 0.0, 1.0]]))
    assert torch.allclose(adv, torch.tensor([[0.75, 0.3, 0.0, 0.9]]))
