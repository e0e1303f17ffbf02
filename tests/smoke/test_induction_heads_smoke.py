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
    assert {f"probe/{m}_l{l}h{h}" for m in ("prefix_match", "prefix_match_last", "novel_period")
            for l in (0, 1) for h in (0, 1)} <= names
    assert {f"probe/{m}_max_l{l}" for m in ("prefix_match_last", "novel_period") for l in (0, 1)} <= names
    for l in (0, 1):  # Olsson's last-copy definition is never above the every-copy one
        last, every = rec.series(f"probe/prefix_match_last_max_l{l}")[1], rec.series(f"probe/prefix_match_max_l{l}")[1]
        assert np.all(last <= every + 1e-6)
    assert rec.series("eval/loss")[0].tolist() == [0, 2, 4, 6]
    assert rec.series("train/loss")[0].tolist() == [0, 2, 4]  # no training batch at the last step
    for name, v in _all(rec).items():
        assert np.all(np.isfinite(v)), name
    s = rec.summary
    assert {"phase_change_step", "induction_step", "final_icl_score", "final_prefix_match_max_l1",
            "final_prefix_match_last_max_l1", "final_novel_period_max_l1", "novel_period_step"} <= set(s)
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
    assert np.allclose(rec.series("probe/novel_period_l1h1")[1], 1.0)  # ... on the unseen period too
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


def test_novel_period_batch_is_its_own_stream():
    """Changing the novel period changes only probe/novel_period_*: its batch has its own seed."""
    a, b = _all(_run()), _all(_run(novel_period=3))  # tiny: seq_len 16, training periods 4..8, default 9
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a if "novel_period" not in k)
    assert not np.array_equal(a["probe/novel_period_l1h0"], b["probe/novel_period_l1h0"])


def test_summary_novel_period_step_reads_the_last_layer():
    import pandas as pd

    from emergelab.worlds.induction_heads import summarize

    steps = np.arange(0, 100, 10)
    late = (steps >= 60).astype(float)
    df = pd.DataFrame({"probe/novel_period_max_l2": late, "probe/novel_period_max_l10": (steps >= 30) * 1.0,
                       "probe/prefix_match_max_l10": late}, index=steps)
    out = summarize(df)
    assert out["novel_period_step"] == 30 and out["induction_step"] == 60  # l10, not l2 (string order)


@pytest.mark.parametrize("bad", [{"novel_period": 6}, {"novel_period": 16}, {"novel_period": 1},  # tiny: 4..8 trained
                                 {"seq_len": 15}, {"ablate": ("2.0",)}, {"ablate": ("x",)}, {"clamp_prev": ("0.5",)},
                                 {"clamp_induction": ("0.0",)}, {"ablate": ("0.0",), "clamp_prev": ("0.0",)},
                                 {"d_model": 15}, {"lr": 0.0}, {"task": "nope"}, {"steps": 0}])
def test_bad_config_is_a_clear_error(bad):
    from emergelab.errors import UserError

    with pytest.raises(UserError, match="invalid config|bad value"):
        get_world("induction_heads").make_config("tiny", bad)


def test_fewshot_metrics_logged():
    rec = _run(task="mix")
    names = set(rec.names)
    assert {"fewshot/acc", "fewshot/loss", "probe/induction_strength_max_l0", "probe/induction_strength_max_l1"} <= names
    assert {f"probe/induction_strength_l{l}h{h}" for l in (0, 1) for h in (0, 1)} <= names
    assert rec.series("fewshot/acc")[0].tolist() == [0, 2, 4, 6]
    acc, ist = rec.series("fewshot/acc")[1], rec.series("probe/induction_strength_max_l1")[1]
    assert np.all((acc >= 0) & (acc <= 1)) and np.all((ist >= -1) & (ist <= 1))
    s = rec.summary
    assert {"fewshot_step", "final_fewshot_acc", "final_fewshot_loss", "final_induction_strength_max_l1"} <= set(s)
    assert "fewshot_step" in get_world("induction_heads").summarize(rec.wide())
    off = _run(fewshot_eval_batch=0)  # switched off: no few-shot metrics, the rest unchanged
    assert not any(n.startswith("fewshot/") or "induction_strength" in n for n in off.names)
    assert np.array_equal(off.series("eval/loss")[1], _run().series("eval/loss")[1])


def test_fewshot_eval_batch_structure():
    """Every held-out sequence is exemplar-label pairs with one query: its exemplar occurs exactly
    once before (correct = the label after it) and a different exemplar before it (wrong); the
    scored positions are exactly the exemplars seen earlier in the sequence."""
    import torch

    from emergelab.worlds.induction_heads import _fewshot_eval

    cfg = get_world("induction_heads").make_config("tiny", {"n_items": 3})
    B, T = 40, cfg.seq_len
    x, q, cor, wr, scored = _fewshot_eval(cfg, B, torch.Generator().manual_seed(5))
    assert x.shape == (B, T) and q.shape == cor.shape == wr.shape == (B,) and scored.shape == (B, T - 1)
    assert (q % 2 == 0).all() and (cor % 2 == 1).all() and (wr % 2 == 1).all()  # exemplar / label positions
    assert (cor < q).all() and (wr < q).all() and (cor != wr).all()
    b = torch.arange(B)
    assert (x[b, cor - 1] == x[b, q]).all() and (x[b, wr - 1] != x[b, q]).all()
    for i in range(B):
        ex, n_before = x[i, 0::2], int(q[i]) // 2
        assert int((ex[:n_before] == x[i, q[i]]).sum()) == 1  # exactly one earlier copy
        want = torch.zeros(T - 1, dtype=torch.bool)
        for p in range(1, T // 2):
            want[2 * p] = bool((ex[:p] == ex[p]).any())
        assert torch.equal(scored[i], want)
        lab = x[i, 1::2]  # a label is known from the context wherever it is scored
        assert all(lab[p] == lab[(ex[:p] == ex[p]).nonzero()[0, 0]] for p in range(T // 2) if want[2 * p])
    again = _fewshot_eval(cfg, B, torch.Generator().manual_seed(5))
    assert all(torch.equal(u, v) for u, v in zip((x, q, cor, wr, scored), again))


def test_ideal_induction_head_scores_one_on_the_fewshot_batch():
    """clamp_induction pins a layer-1 head to the ideal pattern: induction strength is then 1 on
    the held-out few-shot queries (they have a single earlier copy)."""
    rec = _run(clamp_induction=("1.0",))
    assert np.allclose(rec.series("probe/induction_strength_l1h0")[1], 1.0)
    assert np.allclose(rec.series("probe/induction_strength_max_l1")[1], 1.0)


def test_a_small_wiggle_on_the_plateau_is_not_a_phase_change():
    import numpy as np
    import pandas as pd

    from emergelab.worlds.induction_heads import summarize

    steps = np.arange(0, 1000, 10)
    plateau = 4.0 - 0.12 / (1 + np.exp(-(steps - 150) / 10))  # a 3 % step down
    assert summarize(pd.DataFrame({"eval/loss": plateau}, index=steps))["phase_change_step"] is None
    real = plateau - 2.0 / (1 + np.exp(-(steps - 600) / 15))  # then half the loss goes
    assert abs(summarize(pd.DataFrame({"eval/loss": real}, index=steps))["phase_change_step"] - 600) < 30
