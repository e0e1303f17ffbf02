"""A small decoder-only transformer with named hook points (nanoGPT-sized, no frills).

Written for the grokking world's Nanda et al. (2023, "Progress measures for grokking via
mechanistic interpretability") setting, and reusable by any world that trains a tiny
transformer: learned token + positional embeddings, `n_layers` blocks of causal multi-head
attention and a ReLU MLP, optional LayerNorm (Nanda uses none), untied unembedding.

Hook points: pass `cache={}` to `forward` and it is filled with the intermediate tensors
under stable names (still attached to the graph, so you can take gradients through them):

    hook_embed          (B, T, D)  token embedding
    hook_pos_embed      (B, T, D)  positional embedding (broadcast over the batch)
    blocks.{i}.resid_pre    (B, T, D)
    blocks.{i}.attn.pattern (B, H, T, T)  softmax attention weights
    blocks.{i}.attn.out     (B, T, D)
    blocks.{i}.resid_mid    (B, T, D)
    blocks.{i}.mlp.pre      (B, T, M)  MLP pre-activation
    blocks.{i}.mlp.post     (B, T, M)  MLP activation ("neurons")
    blocks.{i}.resid_post   (B, T, D)
    logits              (B, T, V)

Nothing else (no forward hooks, no global state): a dict is the whole mechanism.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class TransformerConfig:
    vocab: int
    """Input vocabulary size (tokens are 0..vocab-1)."""
    n_ctx: int
    """Maximum sequence length."""
    d_vocab_out: int | None = None
    """Output vocabulary size (defaults to vocab); grokking predicts only group elements."""
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    n_layers: int = 1
    act: str = "relu"  # "relu" or "gelu"
    layer_norm: bool = False  # Nanda et al. use none, which keeps the circuits linear-ish
    init_std: float | None = None  # None: 1/sqrt(d_model) for every matrix

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")


def _normal(shape: tuple[int, ...], std: float, gen: torch.Generator | None) -> nn.Parameter:
    return nn.Parameter(torch.randn(shape, generator=gen) * std)


class Attention(nn.Module):
    def __init__(self, cfg: TransformerConfig, gen: torch.Generator | None, std: float) -> None:
        super().__init__()
        D, H = cfg.d_model, cfg.n_heads
        self.n_heads, self.d_head = H, D // H
        self.W_qkv = _normal((D, 3 * D), std, gen)  # fused q, k, v projections, no biases
        self.W_O = _normal((D, D), std, gen)
        self.register_buffer("mask", torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool)), persistent=False)

    def forward(self, x: torch.Tensor, cache: dict | None, name: str) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = (x @ self.W_qkv).split(D, dim=-1)  # 3 x (B, T, D)
        q, k, v = (t.view(B, T, self.n_heads, self.d_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, d)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.d_head)  # (B, H, T, T)
        scores = scores.masked_fill(~self.mask[:T, :T], float("-inf"))
        pattern = scores.softmax(dim=-1)  # explicit (not SDPA) so the pattern can be cached
        z = (pattern @ v).transpose(1, 2).reshape(B, T, D)  # (B, T, D)
        out = z @ self.W_O
        if cache is not None:
            cache[f"{name}.pattern"] = pattern
            cache[f"{name}.out"] = out
        return out


class Block(nn.Module):
    def __init__(self, cfg: TransformerConfig, gen: torch.Generator | None, std: float) -> None:
        super().__init__()
        D, M = cfg.d_model, cfg.d_mlp
        self.attn = Attention(cfg, gen, std)
        self.W_in, self.b_in = _normal((D, M), std, gen), nn.Parameter(torch.zeros(M))
        self.W_out, self.b_out = _normal((M, D), std, gen), nn.Parameter(torch.zeros(D))
        self.act = F.relu if cfg.act == "relu" else F.gelu
        self.ln1 = nn.LayerNorm(D) if cfg.layer_norm else nn.Identity()
        self.ln2 = nn.LayerNorm(D) if cfg.layer_norm else nn.Identity()

    def forward(self, x: torch.Tensor, cache: dict | None, name: str) -> torch.Tensor:
        if cache is not None:
            cache[f"{name}.resid_pre"] = x
        x = x + self.attn(self.ln1(x), cache, f"{name}.attn")
        pre = self.ln2(x) @ self.W_in + self.b_in  # (B, T, M)
        post = self.act(pre)
        if cache is not None:
            cache[f"{name}.resid_mid"] = x
            cache[f"{name}.mlp.pre"], cache[f"{name}.mlp.post"] = pre, post
        x = x + post @ self.W_out + self.b_out
        if cache is not None:
            cache[f"{name}.resid_post"] = x
        return x


class Transformer(nn.Module):
    def __init__(self, cfg: TransformerConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        std = cfg.init_std if cfg.init_std is not None else 1.0 / math.sqrt(cfg.d_model)
        D = cfg.d_model
        self.W_E = _normal((cfg.vocab, D), std, generator)  # (V, D): row t embeds token t
        self.W_pos = _normal((cfg.n_ctx, D), std, generator)  # (T, D)
        self.blocks = nn.ModuleList(Block(cfg, generator, std) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(D) if cfg.layer_norm else nn.Identity()
        self.W_U = _normal((D, cfg.d_vocab_out or cfg.vocab), std, generator)  # (D, V_out)

    def forward(self, tokens: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """tokens (B, T) int64 -> logits (B, T, V_out); fills `cache` when given."""
        T = tokens.shape[1]
        embed = self.W_E[tokens]  # (B, T, D)
        pos = self.W_pos[:T].unsqueeze(0)  # (1, T, D)
        x = embed + pos
        if cache is not None:
            cache["hook_embed"], cache["hook_pos_embed"] = embed, pos.expand_as(embed)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, f"blocks.{i}")
        logits = self.ln_f(x) @ self.W_U  # (B, T, V_out)
        if cache is not None:
            cache["logits"] = logits
        return logits
