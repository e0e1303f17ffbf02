"""Cultural accumulation on the memory-sequence task (tabular preset: 3 digits, length 24, 4
episodes a life, 8 generations, 256 lineages), seeds 0-2.

1. With social learning (vis_prob 0.9 and 1) the last generation beats the single lifetime
   that has had the same total experience (32 episodes), on every seed; knowledge passed on
   (culture/known) grows over generations.
2. Without it (vis_prob 0) it does not: every generation starts afresh, stays flat and below.
3. More visibility, more accumulation: the last generation's return rises with vis_prob.
4. The control: with unbounded memory (forget=0) a single life loses nothing, and no vis_prob
   lets generations beat it.

Measured here (last generation's return per episode, mean over seeds 0-2; the single life
over the same 4 episodes, 25-32 of its 32: 7.06; the gain's standard error within a run 0.2-0.4):
    vis_prob 0     culture  1.54   gain  -5.52    known 2.6 -> 2.7
    vis_prob 0.5   culture  3.76   gain  -3.30    known 2.5 -> 5.5
    vis_prob 0.9   culture 14.64   gain  +7.57    known 2.6 -> 17.6
    vis_prob 1     culture 22.89   gain +15.83    known 2.6 -> 23.3
    forget=0 (single 23.87): vis_prob 0.9 gain -6.31, vis_prob 1 gain -0.10
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from emergelab.lab.sweep import run_world

pytestmark = pytest.mark.slow
SEEDS = (0, 1, 2)


@functools.lru_cache(maxsize=None)
def _runs(vis_prob: float, forget: float = 0.1) -> list[dict[str, np.ndarray]]:
    out = []
    for seed in SEEDS:
        rec = run_world("cultural_accumulation", "tabular", seed=seed, vis_prob=vis_prob, forget=forget)
        out.append({k: rec.series(k)[1] for k in ("culture/return", "single/return", "culture/gain", "culture/known")})
    return out


def test_social_learning_beats_a_single_lifetime_at_equal_experience():
    for vis in (0.9, 1.0):
        for r in _runs(vis):
            assert r["culture/gain"][-1] > 3.0, (vis, r["culture/gain"])  # +7.6, +15.8
            assert r["culture/known"][-1] > r["culture/known"][0] + 8, (vis, r["culture/known"])  # 2.6 -> 17.6, 23.3


def test_without_social_learning_generations_stay_below():
    for r in _runs(0.0):
        assert np.all(r["culture/gain"][1:] < -1.0), r["culture/gain"]  # -5.5 at the end
        assert abs(r["culture/return"][-1] - r["culture/return"][0]) < 0.4, r["culture/return"]  # flat: no ratchet


def test_accumulation_grows_with_visibility():
    last = [np.mean([r["culture/return"][-1] for r in _runs(v)]) for v in (0.0, 0.5, 0.9, 1.0)]
    assert np.all(np.diff(last) > 1.0), last  # 1.5, 3.8, 14.6, 22.9


def test_unbounded_memory_is_never_beaten():
    for vis in (0.0, 0.9, 1.0):
        for r in _runs(vis, forget=0.0):
            assert r["culture/gain"][-1] < 0.2, (vis, r["culture/gain"])  # 1.0: -0.10; 0.9: -6.3


# -- agent=rl: trained policy networks (train-time generations), seconds-sized setting ---------
# Measured (seed 0; 8 lineages, length 24, 3 generations x 40 updates x 16 episodes; ~2 s each):
#   single life known 4.1 -> 7.9 -> 12.1, return 2.0 -> 5.3 -> 9.0
#   vis 0:   culture known 4.2, 4.6, 4.1, return ~2.1 (every generation starts afresh)
#   vis 0.9: culture known 4.1, 4.9, 5.5, return 2.0 -> 2.5, followed 0.33 -> 0.79
@functools.lru_cache(maxsize=None)
def _rl(vis_prob: float):
    rec = run_world("cultural_accumulation", "rl", seed=0, vis_prob=vis_prob, length=24, lineages=8,
                    generations=3, updates=40, batch=16)
    return {k: rec.series(k)[1] for k in ("culture/return", "single/return", "culture/known", "single/known",
                                          "culture/followed")}


def test_rl_single_life_keeps_learning_and_fresh_generations_without_culture_do_not():
    r = _rl(0.0)
    assert np.all(np.diff(r["single/known"]) > 2), r["single/known"]  # 4.1, 7.9, 12.1
    assert np.all(r["culture/return"][1:] < r["single/return"][1:] - 2), r  # flat ~2.1 against 5.3, 9.0
    assert np.ptp(r["culture/known"]) < 1.5, r["culture/known"]


def test_rl_generations_learn_to_follow_but_do_not_yet_beat_the_single_life():
    r = _rl(0.9)
    assert r["culture/followed"][-1] > 0.7, r["culture/followed"]  # social learning is learned (0.79)
    assert r["culture/known"][-1] >= _rl(0.0)["culture/known"][-1], r["culture/known"]
    # The known limitation (docs/worlds/cultural_accumulation.md): copying crowds out the
    # generation's own learning, so the ratchet stalls. If this fails, the RL agent now
    # accumulates: update the docs and make agent=rl the paper preset's default.
    assert r["culture/return"][-1] < r["single/return"][-1], r


# -- agent=icl: the paper's in-context model, meta-trained in-run ------------------------------
# One GRU meta-trained by A2C (seed 0; 300 updates instead of the preset's 800, 128 lineages;
# ~40 s of CPU), then evaluated at every vis_prob on the same sequences and the same single life
# (artefact vis_grid). Measured, return per episode per generation (gen 1 ... gen 8):
#   single life (same experience)  1.24 1.76 1.79 1.81 1.84 1.85 1.83 1.85
#   vis 0     1.28 1.30 1.32 1.31 1.29 1.23 1.30 1.29   gain -0.56   followed 0
#   vis 0.5   1.28 1.91 1.86 1.93 1.92 1.86 1.98 2.02   gain +0.17
#   vis 0.75  1.28 2.21 2.53 2.52 2.61 2.68 2.60 2.69   gain +0.84
#   vis 1     1.28 2.70 3.31 3.84 4.35 4.74 4.91 5.24   gain +3.40   followed 0.84, known 1.9 -> 5.2
@functools.lru_cache(maxsize=None)
def _icl():
    rec = run_world("cultural_accumulation", "icl", seed=0, meta_updates=300, lineages=128)
    grid = rec.artefacts["vis_grid"]
    return {v: d.sort_values("generation").reset_index(drop=True) for v, d in grid.groupby("vis_prob")}


def test_icl_generations_beat_the_single_life_with_social_learning_and_not_without():
    g = _icl()
    no, full = g[0.0], g[1.0]
    assert np.all(no.gain.iloc[1:] < -0.2), no.gain.tolist()  # vis 0: every generation below (-0.56)
    assert np.ptp(no.culture_return) < 0.3, no.culture_return.tolist()  # ... and flat: nothing passed on
    assert full.gain.iloc[-1] > 1.5, full.gain.tolist()  # vis 1: +3.4 at generation 8
    assert g[0.75].gain.iloc[-1] > 0.2, g[0.75].gain.tolist()  # +0.84
    assert full.culture_return.iloc[-1] > full.culture_return.iloc[1] + 1.5, full.culture_return.tolist()  # ratchet
    assert full.known.iloc[-1] > full.known.iloc[0] + 2, full.known.tolist()  # 1.9 -> 5.2


def test_icl_gain_grows_with_visibility_and_the_demonstrator_is_not_followed_blindly():
    g = _icl()
    last = [g[v].gain.iloc[-1] for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert np.all(np.diff(last) > 0), last  # -0.56, -0.31, +0.17, +0.84, +3.40
    assert np.all(g[0.0].followed == 0)
    fol = g[1.0].followed.iloc[1:]
    assert np.all((fol > 0.6) & (fol < 0.95)), fol.tolist()  # copies, but not the demonstrator's mistake (0.84)
