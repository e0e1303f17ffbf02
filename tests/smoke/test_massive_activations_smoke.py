"""The massive-activations world runs end to end in a few seconds, logs the per-layer ratio,
fits it in its summary and rejects bad configs in one line."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world


def test_tiny_logs_every_layer():
    rec = run_world("massive_activations", "tiny")
    names = set(rec.names)
    assert {"train/loss", "val/loss", "act/ratio_max"} <= names
    assert {f"act/{m}_l{l}" for m in ("ratio", "max", "massive") for l in (0, 1)} <= names
    assert rec.series("val/loss")[0].tolist() == [0, 2, 4, 6]
    assert rec.series("train/loss")[0].tolist() == [2, 4, 6]  # the last training batch's loss
    for n in rec.names:
        assert np.all(np.isfinite(rec.series(n)[1])), n
    r0, r1, rmax = (rec.series(n)[1] for n in ("act/ratio_l0", "act/ratio_l1", "act/ratio_max"))
    assert np.all(r0 >= 1) and np.array_equal(rmax, np.maximum(r0, r1))
    s = rec.summary
    assert s["fit_r2"] is None  # 4 points: too few for a five-parameter fit
    assert s["steps"] == 6 and s["corpus_bytes_used"] == 20_000 and s["corpus_files"] >= 1
    assert s["max_ratio"] == pytest.approx(float(rmax.max()))


def test_longer_tiny_run_fits_its_trajectory():
    rec = run_world("massive_activations", "tiny", steps=16, log_every=1)
    s = rec.summary
    assert s["fit_layer"] in (0, 1) and s["preferred"] in ("trajectory", "step")
    assert -1 <= s["fit_r2"] <= 1 and np.isfinite(s["delta_aic"])
    assert {f"fit_l{l}_{k}" for l in (0, 1) for k in ("A", "lam", "gamma", "t0", "K", "r2")} <= set(s)
    assert s["fit_r2"] == s[f"fit_l{s['fit_layer']}_r2"]


def test_corpus_is_deterministic_stdlib_source():
    from emergelab.worlds.massive_activations import stdlib_corpus

    a, n = stdlib_corpus(50_000)
    b, m = stdlib_corpus(50_000)
    assert a == b and n == m and len(a) == 50_000
    assert b"def " in a and b"import " in a


def test_summary_headline_is_the_layer_with_the_largest_final_ratio():
    import pandas as pd

    from emergelab.measures.activations import trajectory
    from emergelab.worlds.massive_activations import summarize

    t = np.arange(0, 1000, 20.0)
    df = pd.DataFrame({"act/ratio_l0": trajectory(t, 5, 0.5, 0.01, 1, 6),
                       "act/ratio_l10": trajectory(t, 40, 0.1, 0.01, 1, 7),  # the largest final ratio
                       "act/ratio_l2": 7.0 + t / 1000}, index=t.astype(int))
    s = summarize(df)
    assert s["fit_layer"] == 10 and s["fit_r2"] > 0.999 and s["preferred"] == "trajectory"
    assert s["max_ratio"] == pytest.approx(df.to_numpy().max())


@pytest.mark.parametrize("bad", [{"d_model": 15}, {"lr": 0.0}, {"val_fraction": 1.0}, {"corpus_bytes": 30},
                                 {"steps": 0}, {"device": "tpu"}, {"threads": -1}])
def test_bad_config_is_a_clear_error(bad):
    from emergelab.errors import UserError

    with pytest.raises(UserError, match="invalid config|bad value"):
        get_world("massive_activations").make_config("tiny", bad)
