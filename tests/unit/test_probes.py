"""Probes against hand-built attention patterns and activations, plus the model wrappers."""

import math

import pytest
import torch

from emergelab.errors import UserError
from emergelab.measures import probes as P
from emergelab.nn.transformer import Transformer, TransformerConfig


def repeated_tokens(B=3, n=8, V=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    half = torch.stack([torch.randperm(V, generator=g)[:n] for _ in range(B)])  # distinct tokens
    return torch.cat([half, half], dim=1)  # (B, 2n)


def induction_pattern(tokens):
    """Each query in the second half attends to the token after its first occurrence."""
    B, T = tokens.shape
    n = T // 2
    p = torch.zeros(B, 1, T, T)
    p[:, :, torch.arange(T), 0] = 1  # first half: park attention on BOS-like position 0
    p[:, :, torch.arange(n, T)] = 0
    p[:, :, torch.arange(n, T), torch.arange(1, n + 1)] = 1  # t = n + i -> i + 1
    return p


def previous_pattern(B, H, T):
    p = torch.zeros(B, H, T, T)
    p[:, :, 0, 0] = 1
    p[:, :, torch.arange(1, T), torch.arange(T - 1)] = 1
    return p


def uniform_causal(B, H, T):
    p = torch.ones(T, T).tril()
    return (p / p.sum(-1, keepdim=True)).expand(B, H, T, T)


def test_perfect_induction_pattern_scores_one_uniform_scores_low():
    x = repeated_tokens()
    assert P.prefix_matching_score(induction_pattern(x), x).item() == pytest.approx(1.0)
    u = P.prefix_matching_score(uniform_causal(3, 2, x.shape[1]), x)
    assert u.shape == (2,) and (u < 0.2).all()
    assert P.prefix_matching_score(previous_pattern(3, 1, x.shape[1]), x).item() < 0.1


def test_previous_token_pattern_scores_one():
    assert torch.allclose(P.previous_token_score(previous_pattern(2, 3, 7)), torch.ones(3))
    T = 7
    u = P.previous_token_score(uniform_causal(2, 1, T)).item()
    assert u == pytest.approx(sum(1 / (t + 1) for t in range(1, T)) / (T - 1))
    x = repeated_tokens(B=2, n=4)
    assert P.previous_token_score(induction_pattern(x)).item() < 0.5


def test_induction_strength():
    B, T = 4, 9
    p = torch.zeros(B, 2, T, T)
    q, correct, wrong = 8, torch.tensor([1, 3, 1, 3]), torch.tensor([3, 1, 3, 1])
    p[torch.arange(B), 0, q, correct] = 1  # head 0 reads the right label
    p[:, 1, q, :] = 1 / T  # head 1 is uniform
    s = P.induction_strength(p, correct, wrong, q)
    assert s.tolist() == pytest.approx([1.0, 0.0])
    assert P.induction_strength(p, wrong, correct, q)[0].item() == pytest.approx(-1.0)
    with pytest.raises(UserError):
        P.induction_strength(p, correct, wrong, T)


def test_icl_score():
    loss = torch.linspace(3, 1, 20)  # learns in context
    assert P.icl_score(loss) == pytest.approx(loss[-2:].mean() - loss[:2].mean())
    assert P.icl_score(loss, early=[4], late=slice(10, 12)) == pytest.approx((loss[10] + loss[11]) / 2 - loss[4])
    assert P.icl_score(torch.ones(5, 20)) == 0.0
    with pytest.raises(UserError):
        P.icl_score(loss, early=slice(30, 40))


def test_copying_score_identity_ov_copies_everything():
    V, D, H, d = 6, 6, 2, 6
    W_E, W_U = torch.eye(V, D), torch.eye(D, V)
    W_V = torch.stack([torch.eye(D), torch.eye(D)])
    W_O = torch.stack([torch.eye(d), -torch.eye(d)])  # head 1 suppresses the attended token
    s = P.copying_score(W_E, W_V, W_O, W_U)
    assert s.tolist() == [1.0, 0.0]


def test_massive_activation_ratio():
    h = torch.ones(2, 5, 8)
    assert P.massive_activation_ratio(h) == 1.0
    h[0, 0, 0] = 2000.0
    assert P.massive_activation_ratio(h) == 2000.0
    assert P.massive_activation_count(h) == 1 and P.massive_activation_count(torch.ones(3)) == 0
    with pytest.raises(UserError):
        P.massive_activation_ratio(torch.zeros(0))


def test_bad_inputs_are_user_errors():
    with pytest.raises(UserError):
        P.previous_token_score(torch.zeros(3, 4, 4))
    with pytest.raises(UserError):
        P.prefix_matching_score(torch.zeros(1, 1, 4, 4), torch.arange(4)[None])  # nothing repeats
    with pytest.raises(UserError):
        P.prefix_matching_score(torch.zeros(1, 1, 4, 4), torch.zeros(2, 4, dtype=torch.long))


@pytest.fixture
def net():
    cfg = TransformerConfig(vocab=50, n_ctx=16, d_model=16, n_heads=2, d_mlp=0, n_layers=2)
    return Transformer(cfg, generator=torch.Generator().manual_seed(0))


def test_model_wrappers_shapes_and_ranges(net):
    x = repeated_tokens()
    for f in (P.prefix_matching_scores, P.previous_token_scores):
        s = f(net, x)
        assert s.shape == (2, 2) and ((s >= 0) & (s <= 1)).all()
    assert P.induction_strengths(net, x, 3, 5, 15).shape == (2, 2)
    assert P.copying_scores(net).shape == (2, 2)
    r = P.massive_activation_ratios(net, x)
    assert r.shape == (2,) and (r >= 1).all()
    targets = torch.cat([x[:, 1:], torch.full((3, 1), -1)], dim=1)
    assert math.isfinite(P.model_icl_score(net, x, targets, early=slice(0, 4), late=slice(9, 15)))


def test_clamped_induction_pattern_reads_back_as_one(net):
    """An intervention through the hook points and the probe agree."""
    x = repeated_tokens()
    pat = induction_pattern(x).expand(-1, 2, -1, -1)
    cache = {}
    net(x, cache=cache, hooks={"blocks.1.attn.pattern": lambda p: p * 0 + pat})
    assert torch.allclose(P.prefix_matching_score(cache["blocks.1.attn.pattern"], x), torch.ones(2))


def test_wrappers_need_hook_points():
    with pytest.raises(UserError):
        P.previous_token_scores(lambda tokens, cache: tokens.float(), torch.zeros(1, 4, dtype=torch.long))
