"""causal_games: the tiny preset logs every concept's welfare with ordered intervals, the paired
gain and the causal rungs, keeps a per-game artefact, and bad configs are rejected clearly."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.measures.games import LAYERS
from emergelab.worlds.causal_games import CONCEPTS


@pytest.mark.parametrize("overrides", [{}, {"steer": True, "dist": "normal", "correlations": (-1.0, 1.0)},
                                       {"m": 3, "n": 2}])
def test_tiny_logs_every_concept(overrides):
    rec = run_world("causal_games", "tiny", **overrides)
    cfg = get_world("causal_games").make_config("tiny", overrides)
    S, G = len(cfg.correlations), cfg.n_games
    w = rec.wide()
    assert w.index.tolist() == list(range(S))
    assert np.allclose(w["setting/correlation"], cfg.correlations)
    for c in CONCEPTS:
        mean, lo, hi = w[f"welfare/{c}"], w[f"welfare/{c}_lo"], w[f"welfare/{c}_hi"]
        assert np.all(np.isfinite(mean)) and np.all(lo <= mean) and np.all(mean <= hi), c
        assert np.allclose(w[f"leader/{c}"] + w[f"follower/{c}"], mean), c
    rungs = w[[f"causal/rung_{name}" for name in LAYERS]].sum(axis=1)
    assert np.allclose(rungs, 1.0) and np.all(w["nash/count"] >= 1)
    assert np.all(w["gain/causal_welfare_lo"] <= w["gain/causal_welfare"])
    assert np.all(w["welfare/satisfice_worst"] <= w["welfare/satisfice_best"] + 1e-12)
    games = rec.artefacts["games"]
    assert len(games) == S * G * len(CONCEPTS) and set(games.concept) == set(CONCEPTS)
    s = rec.summary
    assert s["games"] == S * G and s["causal_gain"] in ("none", "gain", "loss")
    assert np.isclose(s["welfare_causal"], games[games.concept == "causal"].welfare.mean())
    if not cfg.steer:  # a rational follower: the causal equilibrium is the Stackelberg equilibrium
        assert s["causal_gain"] == "none" and s["games_causal_higher"] == s["games_causal_lower"] == 0


def test_uniform_payoffs_stay_in_the_unit_interval_and_correlation_shows():
    from emergelab.worlds.causal_games import draw_games

    z1, z2 = np.random.default_rng(0).standard_normal((2, 4000, 2, 2))
    for rho in (-0.9, 0.0, 0.9):
        A, B = draw_games(z1, z2, rho, "uniform")
        assert A.min() >= 0 and A.max() <= 1 and abs(np.corrcoef(A.ravel(), B.ravel())[0, 1] - rho) < 0.05
    A, B = draw_games(z1, z2, -1.0, "uniform")
    assert np.allclose(A + B, 1.0)  # rho = -1: constant-sum


@pytest.mark.parametrize("bad", [{"m": 1}, {"n": 7}, {"n_games": 1}, {"correlations": (0.0, 1.5)},
                                 {"correlations": ()}, {"eps": -0.1}, {"level": 1.0}, {"dist": "cauchy"}])
def test_bad_config_is_one_clear_error(bad):
    with pytest.raises(UserError) as e:
        get_world("causal_games").make_config("tiny", bad)
    assert "\n" not in str(e.value)
