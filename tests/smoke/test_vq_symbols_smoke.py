"""The vq_symbols world runs end to end in a second or two (tiny preset) for every listener
variant, logs what it promises, keeps its code usage, and its summarize finds the gap step."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world

EVAL = {"game/acc", "control/acc_shuffled", "game/gap", "recon/mse", "codes/perplexity", "codes/usage",
        "codes/top10_share"}
FIT = {"codes/alpha", "codes/xmin", "codes/ks", "codes/llr_lognormal", "codes/llr_exp", "codes/p_lognormal",
       "codes/p_exp"}
TRAIN = {"train/loss", "train/recon", "train/vq", "train/game"}


@pytest.mark.parametrize("variant", [{}, {"listener_reads": "indices"}, {"channel": "none"}],
                         ids=["codebook", "indices", "no-message"])
def test_tiny_logs_everything(variant):
    rec = run_world("vq_symbols", "tiny", **variant)
    assert set(rec.names) == EVAL | FIT | TRAIN
    assert rec.series("game/acc")[0].tolist() == [0, 5, 10, 15, 20]
    assert rec.series("train/loss")[0].tolist() == [5, 10, 15, 20]  # nothing trained at step 0
    for name in ("game/acc", "control/acc_shuffled", "codes/usage", "codes/top10_share"):
        v = rec.series(name)[1]
        assert np.all((v >= 0) & (v <= 1)), name
    assert np.all(rec.series("codes/perplexity")[1] >= 1) and np.all(rec.series("codes/perplexity")[1] <= 8)
    for name in EVAL | TRAIN:
        assert np.all(np.isfinite(rec.series(name)[1])), name
    s = rec.summary
    assert s["chance"] == pytest.approx(1 / 3)
    assert s["final_game_gap"] == pytest.approx(s["final_game_acc"] - s["final_control_acc_shuffled"])
    assert {"final_lang_topsim", "powerlaw_vs_lognormal", "powerlaw_vs_exponential",
            "n_distinct_messages"} <= set(s)
    usage = rec.artefacts["code_usage"]
    assert len(usage["counts"]) == 8 and sum(usage["counts"]) == 64 * 2  # n_eval rounds x n_slots
    assert usage["rank_frequency"] == sorted(usage["counts"], reverse=True)
    if variant.get("channel") == "none":  # without a message the shuffle changes nothing
        assert np.array_equal(rec.series("game/acc")[1], rec.series("control/acc_shuffled")[1])


def test_fit_every_thins_the_power_law_fits():
    rec = run_world("vq_symbols", "tiny", fit_every=3, n_codes=16)
    steps = rec.series("codes/alpha")[0].tolist()
    assert steps == [0, 15, 20]  # logs 0 and 3, and the end


def test_summarize_finds_the_gap_step():
    import pandas as pd

    w = get_world("vq_symbols")
    curves = pd.DataFrame({"game/gap": [0.0, 0.05, 0.3, 0.5, 0.6]}, index=[0, 10, 20, 30, 40])
    assert w.summarize(curves)["gap_step"] == 20
    assert w.summarize(pd.DataFrame({"x": [1.0]}))["gap_step"] is None
