"""The scaling-family world runs end to end in a second, writes the per (model, item) table the
forecasting instruments read, logs one point per model, rejects bad configs with a clear
message; its pure pieces (items, distractors, edit distance, PassUntil) do what they claim."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.measures.language import paired_edit_distances
from emergelab.worlds.scaling_family import PAD, distractors, make_items, pass_until

COLUMNS = ["model", "params", "compute", "item", "difficulty", "target_prob", "logprob", "correct",
           "edit_distance", "mc_correct", "brier", "n_samples", "n_pass"]
METRICS = [f"family/{m}" for m in ("params", "log10_params", "compute", "train_loss", "accuracy",
                                   "target_prob", "logprob", "edit_distance", "mc_accuracy", "brier",
                                   "pass_rate")]


def _cfg(preset="tiny", **overrides):
    return get_world("scaling_family").make_config(preset, overrides)


def test_tiny_writes_the_family_table_and_one_point_per_model():
    threads, state = torch.get_num_threads(), torch.random.get_rng_state()
    rec = run_world("scaling_family", "tiny")
    assert torch.get_num_threads() == threads  # the world's own thread setting is restored
    assert torch.equal(state, torch.random.get_rng_state())  # every draw from the world's own seeds
    f = rec.artefacts["family"]
    assert list(f.columns) == COLUMNS
    assert len(f) == 3 * 2 * 8 and f.model.nunique() == 3  # models x difficulties x items
    assert f.groupby("model", sort=False).params.first().is_monotonic_increasing
    assert np.allclose(f.compute, 6.0 * f.params * 20 * 32)
    assert sorted(f.difficulty.unique()) == [1, 2]
    assert f.correct.isin([0, 1]).all() and f.mc_correct.isin([0, 1]).all()
    assert ((f.target_prob > 0) & (f.target_prob < 1)).all() and (f.logprob < 0).all()
    assert (f.edit_distance <= f.difficulty + 1).all() and ((f.edit_distance == 0) == (f.correct == 1)).all()
    assert ((f.brier >= 0) & (f.brier <= 2)).all()
    assert ((f.n_pass <= 1) & (f.n_samples <= 200) & (f.n_samples >= 1)).all()
    assert ((f.n_pass == 1) | (f.n_samples == 200)).all()  # stopped at the first pass or at the cap
    assert set(METRICS) <= set(rec.names)
    for name in METRICS:
        steps, values = rec.series(name)
        assert steps.tolist() == [0, 1, 2] and np.isfinite(values).all(), name
    s = rec.summary
    assert s["n_models"] == 3 and s["params_min"] < s["params_max"]
    assert {"accuracy_smallest", "accuracy_largest", "pass_rate_smallest"} <= set(s)


def test_quick_and_paper_ladders_span_two_decades_of_parameters():
    from emergelab.worlds.scaling_family import build_mlp

    for preset in ("quick", "paper"):
        cfg = _cfg(preset)
        K = max(cfg.digits)
        nets = [build_mlp(w, cfg.depth, K, torch.Generator()) for w in cfg.widths]
        sizes = [sum(p.numel() for p in net.parameters()) for net in nets]
        assert len(sizes) >= 8 and sizes[-1] / sizes[0] >= 100, (preset, sizes)


def test_items_are_correct_sums_with_padded_operands():
    gen = torch.Generator().manual_seed(0)
    x, y, k = make_items(500, (1, 2, 3, 4), gen)
    assert x.shape == (500, 8) and y.shape == (500, 5) and set(k.tolist()) == {1, 2, 3, 4}
    place = 10 ** torch.arange(4)
    a, b = x[:, :4], x[:, 4:]
    pos = torch.arange(4)
    assert ((a == PAD) == (pos >= k[:, None])).all() and ((b == PAD) == (pos >= k[:, None])).all()
    val = lambda d: (torch.where(d == PAD, 0, d) * place).sum(1)  # noqa: E731
    s = (y * 10 ** torch.arange(5)).sum(1)
    assert torch.equal(s, val(a) + val(b))
    assert (y[torch.arange(5) > k[:, None]] == 0).all()  # positions past the k+1 answer digits
    x2, _, _ = make_items(5, (2,), gen, K=4)
    assert x2.shape == (5, 8) and (x2[:, 2:4] == PAD).all()


def test_distractors_are_distinct_one_digit_changes():
    y = torch.tensor([[3, 1, 0, 0, 0], [9, 9, 9, 1, 0]])
    k = torch.tensor([1, 3])
    d = distractors(y, k, 5, torch.Generator().manual_seed(0))  # (2, 5, 5)
    for i, L in enumerate((2, 4)):
        diff = d[i] != y[i]
        assert (diff.sum(1) == 1).all() and not diff[:, L:].any()
        assert len({tuple(r.tolist()) for r in d[i]}) == 5


def test_edit_distance_is_levenshtein_over_each_rows_length():
    a = np.array([[1, 2, 3, 9], [1, 2, 3, 4], [5, 6, 0, 0], [1, 2, 3, 4]])
    b = np.array([[1, 2, 3, 0], [2, 3, 4, 1], [6, 5, 0, 0], [4, 3, 2, 1]])
    n = np.array([3, 4, 2, 4])
    assert paired_edit_distances(a, b, n, n).tolist() == [0, 2, 2, 4]


def test_pass_until_counts_samples_to_the_rth_pass_and_censors_at_the_cap():
    gen = torch.Generator().manual_seed(0)
    p = torch.tensor([[1.0, 1.0], [0.5, 0.2], [0.0, 1.0]])  # pass rates 1, 0.1, 0
    n, k = pass_until(p.repeat(2000, 1), 2, 1000, 64, gen)
    n, k = n.view(2000, 3), k.view(2000, 3)
    assert (n[:, 0] == 2).all() and (k[:, :2] == 2).all()  # always passes: r = 2 samples
    assert (n[:, 2] == 1000).all() and (k[:, 2] == 0).all()  # never passes: censored at the cap
    mean = n[:, 1].double().mean()  # negative binomial: r / q = 20 samples on average
    assert 19 < mean < 21, mean


@pytest.mark.parametrize("bad, msg", [
    ({"widths": (8,)}, "at least 2"), ({"widths": (16, 8)}, "increasing"), ({"digits": (0, 1)}, "1..9"),
    ({"steps": 0}, "at least 1"), ({"choices": 1}, "at least 2"), ({"passes": 300}, "exceed"),
    ({"lr": 0.0}, "lr"), ({"threads": -1}, "threads"), ({"device": "tpu"}, "device"),
    ({"widths": "a,b"}, "integer")])
def test_bad_config_is_a_clear_error(bad, msg):
    with pytest.raises(UserError, match=msg):
        _cfg(**bad)


def test_a_sub_ladder_reproduces_the_same_models():
    full = run_world("scaling_family", "tiny").artefacts["family"]
    sub = run_world("scaling_family", "tiny", widths=(8, 16)).artefacts["family"]
    keep = full[full.model.isin(["w8", "w16"])].reset_index(drop=True)
    assert keep.equals(sub)  # init and sampling streams are keyed by width, not rank
