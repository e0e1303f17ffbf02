"""The tiny language model of the corpus-transfer world: pre-train, transfer, fine-tune.

Torch, imported by the world's run only. The model is emergelab.nn.transformer.Transformer
(pre-LayerNorm, learned positions). Vocabularies differ between the corpora (emergent symbols
+ separator vs target words + period), so the transfer keeps everything but the token
tables: after pre-training, the fine-tuning model gets the pre-trained positions, blocks and
final LayerNorm, and a fresh token embedding W_E and unembedding W_U for the target
vocabulary. The fresh tables (and, without pre-training, the whole model) come from the same
seeded initialisation in every condition of a replicate, so conditions differ only in what
the transferred body learned.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from emergelab.nn.transformer import Transformer, TransformerConfig

_TABLES = ("W_E", "W_U")  # vocabulary-specific: never transferred


def make_model(cfg, vocab: int, n_ctx: int, seed: int, device) -> Transformer:
    tcfg = TransformerConfig(vocab=vocab, n_ctx=n_ctx, d_model=cfg.d_model, n_heads=cfg.n_heads,
                             d_mlp=cfg.d_mlp, n_layers=cfg.n_layers, layernorm=True)
    return Transformer(tcfg, generator=torch.Generator().manual_seed(seed)).to(device)


def transfer(src: Transformer | None, dst: Transformer) -> Transformer:
    """Copy every parameter but the token tables from src into dst (in place; src None:
    leave dst as initialised, the no-pre-training condition)."""
    if src is not None:
        state = {k: v for k, v in src.state_dict().items() if k not in _TABLES}
        missing, _ = dst.load_state_dict(state, strict=False)
        assert set(missing) == set(_TABLES), missing  # everything else must have moved across
    return dst


def _loss(model: Transformer, batch: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy (nats) of documents (B, T): predict tokens 1..T-1."""
    logits = model(batch[:, :-1])  # (B, T-1, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))


def train(model: Transformer, docs: np.ndarray, steps: int, cfg, seed: int, device,
          on_eval=None, eval_every: int = 0) -> list[float]:
    """Adam on random batches of `docs` (D, T) for `steps` steps, batches drawn by a generator
    seeded with `seed`. Returns the training loss of every `eval_every`-th step (0: none) and
    calls on_eval(step) at step 0, every eval_every steps and at the end."""
    data = torch.as_tensor(docs, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    losses = []
    for step in range(steps + 1):
        if on_eval is not None and (step == steps or (eval_every and step % eval_every == 0)):
            on_eval(step)
        if step == steps:
            break
        idx = torch.randint(len(data), (min(cfg.batch_size, len(data)),), generator=gen)  # (B,)
        model.train()
        loss = _loss(model, data[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if eval_every and step % eval_every == 0:
            losses.append(loss.item())
    return losses


@torch.no_grad()
def perplexity(model: Transformer, docs: np.ndarray, device, chunk: int = 512) -> float:
    """exp(mean next-token cross-entropy) over every predicted token of `docs` (D, T)."""
    model.eval()
    data = torch.as_tensor(docs, dtype=torch.long)
    total, n = 0.0, 0
    for i in range(0, len(data), chunk):
        b = data[i:i + chunk].to(device)
        total += _loss(model, b).item() * b[:, 1:].numel()
        n += b[:, 1:].numel()
    return math.exp(total / n)
