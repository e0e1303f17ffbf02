"""One small decoder-only transformer for every training world, with named hook points.

Written first for the grokking world's Nanda et al. (2023) setting and reused by the
induction-head, in-context-learning and massive-activation worlds (SCIENCE A1-A3, A5):
token embedding, learned or rotary positions, `n_layers` blocks of multi-head attention and
(optionally, d_mlp > 0) a ReLU/GELU MLP, optional pre-LayerNorm, untied unembedding.
No TransformerLens: the whole hook mechanism is two optional dicts passed to `forward`.

    logits = net(tokens)                                  # (B, T) -> (B, T, V_out)
    logits = net(tokens, cache={})                        # fills the dict, detached
    logits = net(tokens, hooks={"blocks.0.attn.pattern": clamp})   # intervention
    logits = net(tokens, embeds=e)                        # e (B, T, D) added to the token embedding
    logits = net(embeds=e)                                # continuous inputs alone (no token table)

At every hook point `name`, in this order:
  1. if `hooks` has `name`, call `hooks[name](x)`; if it returns a tensor, that tensor
     replaces x for the rest of the forward pass (clamp a pattern, ablate a head). Build it
     from x (e.g. `x * mask`) and gradients keep flowing through it.
  2. if `cache` is given, store `x.detach()` (the value actually used) under `name`.
With neither (the training default), no hook point is visited at all and attention is one
fused `F.scaled_dot_product_attention` call. The explicit attention (scores, softmax) runs
only where a cache is given or a hook is attached to that layer's q, k, v, scores or pattern;
hooks elsewhere (head_out, out, the residual stream) keep the fused kernel.

Hook points (B batch, T positions, D d_model, H heads, d d_head, M d_mlp, V vocab_out):
    embed                      (B, T, D)  token embedding (+ `embeds`, or `embeds` alone)
    pos_embed                  (B, T, D)  learned positions only (rotary adds none)
    blocks.{l}.resid_pre       (B, T, D)
    blocks.{l}.attn.q / .k / .v  (B, T, H, d)  after rotary, i.e. what the dot product sees
    blocks.{l}.attn.scores     (B, H, T, T)  pre-softmax, after the causal mask
    blocks.{l}.attn.pattern    (B, H, T, T)  softmax weights, query t (dim -2) -> key s (dim -1)
    blocks.{l}.attn.head_out   (B, T, H, D)  each head's contribution to the residual stream
    blocks.{l}.attn.out        (B, T, D)     sum over heads
    blocks.{l}.resid_mid       (B, T, D)
    blocks.{l}.mlp.pre / .post (B, T, M)     only when d_mlp > 0
    blocks.{l}.resid_post      (B, T, D)
    logits                     (B, T, V)
`head_out` is only materialised (H times the memory of `out`) when it is hooked or cached;
when only cached, it is computed outside the autograd graph (`out` stays one matmul).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from emergelab.errors import UserError

Hook = Callable[[torch.Tensor], "torch.Tensor | None"]


@dataclass(frozen=True)
class TransformerConfig:
    vocab: int
    """Input vocabulary size (tokens are 0..vocab-1)."""
    n_ctx: int
    """Maximum sequence length."""
    d_vocab_out: int | None = None
    """Output vocabulary size (None: vocab); grokking predicts only group elements."""
    d_model: int = 128
    n_heads: int = 4
    d_head: int | None = None
    """Per-head width (None: d_model // n_heads)."""
    d_mlp: int = 512
    """MLP width; 0 makes the model attention-only (the induction-head setting)."""
    n_layers: int = 1
    layernorm: bool = False
    """Pre-LayerNorm in each block and before the unembedding. Nanda et al. use none,
    which keeps the circuits close to linear."""
    positions: str = "learned"
    """"learned" (an added (n_ctx, D) table) or "rotary" (RoPE on queries and keys)."""
    causal: bool = True
    act: str = "relu"
    """MLP nonlinearity: "relu" or "gelu"."""
    init_std: float | None = None
    """Std of every weight matrix at init (None: 1/sqrt(d_model))."""
    rotary_base: float = 10000.0

    def __post_init__(self) -> None:
        for f in ("vocab", "n_ctx", "d_model", "n_heads", "n_layers"):
            if getattr(self, f) < 1:
                raise UserError(f"TransformerConfig.{f}={getattr(self, f)} must be >= 1")
        if self.d_mlp < 0:
            raise UserError(f"TransformerConfig.d_mlp={self.d_mlp} must be >= 0 (0 = attention-only)")
        if self.d_head is None and self.d_model % self.n_heads:
            raise UserError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}, or set d_head")
        if self.positions not in ("learned", "rotary"):
            raise UserError(f"positions={self.positions!r}: use 'learned' or 'rotary'")
        if self.positions == "rotary" and self.head_dim % 2:
            raise UserError(f"rotary positions need an even d_head, got {self.head_dim}")
        if self.act not in ("relu", "gelu"):
            raise UserError(f"act={self.act!r}: use 'relu' or 'gelu'")

    @property
    def head_dim(self) -> int:
        return self.d_head if self.d_head is not None else self.d_model // self.n_heads

    @property
    def vocab_out(self) -> int:
        return self.d_vocab_out or self.vocab


def _normal(shape: tuple[int, ...], std: float, gen: torch.Generator | None) -> nn.Parameter:
    return nn.Parameter(torch.randn(shape, generator=gen) * std)


def _point(x: torch.Tensor, name: str, cache: dict | None, hooks: dict | None) -> torch.Tensor:
    """One hook point: maybe intervene, maybe record (see the module docstring)."""
    if hooks is not None:
        fn = hooks.get(name)
        if fn is not None:
            y = fn(x)
            if y is not None:
                if y.shape != x.shape:
                    raise UserError(f"hook {name!r} returned shape {tuple(y.shape)}, expected {tuple(x.shape)}")
                x = y
    if cache is not None:
        cache[name] = x.detach()
    return x


@functools.lru_cache(maxsize=256)
def _names(prefix: str, points: tuple[str, ...]) -> dict[str, str]:
    """{point: f"{prefix}.{point}"}: the full hook names of a block, built once per prefix."""
    return {p: f"{prefix}.{p}" for p in points}


_ATTN_POINTS = ("q", "k", "v", "scores", "pattern", "head_out", "out")
_PATTERN_POINTS = ("q", "k", "v", "scores", "pattern")  # need the explicit (non-SDPA) attention
_BLOCK_POINTS = ("resid_pre", "resid_mid", "mlp.pre", "mlp.post", "resid_post")


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """RoPE on (B, T, H, d): rotate pairs (x[2i], x[2i+1]) by angle t * base^(-2i/d)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (B, T, H, d/2) each
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, cfg: TransformerConfig, gen: torch.Generator | None, std: float) -> None:
        super().__init__()
        D, H, d = cfg.d_model, cfg.n_heads, cfg.head_dim
        self.H, self.d, self.causal = H, d, cfg.causal
        # fused q, k, v projections, no biases; column block [j*H*d:(j+1)*H*d] is q, k, v,
        # and inside it head h owns columns [h*d:(h+1)*d]. Same init order as before, so
        # seeded grokking runs reproduce.
        self.W_qkv = _normal((D, 3 * H * d), std, gen)
        self.W_O = _normal((H * d, D), std, gen)  # rows [h*d:(h+1)*d] belong to head h
        self.register_buffer("mask", torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool)), persistent=False)
        bias = torch.zeros(cfg.n_ctx, cfg.n_ctx).masked_fill(~self.mask, float("-inf")) if cfg.causal else \
            torch.zeros(cfg.n_ctx, cfg.n_ctx)  # added to the scores: -inf hides the future
        self.register_buffer("bias", bias, persistent=False)
        if cfg.positions == "rotary":
            inv = cfg.rotary_base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)  # (d/2,)
            ang = torch.arange(cfg.n_ctx, dtype=torch.float32)[:, None] * inv  # (n_ctx, d/2)
            self.register_buffer("cos", ang.cos()[:, None, :], persistent=False)  # (n_ctx, 1, d/2)
            self.register_buffer("sin", ang.sin()[:, None, :], persistent=False)
        self.rotary = cfg.positions == "rotary"

    def ov(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-head value and output matrices: W_V (H, D, d), W_O (H, d, D)."""
        D = self.W_O.shape[1]
        W_V = self.W_qkv[:, 2 * self.H * self.d:].view(D, self.H, self.d).transpose(0, 1)
        return W_V, self.W_O.view(self.H, self.d, D)

    def forward(self, x: torch.Tensor, cache: dict | None, hooks: dict | None, name: str) -> torch.Tensor:
        B, T, D = x.shape
        H, d = self.H, self.d
        q, k, v = (x @ self.W_qkv).view(B, T, 3, H, d).unbind(2)  # 3 x (B, T, H, d)
        if self.rotary:
            q, k = _rotate(q, self.cos[:T], self.sin[:T]), _rotate(k, self.cos[:T], self.sin[:T])
        if cache is None and hooks is None:  # the training path: fused attention, no hook points
            z = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                               is_causal=self.causal)  # (B, H, T, d)
            return z.transpose(1, 2).reshape(B, T, H * d) @ self.W_O  # (B, T, D)
        n = _names(name, _ATTN_POINTS)
        if cache is not None or any(n[p] in hooks for p in _PATTERN_POINTS):
            # explicit attention: the scores and the pattern are read, recorded or replaced
            q, k, v = (_point(t, n[p], cache, hooks) for t, p in ((q, "q"), (k, "k"), (v, "v")))
            # q kᵀ / sqrt(d) + (0 | -inf above the diagonal) in one batched GEMM (B*H, T, T)
            scores = torch.baddbmm(self.bias[:T, :T].expand(B * H, T, T), q.transpose(1, 2).reshape(B * H, T, d),
                                   k.permute(0, 2, 3, 1).reshape(B * H, d, T), alpha=1 / math.sqrt(d))
            scores = _point(scores.view(B, H, T, T), n["scores"], cache, hooks)
            pattern = _point(scores.softmax(dim=-1), n["pattern"], cache, hooks)
            z = (pattern @ v.transpose(1, 2)).transpose(1, 2)  # (B, T, H, d)
        else:  # hooks only further on (head_out, out, the residual stream): fused attention
            z = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                               is_causal=self.causal).transpose(1, 2)  # (B, T, H, d)
        if hooks is not None and n["head_out"] in hooks:
            # per-head writes into the residual stream: z_h @ W_O[h], summed after the hook
            head_out = torch.einsum("bthd,hdD->bthD", z, self.W_O.view(H, d, D))  # (B, T, H, D)
            out = _point(head_out, n["head_out"], cache, hooks).sum(dim=2)
        else:
            out = z.reshape(B, T, H * d) @ self.W_O  # (B, T, D)
            if cache is not None:  # recorded only: built outside the graph, sums to `out`
                with torch.no_grad():
                    cache[n["head_out"]] = torch.einsum("bthd,hdD->bthD", z.detach(), self.W_O.detach().view(H, d, D))
        return _point(out, n["out"], cache, hooks)


class Block(nn.Module):
    def __init__(self, cfg: TransformerConfig, gen: torch.Generator | None, std: float) -> None:
        super().__init__()
        D, M = cfg.d_model, cfg.d_mlp
        self.attn = Attention(cfg, gen, std)
        self.has_mlp = M > 0
        if self.has_mlp:
            self.W_in, self.b_in = _normal((D, M), std, gen), nn.Parameter(torch.zeros(M))
            self.W_out, self.b_out = _normal((M, D), std, gen), nn.Parameter(torch.zeros(D))
            self.ln2 = nn.LayerNorm(D) if cfg.layernorm else nn.Identity()
        self.act = F.relu if cfg.act == "relu" else F.gelu
        self.ln1 = nn.LayerNorm(D) if cfg.layernorm else nn.Identity()

    def forward(self, x: torch.Tensor, cache: dict | None, hooks: dict | None, name: str) -> torch.Tensor:
        if cache is None and hooks is None:  # the training path: no hook points at all
            x = x + self.attn(self.ln1(x), None, None, name)  # (B, T, D)
            if self.has_mlp:
                x = x + self.act(self.ln2(x) @ self.W_in + self.b_in) @ self.W_out + self.b_out
            return x
        n = _names(name, _BLOCK_POINTS)
        x = _point(x, n["resid_pre"], cache, hooks)
        x = x + self.attn(self.ln1(x), cache, hooks, f"{name}.attn")  # (B, T, D)
        # attention-only: resid_mid is the same tensor as resid_post, kept for uniform names
        x = _point(x, n["resid_mid"], cache, hooks)
        if self.has_mlp:
            pre = _point(self.ln2(x) @ self.W_in + self.b_in, n["mlp.pre"], cache, hooks)  # (B, T, M)
            post = _point(self.act(pre), n["mlp.post"], cache, hooks)  # (B, T, M) "neurons"
            x = x + post @ self.W_out + self.b_out
        return _point(x, n["resid_post"], cache, hooks)


class Transformer(nn.Module):
    def __init__(self, cfg: TransformerConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        std = cfg.init_std if cfg.init_std is not None else 1.0 / math.sqrt(cfg.d_model)
        D = cfg.d_model
        self.W_E = _normal((cfg.vocab, D), std, generator)  # (V, D): row t embeds token t
        self.W_pos = _normal((cfg.n_ctx, D), std, generator) if cfg.positions == "learned" else None  # (T, D)
        self.blocks = nn.ModuleList(Block(cfg, generator, std) for _ in range(cfg.n_layers))
        self._block_names = tuple(f"blocks.{i}" for i in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(D) if cfg.layernorm else nn.Identity()
        self.W_U = _normal((D, cfg.vocab_out), std, generator)  # (D, V_out)

    def ov(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-head OV weights of a layer: W_V (H, D, d), W_O (H, d, D) (views, with grad)."""
        return self.blocks[layer].attn.ov()

    def forward(self, tokens: torch.Tensor | None = None, cache: dict | None = None,
                hooks: dict[str, Hook] | None = None, embeds: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, T) int64 -> logits (B, T, V_out). See the module docstring for hooks.
        embeds (B, T, D), optional: continuous inputs (e.g. projected Gaussian exemplars)
        added to the token embedding, or used in its place when tokens is None."""
        if embeds is not None and (embeds.dim() != 3 or embeds.shape[-1] != self.cfg.d_model
                                   or (tokens is not None and embeds.shape[:2] != tokens.shape)):
            raise UserError(f"embeds must be (B, T, d_model={self.cfg.d_model}) matching tokens, "
                            f"got {tuple(embeds.shape)}")
        if tokens is None and embeds is None:
            raise UserError("Transformer.forward needs tokens, embeds or both")
        T = (tokens if tokens is not None else embeds).shape[1]
        if T > self.cfg.n_ctx:
            raise UserError(f"sequence length {T} exceeds n_ctx={self.cfg.n_ctx}")
        hp = cache is not None or hooks is not None
        if tokens is None:
            x = embeds  # (B, T, D)
        else:
            x = self.W_E[tokens] if embeds is None else self.W_E[tokens] + embeds  # (B, T, D)
        if hp:
            x = _point(x, "embed", cache, hooks)
        if self.W_pos is not None:
            pos = self.W_pos[:T].unsqueeze(0)  # (1, T, D), broadcast over the batch
            if hp:
                pos = _point(pos.expand_as(x), "pos_embed", cache, hooks)
            x = x + pos
        for name, block in zip(self._block_names, self.blocks):
            x = block(x, cache, hooks, name)
        logits = self.ln_f(x) @ self.W_U  # (B, T, V_out)
        return _point(logits, "logits", cache, hooks) if hp else logits
