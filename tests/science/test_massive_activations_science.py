"""Massive activations on a short seeded run (the quick preset cut to 600 steps, ~30 s of CPU):
the ratio max|h| / median|h| of the residual stream grows over training (after a dip while the
loss falls fastest), entries pass |a| > 100, and the paper's five-parameter trajectory fits the
ratio with a sensible R^2. One cached run serves every test."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from emergelab.lab.sweep import run_world


@functools.lru_cache(maxsize=None)
def _run():
    return run_world("massive_activations", "quick", steps=600, log_every=20)


@pytest.mark.slow
def test_the_ratio_grows_over_training():
    rec = _run()
    steps, r = rec.series("act/ratio_max")
    assert r[-1] > 1.8 * r[0], (r[0], r[-1])  # init: ~6.5, the Gaussian max/median of 16k entries
    late = r[steps >= 400]
    assert late.min() > r[steps <= 100].max(), "the growth lasts, it is not one spike"
    for l in range(4):  # every layer, not only the deepest
        assert rec.series(f"act/ratio_l{l}")[1][-1] > 1.5 * rec.series(f"act/ratio_l{l}")[1][0], l
    _, vl = rec.series("val/loss")
    assert vl[-1] < 0.4 * vl[0]  # it learns the text: ln(257) = 5.5 -> ~2.1


@pytest.mark.slow
def test_outlier_entries_pass_the_absolute_threshold():
    rec = _run()
    assert max(rec.series(f"act/max_l{l}")[1][-1] for l in range(4)) > 100


@pytest.mark.slow
def test_the_trajectory_fit_is_sensible():
    s = _run().summary
    assert s["fit_layer"] in range(4)
    assert s["fit_r2"] >= 0.8, s
    assert np.isfinite(s["delta_aic"]) and s["step_r2"] >= 0.8, s
