"""bandit_meta_rl runs its tiny preset in every setting (full, no structure, no memory, longer
episodes, discount, sampled evaluation), logs what it promises and is registered with presets."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world

TRAIN = ("train/reward", "train/regret")
EVAL = ("eval/regret", "eval/regret_vs_ts", "eval/regret_vs_ucb", "eval/explore_early", "eval/explore_late")
KINDS = [{}, {"structure": False}, {"memory": False}, {"episode_len": 3, "n_episodes": 3},
         {"gamma": 0.9, "eval_policy": "sample"}]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: "-".join(f"{a}={b}" for a, b in k.items()) or "full")
def test_tiny_logs_everything(kind):
    import torch

    threads = torch.get_num_threads()
    rec = run_world("bandit_meta_rl", "tiny", **kind)
    assert torch.get_num_threads() == threads  # the world's 1 thread is restored after the run
    cfg = get_world("bandit_meta_rl").make_config("tiny", kind)
    assert set(TRAIN + EVAL) <= set(rec.names)
    steps, reward = rec.series("train/reward")
    assert steps.tolist() == [*range(0, cfg.updates, cfg.log_every), cfg.updates - 1][: len(steps)]
    assert np.all((reward >= 0) & (reward <= 1))
    T = cfg.n_episodes * cfg.episode_len
    assert np.all((rec.series("train/regret")[1] >= 0) & (rec.series("train/regret")[1] <= T))
    ev_steps = rec.series("eval/regret")[0]
    assert ev_steps.tolist() == [*range(0, cfg.updates, cfg.eval_every), cfg.updates]
    for name in ("eval/explore_early", "eval/explore_late"):
        v = rec.series(name)[1]
        assert np.all((v >= 0) & (v <= 1)), name
    s = rec.summary
    for name in EVAL:
        assert s[name.split("/")[1]] == rec.series(name)[1][-1]
    assert np.isclose(s["regret_vs_ts"], s["regret"] / s["regret_ts"])
    assert 0 < s["regret_ts"] < T and 0 < s["regret_ucb"] < T and 0 < s["regret_greedy"] < T
    assert s["explore_early_ucb"] == 1.0  # UCB1 tries every arm first: early pulls all explore
    assert s["pulls_per_trial"] == T and s["window_pulls"] == 2
    want = "no-structure" if kind.get("structure") is False else "no-memory" if kind.get("memory") is False else "full"
    assert s["setting"] == want


def test_registered_with_presets_and_paper_defaults():
    w = get_world("bandit_meta_rl")
    assert {"paper", "quick", "tiny"} <= set(w.preset_names())
    paper = w.make_config("paper")
    assert (paper.n_arms, paper.structure, paper.memory, paper.gamma, paper.ent_coef) == (5, True, True, 0.0, 0.0)
    assert paper.eval_policy == "greedy"
    assert "Rentschler" in w.paper and "eval/explore_early" in w.watch
