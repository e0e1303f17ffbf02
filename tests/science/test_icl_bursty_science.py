"""Bursty in-context learning (Chan et al. 2022; Reddy 2023's Gaussian-cluster setting, 2
single-head attention layers + MLP readout, Adam 1e-3, batch 128, B=2, p_B=1), seed 0:
- K=4,096 classes (`quick`, 2,000 steps, ~30-60 s on one core): ICL on novel classes jumps from
  the 1/(N/B) = 0.25 plateau to ~0.99 around step 1,100-1,200 while in-weights stays at chance;
- K=256 (`memorise`, 1,000 steps): the model memorises instead (in-weights ~0.9, ICL low);
- an LSTM of about the same size with the `quick` budget stays on the plateau (~0.25).
"""

from __future__ import annotations

import functools

import pytest

from emergelab.lab.sweep import run_world


@functools.lru_cache(maxsize=None)
def _run(preset: str, **overrides):
    return run_world("icl_bursty", preset, **overrides)


@pytest.mark.slow
def test_many_classes_give_abrupt_in_context_learning():
    rec = _run("quick")
    s = rec.summary
    assert s["final_icl_acc"] >= 0.9, s
    assert s["final_icl_flip_acc"] >= 0.9, s  # it follows the context's labels, not the trained ones
    assert s["final_iw_acc"] < 0.15, s  # in-weights stays near chance (1/32)
    assert s["icl_step"] is not None and 400 <= s["icl_step"] <= 1800, s
    steps, icl = rec.series("icl/acc")
    assert icl[(steps >= 200) & (steps <= 600)].max() < 0.4, "a plateau first, near 1/(N/B) = 0.25"
    _, ind = rec.series("probe/induction_l1")
    assert ind[-1] > ind[steps <= 600].max() + 0.1  # layer-1 attention turns to the matching label


@pytest.mark.slow
def test_few_classes_give_in_weights_learning():
    s = _run("memorise").summary
    assert s["final_iw_acc"] >= 0.4, s
    assert s["final_icl_acc"] < 0.3, s
    assert s["iw_step"] is not None and s["icl_step"] is None, s


@pytest.mark.slow
def test_lstm_does_not_learn_in_context_in_the_same_budget():
    lstm, tf = _run("quick", model="lstm").summary, _run("quick").summary
    assert lstm["final_icl_acc"] < 0.5 and lstm["final_icl_acc"] < tf["final_icl_acc"] - 0.4, (lstm, tf)
    assert lstm["icl_step"] is None, lstm
