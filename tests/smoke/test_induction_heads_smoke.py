"""The induction-heads world runs end to end in a second, logs what it promises, accepts its
clamps and ablations, and is deterministic given its seed."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world


def _run(**overrides):
    return run_world("induction_heads", "tiny", **overrides)


def _all(rec) -> dict[str, np.ndarray]:
    return {n: rec.series(n)[1] for n in rec.names}


def test_tiny_logs_everything():
    rec = _run()
    names = set(rec.names)
    assert {"train/loss", "eval/loss", "icl/score", "probe/prefix_match_max_l1", "probe/prev_token_max_l0"} <= names
    assert {f"probe/prefix_match_l{l}h{h}" for l in (0, 1) for h in (0, 1)} <= names
    assert rec.series("eval/loss")[0].tolist() == [0, 2, 4, 6]
    assert rec.series("train/loss")[0].tolist() == [0, 2, 4]  # no training batch at the last step
    for name, v in _all(rec).items():
        assert np.all(np.isfinite(v)), name
    s = rec.summary
    assert {"phase_change_step", "induction_step", "final_icl_score", "final_prefix_match_max_l1"} <= set(s)
    assert s["steps"] == 6


@pytest.mark.parametrize("overrides", [{}, {"ablate": ("0.0", "0.1")}, {"task": "mix", "clamp_prev": ("0.1",)}])
def test_same_seed_same_numbers_other_seed_other_numbers(overrides):
    a, b, c = _all(_run(**overrides)), _all(_run(**overrides)), _all(_run(**overrides, seed=1))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["train/loss"], c["train/loss"])


def test_clamps_pin_the_patterns():
    rec = _run(clamp_prev=("0.0",), clamp_induction=("1.1",))
    assert np.allclose(rec.series("probe/prev_token_l0h0")[1], 1.0)
    assert np.allclose(rec.series("probe/prefix_match_l1h1")[1], 1.0)  # ideal induction head scores 1
    later = _run(clamp_prev=("0.0",), clamp_from=4)
    steps, v = later.series("probe/prev_token_l0h0")
    assert np.all(v[steps < 4] < 0.99) and np.allclose(v[steps >= 4], 1.0)


def test_ablation_changes_training_and_fewshot_runs():
    base, abl = _run(), _run(ablate=("0.0", "1.1"), ablate_from=2)
    assert np.array_equal(base.series("eval/loss")[1][:1], abl.series("eval/loss")[1][:1])
    assert not np.array_equal(base.series("eval/loss")[1], abl.series("eval/loss")[1])
    assert np.all(np.isfinite(_run(task="fewshot").series("train/loss")[1]))


def test_fewshot_labels_are_copyable():
    import torch

    from emergelab.worlds.induction_heads import _batch

    cfg = get_world("induction_heads").make_config("tiny", {"task": "fewshot", "n_items": 3})
    x = _batch(cfg, 5, "fewshot", torch.Generator().manual_seed(0))  # (5, T)
    ex, lab = x[:, 0::2], x[:, 1::2]
    assert (ex < cfg.vocab // 2).all() and (lab >= cfg.vocab // 2).all()
    for b in range(5):  # one label per exemplar within a sequence
        assert all(len(set(lab[b][ex[b] == e].tolist())) == 1 for e in ex[b].unique())


@pytest.mark.parametrize("bad", [{"seq_len": 15}, {"ablate": ("2.0",)}, {"ablate": ("x",)}, {"clamp_prev": ("0.5",)},
                                 {"clamp_induction": ("0.0",)}, {"ablate": ("0.0",), "clamp_prev": ("0.0",)},
                                 {"d_model": 15}, {"lr": 0.0}, {"task": "nope"}, {"steps": 0}])
def test_bad_config_is_a_clear_error(bad):
    from emergelab.errors import UserError

    with pytest.raises(UserError, match="invalid config|bad value"):
        get_world("induction_heads").make_config("tiny", bad)
