"""causal_games: the paper's negative result on random leader-follower games (Thumm 2025, SCIENCE B8).

1. With a rationally best-responding follower the sequential causal equilibrium gives no welfare
   gain over strong Stackelberg: in every setting (payoff correlation -0.8 ... 0.8, 100 games
   each; and 2x2, 2x3, 4x4 games, 50 each) the paired difference is 0 in every game, and no
   causal rung ever pays the leader strictly more than commitment (intervention).
2. The classical orderings hold on the same games: mixed commitment >= pure commitment and >=
   the leader's best Nash payoff; best Nash welfare >= worst; the satisficing worst case <= best.
3. The counter-example condition: a satisficing follower (eps = 0.1) whom the leader's causal
   signal can steer pays the leader more in every setting, the more so the more the players'
   interests conflict, and the gain grows with eps.

Measured here (seed 0, uniform payoffs, 3x3, 100 games per setting), welfare causal - mixed:
0 in all 500 games (p = 1); steered follower, leader gain by correlation -0.8 ... 0.8:
0.063, 0.047, 0.021, 0.015, 0.004.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from emergelab.lab.sweep import run_world

pytestmark = pytest.mark.slow


@functools.lru_cache(maxsize=None)
def _run(preset: str, **overrides):
    rec = run_world("causal_games", preset, **overrides)
    return rec.wide(), rec.summary


@pytest.mark.parametrize("setting", [("paper", ()), ("paper", (("m", 2), ("n", 2), ("n_games", 50))),
                                     ("paper", (("m", 2), ("n", 3), ("n_games", 50))),
                                     ("paper", (("m", 4), ("n", 4), ("n_games", 50), ("dist", "normal")))],
                         ids=["3x3", "2x2", "2x3", "4x4-normal"])
def test_no_welfare_gain_of_the_causal_equilibrium_over_stackelberg(setting):
    w, s = _run(setting[0], **dict(setting[1]))
    assert s["causal_gain"] == "none" and s["causal_gain_p"] >= 0.05 and s["games"] >= 50 * len(w)
    assert s["games_causal_higher"] == 0 and s["games_causal_lower"] == 0
    assert np.all(w["gain/causal_welfare_lo"] <= 0) and np.all(w["gain/causal_welfare_hi"] >= 0)
    assert np.all(w["causal/strict_other"] == 0) and np.all(w["causal/rung_intervention"] == 1)


def test_classical_orderings_on_the_same_games():
    w, _ = _run("paper")
    assert np.all(w["leader/mixed"] >= w["leader/pure"] - 1e-9)
    assert np.all(w["leader/mixed"] >= w["leader/nash_best"] - 1e-9)
    assert np.all(w["welfare/nash_best"] >= w["welfare/nash_worst"])
    assert np.all(w["leader/satisfice_worst"] <= w["leader/pure"] + 1e-9)
    assert np.all(w["leader/pure"] <= w["leader/satisfice_best"] + 1e-9)
    # common interest raises every concept's welfare and the number of equilibria
    for c in ("pure", "mixed", "nash_best", "causal"):
        assert np.all(np.diff(w[f"welfare/{c}"]) > 0), c
    assert w["nash/count"].iloc[-1] > w["nash/count"].iloc[0]


def test_a_steerable_satisficing_follower_gives_the_leader_a_gain():
    w, s = _run("steer")
    gain = w["gain/causal_leader"].to_numpy()
    assert np.all(gain > 0) and gain[0] > 3 * gain[-1]  # largest when interests conflict
    small, _ = _run("paper", steer=True, eps=0.02, correlations=(0.0,))
    large, _ = _run("paper", steer=True, eps=0.3, correlations=(0.0,))
    assert 0 < small["gain/causal_leader"].iloc[0] < w["gain/causal_leader"].iloc[2] < large["gain/causal_leader"].iloc[0]
