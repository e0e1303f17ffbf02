"""Exploration from exploitation (Rentschler & Roberts 2025), seeded and small: 5-armed Bernoulli
bandits, trials of 20 one-pull episodes, a GRU trained 200 updates of 128 trials on immediate
reward only (gamma = 0, no entropy bonus), evaluated greedily on 500 fixed bandits (seed 0).

1. With structure and memory the greedy agent explores early in a trial (tries arms other than
   the best one seen so far) and much less late, with regret within 1.5x Thompson sampling's.
2. Reshuffling the arms every episode (no structure) removes the exploration: the agent settles
   on one action index, and its regret is that of a random arm.
3. Resetting memory every episode (no memory) removes it too.

Measured here (seed 0): full explore early / late 0.27 / 0.04, regret 0.76x TS (Thompson
sampling: 3.90 per 20-pull trial); no structure 0.00 / 0.00, 1.69x; no memory 0.00 / 0.00,
1.64x. The three settings train in ~14 s (1 torch thread, 2 shared cores).
"""

from __future__ import annotations

import functools

import pytest

from emergelab.lab.sweep import run_world

pytestmark = pytest.mark.slow

SETTINGS = {"full": {}, "no_structure": {"structure": False}, "no_memory": {"memory": False}}


@functools.lru_cache(maxsize=None)
def _summary(setting: str) -> dict:
    # the world runs torch on 1 thread (its `threads` field) and restores the setting after
    return run_world("bandit_meta_rl", "quick", seed=0, updates=200, **SETTINGS[setting]).summary


def test_structure_and_memory_give_early_exploration_and_ts_level_regret():
    s = _summary("full")
    assert s["explore_early"] >= 0.15, s
    assert s["explore_late"] <= 0.5 * s["explore_early"], s  # it explores early, then exploits
    assert s["regret_vs_ts"] <= 1.5, s
    assert s["regret"] < s["regret_ucb"], s


@pytest.mark.parametrize("ablation", ["no_structure", "no_memory"])
def test_either_ablation_loses_the_exploration(ablation):
    full, s = _summary("full"), _summary(ablation)
    assert s["explore_early"] <= 0.05 and s["explore_early"] <= full["explore_early"] - 0.1, (ablation, s)
    assert s["regret_vs_ts"] > 1.4 and s["regret"] > 1.5 * full["regret"], (ablation, s)
    # the baselines faced the very same bandits and reward draws in every setting
    assert s["regret_ts"] == full["regret_ts"] and s["regret_ucb"] == full["regret_ucb"]
