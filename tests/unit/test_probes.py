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


def offset_pattern(B, T, k):
    """A positional head: query t attends t - k + 1 (right after the copy one period k back on
    sequences of period k), itself where that is before 0. It reads no token."""
    p = torch.zeros(B, 1, T, T)
    t = torch.arange(T)
    p[:, 0, t, torch.where(t >= k - 1, t - k + 1, t)] = 1
    return p


def copies_pattern(tokens, which):
    """Ideal induction head over the successors of every earlier copy (uniform, like the world's
    clamp_induction) or only of the last one (Olsson et al.); itself where there is no copy."""
    B, T = tokens.shape
    tgt = P._prefix_targets(tokens, which).float()  # (B, T, T)
    tgt = torch.where(tgt.sum(-1, keepdim=True) == 0, torch.eye(T).expand(B, T, T), tgt)
    return (tgt / tgt.sum(-1, keepdim=True))[:, None]  # (B, 1, T, T)


def test_prefix_matching_all_versus_last_copy_by_hand():
    """t:     0 1 2 3 4 5 6
    token: a b a c a b x     query 4 (a) has copies at 0 and 2 -> targets 1 and 3 (last: 3);
    query 2 (a): copy 0 -> target 1; query 5 (b): copy 1 -> target 2. Other queries: no copy."""
    x = torch.tensor([[0, 1, 0, 2, 0, 1, 3]])
    p = torch.zeros(1, 2, 7, 7)
    p[0, :, torch.arange(7), torch.arange(7)] = 1  # park everything on itself
    p[0, 0, 4] = 0
    p[0, 0, 4, 1] = 1  # head 0: query 4 reads the successor of its *first* copy
    p[0, 1, 4] = 0
    p[0, 1, 4, 3] = 1  # head 1: ... of its most recent copy
    p[0, :, 2] = 0
    p[0, :, 2, 1] = 1  # both: query 2 right
    # queries 2, 4, 5 count; query 5 sits on itself (not 2) in both heads
    assert P.prefix_matching_score(p, x).tolist() == pytest.approx([2 / 3, 2 / 3])
    assert P.prefix_matching_score(p, x, which="last").tolist() == pytest.approx([1 / 3, 2 / 3])
    with pytest.raises(UserError, match="which must be one of"):
        P.prefix_matching_score(p, x, which="first")


def test_last_is_never_above_all_and_neither_flags_a_fixed_offset():
    """On repeated sequences with chance repeats inside the prefix (vocab 8, prefix 8): the
    uniform-over-copies ideal scores 1 under "all" but less under "last"; Olsson's last-copy
    ideal scores 1 under both; a fixed-offset head scores high under both - prefix matching on
    the training period cannot tell it from induction."""
    g = torch.Generator().manual_seed(0)
    half = torch.randint(0, 8, (16, 8), generator=g)
    x = torch.cat([half, half], 1)  # (16, 16), period 8
    uni, last, off = copies_pattern(x, "all"), copies_pattern(x, "last"), offset_pattern(16, 16, 8)
    for pat in (uni, last, off, uniform_causal(16, 1, 16)):
        assert P.prefix_matching_score(pat, x, "last") <= P.prefix_matching_score(pat, x, "all") + 1e-6
    assert P.prefix_matching_score(uni, x).item() == pytest.approx(1.0)
    assert P.prefix_matching_score(uni, x, "last").item() < 0.9
    assert P.prefix_matching_score(last, x, "last").item() == pytest.approx(1.0)
    assert P.prefix_matching_score(off, x).item() > 0.7
    # where every token has at most one earlier copy the two definitions agree
    y = repeated_tokens()  # distinct tokens in the prefix: at most one earlier copy
    for pat in (induction_pattern(y), uniform_causal(3, 2, 16), offset_pattern(3, 16, 8)):
        assert torch.allclose(P.prefix_matching_score(pat, y, "last"), P.prefix_matching_score(pat, y, "all"))


def test_periodic_tokens():
    x = P.periodic_tokens(5, 20, 7, 50, torch.Generator().manual_seed(1))
    assert x.shape == (5, 20) and x.dtype == torch.long and ((x >= 0) & (x < 50)).all()
    assert torch.equal(x[:, 7:], x[:, :-7])
    assert all(len(set(r[:7].tolist())) == 7 for r in x)  # distinct within a period (vocab >= period)
    assert torch.equal(x, P.periodic_tokens(5, 20, 7, 50, torch.Generator().manual_seed(1)))
    assert not torch.equal(x, P.periodic_tokens(5, 20, 7, 50, torch.Generator().manual_seed(2)))
    small = P.periodic_tokens(3, 12, 5, 3, torch.Generator().manual_seed(0))  # vocab < period: repeats allowed
    assert torch.equal(small[:, 5:], small[:, :-5]) and small.max() < 3
    for bad in ((0, 20, 7, 50), (5, 20, 20, 50), (5, 20, 0, 50), (5, 20, 7, 1)):
        with pytest.raises(UserError, match="periodic_tokens needs"):
            P.periodic_tokens(*bad)


@pytest.mark.parametrize("period", [5, 7, 9, 17])
def test_novel_period_separates_induction_from_a_fixed_offset(period):
    """Trained period 16 (T = 32): a head fixed at offset 16 is a perfect 'induction head' on
    period-16 data but scores 0 on any period that does not divide 16; induction heads of
    either kind score 1 under "all"."""
    B, T = 8, 32
    x = P.periodic_tokens(B, T, period, 64, torch.Generator().manual_seed(period))
    off = offset_pattern(B, T, 16)
    assert P.novel_period_score(off, x, period).item() == pytest.approx(0.0)
    assert P.novel_period_score(off, x, period, which="last").item() == pytest.approx(0.0)
    assert P.novel_period_score(copies_pattern(x, "all"), x, period).item() == pytest.approx(1.0)
    assert P.novel_period_score(copies_pattern(x, "last"), x, period, "last").item() == pytest.approx(1.0)
    u = P.novel_period_score(uniform_causal(B, 2, T), x, period)
    assert u.shape == (2,) and (u < 0.5).all()
    train = P.periodic_tokens(B, T, 16, 64, torch.Generator().manual_seed(0))
    assert P.novel_period_score(off, train, 16).item() == pytest.approx(1.0)  # the blind spot it closes


def test_novel_period_leaves_out_the_first_period():
    """vocab < period: chance copies inside the first period are not scored."""
    x = torch.tensor([[0, 1, 0, 2, 0, 1, 0, 2]])  # period 4, token 0 repeats inside the period
    p = torch.zeros(1, 1, 8, 8)
    p[0, 0, torch.arange(8), torch.arange(8)] = 1  # all on itself: never a target here
    p[0, 0, 2] = 0
    p[0, 0, 2, 1] = 1  # query 2 right (first period, not scored)
    assert P.prefix_matching_score(p, x).item() > 0
    assert P.novel_period_score(p, x, 4).item() == 0.0
    p[0, 0, 5] = 0
    p[0, 0, 5, 2] = 1  # query 5 (b, copy at 1): right, one of queries 4..7
    assert P.novel_period_score(p, x, 4).item() == pytest.approx(1 / 4)


def test_novel_period_bad_input():
    x = P.periodic_tokens(2, 10, 3, 20, torch.Generator().manual_seed(0))
    pat = uniform_causal(2, 1, 10)
    with pytest.raises(UserError, match="do not repeat with period 4"):
        P.novel_period_score(pat, x, 4)
    for bad in (0, 10, 2.5, True):
        with pytest.raises(UserError, match="period must be an int"):
            P.novel_period_score(pat, x, bad)
    with pytest.raises(UserError, match=r"tokens must be \(B, T\)"):
        P.novel_period_score(pat, x[:1], 3)


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
    for f in (P.prefix_matching_scores, P.previous_token_scores,
              lambda m, t: P.prefix_matching_scores(m, t, "last"),
              lambda m, t: P.novel_period_scores(m, P.periodic_tokens(3, 16, 5, 50), 5)):
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
