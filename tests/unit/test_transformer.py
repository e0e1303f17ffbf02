"""The lab transformer: hook names and shapes, interventions, variants, determinism."""

import pytest
import torch

from emergelab.errors import UserError
from emergelab.nn.transformer import Transformer, TransformerConfig

B, T, V, D, H, M, L = 2, 6, 11, 16, 2, 32, 2


def make(seed=0, **kw):
    cfg = TransformerConfig(**{"vocab": V, "n_ctx": 8, "d_model": D, "n_heads": H, "d_mlp": M, "n_layers": L, **kw})
    return Transformer(cfg, generator=torch.Generator().manual_seed(seed))


def tokens(seed=1):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


def expected_shapes(d_mlp=M, positions="learned", d_head=D // H):
    s = {"embed": (B, T, D), "logits": (B, T, V)}
    if positions == "learned":
        s["pos_embed"] = (B, T, D)
    for l in range(L):
        p = f"blocks.{l}"
        s.update({f"{p}.resid_pre": (B, T, D), f"{p}.resid_mid": (B, T, D), f"{p}.resid_post": (B, T, D),
                  f"{p}.attn.scores": (B, H, T, T), f"{p}.attn.pattern": (B, H, T, T),
                  f"{p}.attn.head_out": (B, T, H, D), f"{p}.attn.out": (B, T, D)})
        s.update({f"{p}.attn.{n}": (B, T, H, d_head) for n in "qkv"})
        if d_mlp:
            s.update({f"{p}.mlp.pre": (B, T, d_mlp), f"{p}.mlp.post": (B, T, d_mlp)})
    return s


@pytest.mark.parametrize("kw", [{}, {"d_mlp": 0}, {"positions": "rotary"}, {"layernorm": True, "d_head": 4},
                                {"causal": False, "act": "gelu"}])
def test_cache_has_every_documented_name_and_shape(kw):
    net, cache = make(**kw), {}
    logits = net(tokens(), cache=cache)
    want = expected_shapes(kw.get("d_mlp", M), kw.get("positions", "learned"), kw.get("d_head", D // H))
    assert {k: tuple(v.shape) for k, v in cache.items()} == want
    assert not any(v.requires_grad for v in cache.values())  # detached
    assert torch.equal(cache["logits"], logits.detach())
    # the per-head outputs add up to the attention output, patterns are distributions
    assert torch.allclose(cache["blocks.0.attn.head_out"].sum(2), cache["blocks.0.attn.out"], atol=1e-5)
    assert torch.allclose(cache["blocks.1.attn.pattern"].sum(-1), torch.ones(B, H, T), atol=1e-5)
    if kw.get("causal", True):
        assert cache["blocks.0.attn.pattern"].triu(1).abs().max() == 0


def test_hooks_and_cache_do_not_change_the_output():
    net, x = make(), tokens()
    plain = net(x)
    assert torch.allclose(net(x, cache={}, hooks={"blocks.0.attn.pattern": lambda p: None}), plain, atol=1e-5)


@pytest.mark.parametrize("kw", [{}, {"d_mlp": 0}, {"positions": "rotary"}, {"layernorm": True, "d_head": 4},
                                {"causal": False, "act": "gelu"}])
def test_fused_and_explicit_attention_agree(kw):
    # no hooks: F.scaled_dot_product_attention; a cache or a pattern hook: the explicit softmax;
    # a hook further on (resid_post, head_out): fused again. All the same model, within rounding.
    net, x = make(**kw), tokens()
    fused = net(x)
    for cache, hooks in (({}, None), (None, {"blocks.0.attn.pattern": lambda p: None}),
                         (None, {"blocks.1.resid_post": lambda h: None}), ({}, {"blocks.0.attn.head_out": lambda h: h})):
        assert torch.allclose(net(x, cache=cache, hooks=hooks), fused, atol=1e-5)
    # and the gradients of the fused path are those of the explicit one
    g = [torch.autograd.grad(net(x, cache=c).square().sum(), net.blocks[0].attn.W_qkv)[0] for c in (None, {})]
    assert torch.allclose(g[0], g[1], atol=1e-4)


def test_a_hook_that_returns_a_pattern_changes_the_output_and_keeps_gradients():
    net, x = make(), tokens()
    prev = torch.zeros(T, T)
    prev[0, 0] = 1
    prev[torch.arange(1, T), torch.arange(T - 1)] = 1  # previous-token pattern

    def clamp(p):
        return p * 0 + prev  # built from the input: gradient path stays attached

    cache = {}
    out = net(x, cache=cache, hooks={"blocks.1.attn.pattern": clamp})
    assert not torch.allclose(out, net(x))
    assert torch.equal(cache["blocks.1.attn.pattern"][0, 0], prev)  # the cache holds the value used
    out.sum().backward()
    assert net.blocks[0].attn.W_qkv.grad is not None and net.W_E.grad is not None


def test_head_ablation_via_head_out():
    net, x = make(), tokens()

    def ablate(h):
        mask = torch.ones(H, 1)
        mask[0] = 0
        return h * mask  # (B, T, H, D) * (H, 1)

    assert not torch.allclose(net(x, hooks={"blocks.0.attn.head_out": ablate}), net(x))
    with pytest.raises(UserError):
        net(x, hooks={"blocks.0.attn.out": lambda o: o[:, :1]})  # wrong shape


def test_attention_only_has_no_mlp_and_trains():
    net = make(d_mlp=0)
    assert not any("W_in" in n for n, _ in net.named_parameters())
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    x = tokens()
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(net(x)[:, :-1].reshape(-1, V), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_rotary_has_no_position_table_and_is_position_sensitive():
    net = make(positions="rotary", n_layers=1)
    assert net.W_pos is None
    x = torch.tensor([[1, 2, 3, 1, 2, 3]])
    cache = {}
    net(x, cache=cache)
    # same token at positions 0 and 3: equal before rotation (v), different after (q)
    assert torch.allclose(cache["blocks.0.attn.v"][0, 0], cache["blocks.0.attn.v"][0, 3])
    assert not torch.allclose(cache["blocks.0.attn.q"][0, 0], cache["blocks.0.attn.q"][0, 3])


def test_seeded_generator_is_deterministic():
    x = tokens()
    assert torch.equal(make(seed=3)(x), make(seed=3)(x))
    assert not torch.equal(make(seed=3)(x), make(seed=4)(x))


def test_grokking_api():
    cfg = TransformerConfig(vocab=8, n_ctx=3, d_vocab_out=7, d_model=16, n_heads=4, d_mlp=32, n_layers=1)
    net = Transformer(cfg, generator=torch.Generator().manual_seed(0))
    assert net(torch.zeros(5, 3, dtype=torch.long)).shape == (5, 3, 7) and net.W_E.shape == (8, 16)


@pytest.mark.parametrize("kw", [{"d_model": 10, "n_heads": 4}, {"positions": "alibi"}, {"d_mlp": -1},
                                {"positions": "rotary", "d_head": 3}, {"act": "tanh"}])
def test_bad_config_is_a_user_error(kw):
    with pytest.raises(UserError):
        make(**kw)


def test_too_long_sequence_is_a_user_error():
    with pytest.raises(UserError):
        make()(torch.zeros(1, 9, dtype=torch.long))
