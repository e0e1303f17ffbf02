"""The bursty-ICL world runs end to end in a second, logs what it promises, rejects bad configs
with a clear message, and its batch generator builds the sequences it claims to (checked on
the pure make_batch function). Also the transformer's `embeds` input path it relies on."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.worlds.icl_bursty import class_probs, make_batch


def _cfg(**overrides):
    return get_world("icl_bursty").make_config("tiny", overrides)


def _data(n=400, kind="train", seed=0, **overrides):
    cfg = _cfg(**{"classes": 4096, "labels": 32, "dim": 63, **overrides})
    gen = torch.Generator().manual_seed(seed)
    means = torch.randn(cfg.classes, cfg.dim, generator=gen) / math.sqrt(cfg.dim)
    return cfg, means, make_batch(cfg, kind, n, means, class_probs(cfg), gen)


@pytest.mark.parametrize("model", ["transformer", "lstm"])
def test_tiny_logs_everything(model):
    rec = run_world("icl_bursty", "tiny", model=model)
    names = set(rec.names)
    assert {"train/loss", "train/acc", "icl/acc", "iw/acc", "icl_flip/acc"} <= names
    assert ({"probe/induction_l0", "probe/induction_l1"} <= names) == (model == "transformer")
    assert rec.series("icl/acc")[0].tolist() == [0, 2, 4, 6]
    assert rec.series("train/loss")[0].tolist() == [0, 2, 4]  # no training batch at the last step
    for name in names:
        assert np.all(np.isfinite(rec.series(name)[1])), name
    s = rec.summary
    assert {"icl_step", "iw_step", "final_icl_acc", "final_iw_acc", "final_icl_flip_acc", "n_params"} <= set(s)
    assert s["chance"] == 1 / 8 and s["steps"] == 6


def test_lstm_is_seeded_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = run_world("icl_bursty", "tiny", model="lstm"), run_world("icl_bursty", "tiny", model="lstm")
    assert torch.equal(state, torch.random.get_rng_state())
    assert np.array_equal(a.series("train/loss")[1], b.series("train/loss")[1])


@pytest.mark.parametrize("bad, msg", [
    ({"burstiness": 3}, "must divide"), ({"pairs": 8, "burstiness": 1, "labels": 4}, "too few"),
    ({"p_bursty": 1.5}, "p_bursty"), ({"classes": 1}, "at least 2"), ({"model": "gru"}, "choose one of"),
    ({"steps": 0}, "at least 1"), ({"d_model": 15, "n_heads": 2}, "divisible"), ({"zipf": -1.0}, "zipf")])
def test_bad_config_is_a_clear_error(bad, msg):
    with pytest.raises(UserError, match=msg):
        _cfg(**bad)


def test_bursty_training_sequences_hold_the_query_class_B_times():
    cfg, means, b = _data(burstiness=2, p_bursty=1.0)
    N, L = cfg.pairs, cfg.labels
    count = (b.cls[:, :N] == b.cls[:, N:]).sum(1)  # (n,) copies of the query's class in context
    assert (count >= 2).all() and (count % 2 == 0).all()
    assert (count == 2).float().mean() > 0.99  # N/B classes drawn iid from 4096: repeats are rare
    assert torch.equal(b.labels, b.cls[:, :N] % L) and torch.equal(b.y, b.cls[:, N] % L)  # fixed labels k mod L
    assert b.x.shape == (400, N + 1, 63) and torch.equal(b.means, means[b.cls])
    assert abs(float((b.x**2).sum(-1).mean()) - 1.0) < 0.05  # exemplars have unit norm on average
    assert float((b.x - b.means).norm(dim=-1).mean()) < 0.15  # close to their class mean (eps = 0.1)
    _, _, nb = _data(p_bursty=0.0)
    assert float((nb.cls[:, :N] == nb.cls[:, N:]).any(1).float().mean()) < 0.05  # iid: query rarely in context


def test_novel_class_eval_uses_unseen_means_and_context_labels():
    cfg, means, b = _data(kind="icl", burstiness=4)
    N = cfg.pairs
    assert (b.cls < 0).all()  # marked as novel classes
    nearest = torch.cdist(b.means.reshape(-1, 63), means).min(1).values
    assert nearest.min() > 0.5  # no novel mean is a training mean (their spacing is ~sqrt(2))
    same = b.cls[:, :N] == b.cls[:, N:]  # (n, N)
    assert (same.sum(1) == 4).all()  # B copies of the query's class
    assert (b.labels[same].view(-1, 4) == b.y[:, None]).all()  # the target is the context's label
    for i in range(20):  # one label per novel class, different classes different labels
        pairs = {(int(c), int(l)) for c, l in zip(b.cls[i, :N], b.labels[i])}
        assert len({c for c, _ in pairs}) == len(pairs) == len({l for _, l in pairs})


def test_in_weights_eval_has_no_query_class_in_context():
    cfg, means, b = _data(kind="iw", classes=64, labels=32)  # few classes: exclusion is really tested
    N = cfg.pairs
    assert not (b.cls[:, :N] == b.cls[:, N:]).any()
    assert torch.equal(b.y, b.cls[:, N] % 32) and torch.equal(b.labels, b.cls[:, :N] % 32)


def test_flipped_eval_relabels_trained_classes_consistently():
    cfg, means, b = _data(kind="flip")
    N, L = cfg.pairs, cfg.labels
    assert (b.labels != b.cls[:, :N] % L).all() and (b.y != b.cls[:, N] % L).all()
    same = b.cls[:, :N] == b.cls[:, N:]
    assert (b.labels[same].view(-1, 2) == b.y[:, None]).all()


def test_zipf_class_distribution():
    p = class_probs(_cfg(classes=100, zipf=1.0))
    assert torch.isclose(p.sum(), torch.tensor(1.0)) and (p[:-1] > p[1:]).all()
    assert torch.isclose(p[0] / p[9], torch.tensor(10.0))
    _, _, b = _data(n=2000, classes=100, zipf=1.0, p_bursty=0.0)
    freq = float((b.cls == 0).float().mean())
    assert abs(freq - float(p[0])) < 0.02
    assert torch.allclose(class_probs(_cfg(classes=50)), torch.full((50,), 0.02))


def test_transformer_takes_continuous_embeddings():
    from emergelab.nn.transformer import Transformer, TransformerConfig

    net = Transformer(TransformerConfig(vocab=7, n_ctx=5, d_model=8, n_heads=2, n_layers=2),
                      generator=torch.Generator().manual_seed(0))
    tok = torch.randint(0, 7, (3, 5), generator=torch.Generator().manual_seed(1))
    plain = net(tok)
    assert torch.allclose(net(tok, embeds=torch.zeros(3, 5, 8)), plain)
    cache: dict = {}
    assert torch.allclose(net(embeds=net.W_E[tok].detach(), cache=cache), plain, atol=1e-3)  # cache path: einsum
    assert cache["embed"].shape == (3, 5, 8)
    e = torch.randn(3, 5, 8, requires_grad=True)
    net(tok, embeds=e).sum().backward()
    assert e.grad is not None and e.grad.abs().sum() > 0
    for bad in (torch.zeros(3, 5, 4), torch.zeros(3, 4, 8)):
        with pytest.raises(UserError, match="embeds must be"):
            net(tok, embeds=bad)
    with pytest.raises(UserError, match="needs tokens"):
        net()
